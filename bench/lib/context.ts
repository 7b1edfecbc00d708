/** What the orchestrator (bench/run.ts) hands each benchmark: JSON, since each runs in a process of its own. */
export type Profile = 'full' | 'quick' | 'tiny';

export interface Counts {
  customers: number;
  products: number;
  orders: number;
}

/** The prepared data set: seed volumes per profile (full = the 1M-order target of the data-layer issue). */
export const DATASET_COUNTS: Record<Profile, Counts> = {
  full: { customers: 100_000, products: 10_000, orders: 1_000_000 },
  quick: { customers: 10_000, products: 1_000, orders: 100_000 },
  tiny: { customers: 1_000, products: 200, orders: 5_000 },
};

export const DATASET_DATABASE = 'shop_bench';
export const BENCH_NAMESPACE = 'ecommerce-pipeline:bench';
export const BENCH_MONGO_DATABASE = 'shop_bench';
/** serverless-offline ports (npm start: 3000/3002, tests: 3100/3102): the suite's, and the orders-http bench's own. */
export const SUITE_OFFLINE_PORTS = { httpPort: 3400, lambdaPort: 3402 } as const;
export const ORDERS_OFFLINE_PORTS = { httpPort: 3200, lambdaPort: 3202 } as const;
/**
 * The suite's own PgBouncer (scripts/lib/pgbouncer.ts, transaction mode): its own port and directory, so
 * nobody else's `services:down` or test can stop it under a run (services:up --pooler uses 6432, tests/pooler 6433).
 */
export const SUITE_POOLER = { port: 6434, dir: 'pgbouncer-bench/' } as const;

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

export function profileOf(args: { quick?: boolean; tiny?: boolean }): Profile {
  return args.tiny ? 'tiny' : args.quick ? 'quick' : 'full';
}
