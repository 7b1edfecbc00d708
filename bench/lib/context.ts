import type { SeedCounts as Counts } from '../../scripts/db/seed-data.js';

/** What the orchestrator (bench/run.ts) hands each benchmark: JSON, since each runs in a process of its own. */
export type Profile = 'full' | 'quick' | 'tiny';

/** A data set's seed volumes (scripts/db/seed.ts). */
export type { Counts };

export interface SuiteContext {
  profile: Profile;
  /** The dev server's database URL (from .env / .env.example): only used to reach the server, never its database. */
  baseUrl: string;
  dataset: {
    database: string;
    /** Straight at PostgreSQL, named prepared statements. */
    directUrl: string;
    counts: Counts;
  };
  /**
   * The environment the functions run with (serverless-offline, in-process handlers): the data set, the
   * bench cache namespace and Mongo database, and — when PgBouncer answers — the pooled URL with
   * DATABASE_PREPARE=false, as a cloud stage behind RDS Proxy runs.
   */
  functionEnv: Record<string, string>;
  pooled: boolean;
  /** The suite's PgBouncer port, when it runs. */
  poolerPort?: number;
  offline?: { httpUrl: string; pid?: number };
}
