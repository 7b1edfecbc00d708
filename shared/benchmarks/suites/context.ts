import type { Redis } from '@upstash/redis';
import type { Sql } from '../../clients/postgres.js';
import type { Deadline } from '../budget.js';
import type { ExplainOutput } from '../measure.js';
import type { BenchmarkRequest } from '../request.js';

/** What every suite gets from the orchestrator. */
export interface SuiteContext {
  /** The benchmark session: one dedicated connection (it holds the advisory lock). */
  sql: Sql;
  request: BenchmarkRequest;
  runId: number;
  deadline: Deadline;
  /** Records how long a phase took (fixture builds, index builds), in ms. */
  time: (phase: string, ms: number) => void;
  /** Keeps a representative plan under `suite/case`. */
  plan: (key: string, plan: ExplainOutput) => void;
  log: (message: string, fields?: Record<string, unknown>) => void;
  /** Cache suite: the Upstash client and this stage's key prefix. */
  redis: Redis;
  cacheKey: (...parts: Array<string | number>) => string;
  /** Orders suite: a pool of `max` connections whose search_path is the bench schema only. */
  connectBench: (max: number) => Sql;
}

/** Times an async step and records it. */
export async function timed<T>(context: SuiteContext, phase: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    context.time(phase, Math.round(performance.now() - started));
  }
}
