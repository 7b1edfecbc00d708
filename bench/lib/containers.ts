/**
 * Connection scale: N simulated Lambda containers — each its own postgres.js pool of max 1, as
 * shared/clients/postgres.ts makes one per container — start at once and place orders with createOrder,
 * through PgBouncer or straight at PostgreSQL (the pooler benches; tests/pooler asserts the same).
 */
import postgres from 'postgres';
import { num } from '../../shared/benchmarks/metric.js';
import { summarize } from '../../shared/benchmarks/stats.js';
import { isPostgresUnavailable } from '../../shared/clients/errors.js';
import { postgresOptions, type Sql } from '../../shared/clients/postgres.js';
import type { Config } from '../../shared/config.js';
import { createOrder } from '../../shared/orders/create-order.js';
import { describeError, formatTally, tally } from './measure.js';

export interface LoadOptions {
  /** Where the containers connect (PgBouncer or PostgreSQL itself). */
  url: string;
  containers: number;
  ordersPerContainer: number;
  /** Named prepared statements (true straight at Postgres; must be false behind a transaction pooler). */
  prepare: boolean;
  customerIds: number[];
  productIds: number[];
  /** Sampled while the load runs (e.g. the pooler's server connections). */
  sample?: () => Promise<void>;
  /**
   * A container's connect timeout (default 3 s, as shared/config.ts). On a slow machine PostgreSQL takes
   * seconds to start and refuse 300 backends, so a test of its refusal gives it longer.
   */
  connectTimeoutSeconds?: number;
}

export interface LoadResult {
  containers: number;
  ordersAttempted: number;
  ordersPlaced: number;
  /** "Cannot connect / too many connections / connection lost": what the app maps to 503. */
  connectionErrors: number;
  otherErrors: number;
  /** Containers that could not place a single order. */
  containersFailed: number;
  errorCodes: Record<string, number>;
  durationMs: number;
  /** NaN (null in JSON) when no order was placed. */
  orderLatencyMs: { p50: number; p95: number; max: number };
}

/** Starts `containers` pools of one connection at once; each places its orders one after the other. */
export async function simulateContainers(options: LoadOptions): Promise<LoadResult> {
  // What shared/config.ts gives a container by default (connect timeout 3 s, statement timeout 5 s).
  const database: Config['database'] = {
    url: options.url,
    poolMax: 1,
    prepare: options.prepare,
    connectTimeoutSeconds: options.connectTimeoutSeconds ?? 3,
    idleTimeoutSeconds: 20,
    statementTimeoutMs: 5_000,
  };
  const latencies: number[] = [];
  const errorCodes: Record<string, number> = {};
  const result = { ordersPlaced: 0, connectionErrors: 0, otherErrors: 0, containersFailed: 0 };
  let sampling = true;
  const sampler = (async () => {
    while (sampling && options.sample) {
      await options.sample().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  const started = performance.now();
  // Containers stay warm (their connection open) until every container is done, as Lambda keeps them.
  const pools: Sql[] = [];
  await Promise.all(
    Array.from({ length: options.containers }, async (_, container) => {
      const sql = postgres(options.url, { ...postgresOptions(database, `ecommerce-pipeline-load-${container}`), max: 1 }) as unknown as Sql;
      pools.push(sql);
      let placed = 0;
      for (let n = 0; n < options.ordersPerContainer; n += 1) {
        const productId = options.productIds[(container * 7 + n * 13) % options.productIds.length]!;
        const customerId = options.customerIds[container % options.customerIds.length]!;
        const t0 = performance.now();
        try {
          await createOrder(sql, { customerId, items: [{ productId, quantity: 1 }] });
          latencies.push(performance.now() - t0);
          placed += 1;
        } catch (error) {
          tally(errorCodes, describeError(error));
          if (isPostgresUnavailable(error)) result.connectionErrors += 1;
          else result.otherErrors += 1;
        }
      }
      result.ordersPlaced += placed;
      if (placed === 0) result.containersFailed += 1;
    }),
  );
  const durationMs = Math.round(performance.now() - started);
  await Promise.all(pools.map((sql) => sql.end({ timeout: 1 }).catch(() => {})));
  sampling = false;
  await sampler;
  const { p50, p95, max } = summarize(latencies, 1);
  return {
    containers: options.containers,
    ordersAttempted: options.containers * options.ordersPerContainer,
    ...result,
    errorCodes,
    durationMs,
    orderLatencyMs: { p50, p95, max },
  };
}

export interface PoolerPeak {
  /** Most server connections PgBouncer held to PostgreSQL for the database at any sample. */
  serverConnections: number;
  /** Most clients waiting for one. */
  clientsWaiting: number;
  /** Most clients connected to PgBouncer for the database at once (with a server or waiting for one). */
  clients: number;
}

/** Samples PgBouncer's admin console (SHOW POOLS) for one database; call `sample` repeatedly. */
export function poolerMonitor(
  adminUrl: string,
  database: string,
): { sample: () => Promise<void>; peak: PoolerPeak; close: () => Promise<void> } {
  const admin = postgres(adminUrl, { max: 1, prepare: false, fetch_types: false, onnotice: () => {} });
  const peak: PoolerPeak = { serverConnections: 0, clientsWaiting: 0, clients: 0 };
  return {
    peak,
    sample: async () => {
      const pools = (await admin.unsafe('SHOW POOLS').simple()) as unknown as Array<Record<string, string>>;
      for (const pool of pools.filter((p) => p.database === database)) {
        const servers = ['sv_active', 'sv_idle', 'sv_used', 'sv_tested', 'sv_login'].reduce((sum, key) => sum + Number(pool[key] ?? 0), 0);
        peak.serverConnections = Math.max(peak.serverConnections, servers);
        peak.clientsWaiting = Math.max(peak.clientsWaiting, Number(pool.cl_waiting ?? 0));
        peak.clients = Math.max(peak.clients, Number(pool.cl_active ?? 0) + Number(pool.cl_waiting ?? 0));
      }
    },
    close: () => admin.end({ timeout: 1 }),
  };
}

export function formatLoad(label: string, result: LoadResult): string {
  const codes = formatTally(result.errorCodes) || 'none';
  return (
    `${label}: ${result.containers} containers, ${result.ordersPlaced}/${result.ordersAttempted} orders placed in ${result.durationMs} ms; ` +
    `connection errors ${result.connectionErrors}, other errors ${result.otherErrors} (${codes}); ` +
    `containers that placed nothing ${result.containersFailed}; order latency p50 ${num(result.orderLatencyMs.p50)} ms, p95 ${num(result.orderLatencyMs.p95)} ms`
  );
}
