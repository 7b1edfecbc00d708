/**
 * npm run pooler:load -- [--containers 300] [--orders 3]
 *
 * Connection scale, measured: N simulated Lambda containers — each its own postgres.js pool of max 1,
 * as shared/clients/postgres.ts makes per container — start at once and place orders with createOrder,
 * first through PgBouncer (transaction mode, 127.0.0.1:6432, started if needed), then straight at
 * PostgreSQL (max_connections 100 by default). Uses its own database (shop_pooler_load). Prints both.
 * tests/pooler/pooler.test.ts runs the same simulation with assertions.
 */

import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { isPostgresUnavailable } from '../shared/clients/errors.js';
import { postgresOptions, type Sql } from '../shared/clients/postgres.js';
import type { Config } from '../shared/config.js';
import { migrate } from '../shared/db/migrate.js';
import { createOrder } from '../shared/orders/create-order.js';
import { localEnv, withDatabase } from './lib/env.js';
import { POOLER_PORT, pooledUrl, startPooler, stopPooler } from './lib/pgbouncer.js';
import { portAnswers } from './lib/probe.js';

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
  orderLatencyMs: { p50: number; p95: number; max: number };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function errorCode(error: unknown): string {
  const { code, name } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; name?: unknown };
  return typeof code === 'string' ? code : typeof name === 'string' ? name : 'unknown';
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
  let ordersPlaced = 0;
  let connectionErrors = 0;
  let otherErrors = 0;
  let containersFailed = 0;
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
      const sql = postgres(options.url, {
        ...postgresOptions(database, `ecommerce-pipeline-load-${container}`),
        max: 1,
        prepare: options.prepare,
      }) as unknown as Sql;
      pools.push(sql);
      let placed = 0;
      try {
        for (let n = 0; n < options.ordersPerContainer; n += 1) {
          const productId = options.productIds[(container * 7 + n * 13) % options.productIds.length]!;
          const customerId = options.customerIds[container % options.customerIds.length]!;
          const t0 = performance.now();
          try {
            await createOrder(sql, { customerId, items: [{ productId, quantity: 1 }] });
            latencies.push(performance.now() - t0);
            placed += 1;
          } catch (error) {
            const code = errorCode(error);
            errorCodes[code] = (errorCodes[code] ?? 0) + 1;
            if (isPostgresUnavailable(error)) connectionErrors += 1;
            else otherErrors += 1;
          }
        }
      } finally {
        ordersPlaced += placed;
        if (placed === 0) containersFailed += 1;
      }
    }),
  );
  const durationMs = performance.now() - started;
  await Promise.all(pools.map((sql) => sql.end({ timeout: 1 }).catch(() => {})));
  sampling = false;
  await sampler;
  latencies.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    containers: options.containers,
    ordersAttempted: options.containers * options.ordersPerContainer,
    ordersPlaced,
    connectionErrors,
    otherErrors,
    containersFailed,
    errorCodes,
    durationMs: Math.round(durationMs),
    orderLatencyMs: { p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)), max: round(latencies.at(-1) ?? 0) },
  };
}

export interface PoolerPeak {
  /** Most server connections PgBouncer held to PostgreSQL for the database at any sample. */
  serverConnections: number;
  /** Most clients waiting for one. */
  clientsWaiting: number;
}

/** Samples PgBouncer's admin console (SHOW POOLS) for one database; call `sample` repeatedly. */
export function poolerMonitor(
  adminUrl: string,
  database: string,
): { sample: () => Promise<void>; peak: PoolerPeak; close: () => Promise<void> } {
  const admin = postgres(adminUrl, { max: 1, prepare: false, fetch_types: false, onnotice: () => {} });
  const peak: PoolerPeak = { serverConnections: 0, clientsWaiting: 0 };
  return {
    peak,
    sample: async () => {
      const pools = (await admin.unsafe('SHOW POOLS').simple()) as unknown as Array<Record<string, string>>;
      for (const pool of pools.filter((p) => p.database === database)) {
        const servers = ['sv_active', 'sv_idle', 'sv_used', 'sv_tested', 'sv_login'].reduce((sum, key) => sum + Number(pool[key] ?? 0), 0);
        peak.serverConnections = Math.max(peak.serverConnections, servers);
        peak.clientsWaiting = Math.max(peak.clientsWaiting, Number(pool.cl_waiting ?? 0));
      }
    },
    close: () => admin.end({ timeout: 1 }),
  };
}

export function formatLoad(label: string, result: LoadResult): string {
  const codes =
    Object.entries(result.errorCodes)
      .map(([code, count]) => `${code} ×${count}`)
      .join(', ') || 'none';
  return (
    `${label}: ${result.containers} containers, ${result.ordersPlaced}/${result.ordersAttempted} orders placed in ${result.durationMs} ms; ` +
    `connection errors ${result.connectionErrors}, other errors ${result.otherErrors} (${codes}); ` +
    `containers that placed nothing ${result.containersFailed}; order latency p50 ${result.orderLatencyMs.p50} ms, p95 ${result.orderLatencyMs.p95} ms`
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      containers: { type: 'string', default: '300' },
      orders: { type: 'string', default: '3' },
    },
  });
  const env = localEnv();
  const url = withDatabase(env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/shop', 'shop_pooler_load');
  await migrate(url);
  const upstream = new URL(url);
  const startedPooler = !(await portAnswers(POOLER_PORT));
  if (startedPooler) {
    await startPooler({
      upstreamHost: upstream.hostname,
      upstreamPort: Number(upstream.port || 5432),
      users: [upstream.username || 'postgres'],
    });
  }
  const setup = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await setup`truncate order_items, orders, products, customers restart identity cascade`;
    const customers = await setup<Array<{ id: number }>>`
      insert into customers (name, email) select 'Load ' || g, 'load' || g || '@example.test' from generate_series(1, 100) g
      returning customer_id as id`;
    const products = await setup<Array<{ id: number }>>`
      insert into products (name, price, stock_quantity, metadata) select 'Load product ' || g, 10, 1000000, '{}'::jsonb
      from generate_series(1, 50) g returning product_id as id`;
    const base = {
      containers: Number(values.containers),
      ordersPerContainer: Number(values.orders),
      customerIds: customers.map((c) => c.id),
      productIds: products.map((p) => p.id),
    };
    const [{ max_connections: maxConnections }] = await setup<[{ max_connections: string }]>`show max_connections`;
    console.log(`PostgreSQL max_connections = ${maxConnections}`);
    const monitor = poolerMonitor(pooledUrl(withDatabase(url, 'pgbouncer')), 'shop_pooler_load');
    const pooled = await simulateContainers({ ...base, url: pooledUrl(url), prepare: false, sample: monitor.sample });
    await monitor.close();
    console.log(formatLoad('through PgBouncer', pooled));
    console.log(
      `  PgBouncer held at most ${monitor.peak.serverConnections} server connections; at most ${monitor.peak.clientsWaiting} clients waited for one`,
    );
    const direct = await simulateContainers({ ...base, url, prepare: true });
    console.log(formatLoad('straight at PostgreSQL', direct));
    return pooled.connectionErrors === 0 ? 0 : 1;
  } finally {
    await setup.end({ timeout: 1 });
    if (startedPooler) await stopPooler();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
