import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * Business and health metrics as CloudWatch embedded metric format (EMF): JSON lines in the function's
 * log that CloudWatch turns into metrics, with no API call and no permission. Namespace `ecommerce-pipeline`.
 * Each value is recorded twice: per stage (service, stage: what the dashboard and the alarms read, across
 * functions) and per function (service, stage, function: where to look next). No other dimension: each
 * one multiplies the metrics billed. The dashboard and alarms (infra/observability.cjs) read
 * these names.
 */
export const METRIC = {
  ordersPlaced: 'OrdersPlaced',
  idempotentReplays: 'IdempotentReplays',
  outOfStock: 'OutOfStockRejections',
  cartConflicts: 'CartConflicts',
  cacheHit: 'TopProductsCacheHit',
  cacheMiss: 'TopProductsCacheMiss',
  cacheBypass: 'TopProductsCacheBypass',
  /** Answers 500 INTERNAL_ERROR: a defect (whatever threw), never a client's input or a store's outage. */
  internalErrors: 'InternalErrors',
  /** Answers 503: a store could not answer, or the request ran out of time. */
  storeUnavailable: 'StoreUnavailable',
  databaseUnavailable: 'DatabaseUnavailable',
  /** A 503 DATABASE_BUSY: PostgreSQL answered, but a statement or a lock wait ran past its timeout. */
  databaseBusy: 'DatabaseBusy',
  benchmarkRunDuration: 'BenchmarkRunDuration',
  /** Rows the hourly purge deleted (keys and cart versions). */
  expiredRowsPurged: 'ExpiredRowsPurged',
  /** 1 for a purge run that stopped at its deadline with rows still due, 0 for one that finished. */
  purgeBacklog: 'PurgeBacklog',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export const metrics = new Metrics({
  namespace: 'ecommerce-pipeline',
  serviceName: process.env.SERVICE_NAME ?? 'ecommerce-pipeline',
  defaultDimensions: { stage: process.env.STAGE ?? 'dev' },
});

/** Adds 1 (or `value`) to a count for this invocation; published when the invocation ends. */
export function count(name: MetricName, value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

export function milliseconds(name: MetricName, value: number): void {
  metrics.addMetric(name, MetricUnit.Milliseconds, value);
}

/**
 * Error codes that are worth a metric of their own; a 503 not listed here counts as StoreUnavailable,
 * any other 5xx as InternalErrors. An HTTP function answers its own errors, so Lambda's Errors metric
 * never counts them: these are what the alarms read (infra/observability.cjs).
 */
const ERROR_METRICS: Record<string, MetricName[]> = {
  INSUFFICIENT_STOCK: [METRIC.outOfStock],
  VERSION_CONFLICT: [METRIC.cartConflicts],
  CART_BUSY: [METRIC.cartConflicts],
  DATABASE_UNAVAILABLE: [METRIC.storeUnavailable, METRIC.databaseUnavailable],
  DATABASE_BUSY: [METRIC.storeUnavailable, METRIC.databaseBusy],
};

/** Counts what an error answer says about the shop (out of stock, a conflict, a store down). */
export function countError(status: number, code: string): void {
  const names = ERROR_METRICS[code] ?? (status === 503 ? [METRIC.storeUnavailable] : status >= 500 ? [METRIC.internalErrors] : []);
  for (const name of names) count(name);
}

/**
 * Writes this invocation's metrics (one EMF line, both dimension sets) and clears them. Nothing is
 * written when there is nothing to say (no empty-metrics warning on every request).
 */
export function publishMetrics(functionName: string): void {
  if (!metrics.hasStoredMetrics()) return;
  metrics.addDimensions({});
  metrics.addDimensions({ function: functionName });
  metrics.publishStoredMetrics();
}
