/**
 * npm run bench:carts [-- --duration <s>] [--customers <n>] [--quick]
 *
 * What do the cart domain functions cost over the raw driver, on whatever Mongo-protocol server
 * `services:up` started (FerretDB natively, mongo:7 with compose)? In one run, on a scratch database
 * (shop_bench_carts: dropped at the start and at the end), with `--customers` carts (default 200: FerretDB
 * on SQLite scans the whole table on every query, so latency grows with the collection):
 *   - domain: saveCart (read + version claim + findOneAndReplace + claim release = 4 round trips) then
 *     getCart (1 round trip), a random customer per operation;
 *   - raw:    replaceOne({_id}, doc, {upsert: true}) then findOne({_id}) — the same document shape, no
 *     versioning, no expiry filter;
 * at concurrency 1 and 16, each cell measured for `--duration` seconds in two alternating halves (domain,
 * raw, domain, raw) so that machine noise hits both alike. Prints throughput (save+get pairs per second),
 * p50/p95 of save, get and the pair, and the domain/raw ratios. Exit code 0 unless something broke.
 * `npm run bench` runs the same through `run()`.
 */

import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { type Db, MongoClient } from 'mongodb';
import { loadLocalEnv } from '../scripts/lib/env.js';
import { getCart, saveCart } from '../shared/carts/carts.js';
import type { SaveCartBody } from '../shared/carts/schemas.js';
import { ensureCartIndexes } from '../shared/carts/store.js';
import { mongoClientOptions } from '../shared/clients/mongo.js';
import { parseConfig } from '../shared/config.js';
import type { SuiteContext } from './lib/context.js';
import { type BenchOutput, type Metric, metric } from './lib/result.js';
import { percentileLinear } from './lib/stats.js';

loadLocalEnv();
process.env.LOG_LEVEL ??= 'WARN';

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

export interface CartsBenchOptions {
  durationS: number;
  customers: number;
  concurrency: number[];
}

// Set by bench() (the CLI's flags or the suite's profile).
let DURATION_S = 6;
let CUSTOMERS = 200;
let CONCURRENCY = [1, 16];
const DATABASE = 'shop_bench_carts';

/** Linear interpolation between ranks, p in percent (this script's definition since it was written). */
function percentile(sorted: number[], p: number): number {
  return percentileLinear(sorted, p / 100);
}

interface Samples {
  save: number[];
  get: number[];
  pair: number[];
  elapsedMs: number;
  /** Failed pairs by error code (a loaded machine can push FerretDB past the 2 s maxTimeMS). */
  errors: Record<string, number>;
}

const samples = (): Samples => ({ save: [], get: [], pair: [], elapsedMs: 0, errors: {} });

type Pair = (customerId: number, n: number) => Promise<{ saveMs: number; getMs: number }>;

function cartBody(n: number): SaveCartBody {
  return {
    items: [
      { productId: 1 + (n % 500), quantity: 1 + (n % 5), attributes: { size: ['S', 'M', 'L'][n % 3]!, giftWrap: n % 2 === 0 } },
      { productId: 501 + (n % 500), quantity: 2, attributes: { engraving: { text: `bench ${n}`, font: 'serif' } } },
      { productId: 1001 + (n % 500), quantity: 1 },
    ],
    note: 'bench',
  };
}

async function measure(pair: Pair, concurrency: number, durationMs: number, into: Samples): Promise<void> {
  const deadline = performance.now() + durationMs;
  let n = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const i = n++;
        const customerId = 1 + Math.floor(Math.random() * CUSTOMERS);
        const t0 = performance.now();
        try {
          const { saveMs, getMs } = await pair(customerId, i);
          into.pair.push(performance.now() - t0);
          into.save.push(saveMs);
          into.get.push(getMs);
        } catch (error) {
          const code = String((error as { code?: unknown }).code ?? (error as Error).name);
          into.errors[code] = (into.errors[code] ?? 0) + 1;
        }
      }
    }),
  );
  into.elapsedMs += performance.now() - started;
}

function domainPair(db: Db): Pair {
  return async (customerId, n) => {
    const t0 = performance.now();
    await saveCart(db, customerId, cartBody(n));
    const t1 = performance.now();
    await getCart(db, customerId);
    return { saveMs: t1 - t0, getMs: performance.now() - t1 };
  };
}

function rawPair(db: Db, ttlMs: number): Pair {
  const raw = db.collection<{ _id: number }>('carts_raw');
  return async (customerId, n) => {
    const now = new Date();
    const t0 = performance.now();
    await raw.replaceOne(
      { _id: customerId },
      { ...cartBody(n), deleted: false, updatedAt: now, expiresAt: new Date(now.getTime() + ttlMs), version: n },
      { upsert: true },
    );
    const t1 = performance.now();
    const doc = await raw.findOne({ _id: customerId });
    if (!doc) throw new Error('raw findOne found nothing');
    return { saveMs: t1 - t0, getMs: performance.now() - t1 };
  };
}

interface Row {
  workload: 'domain' | 'raw';
  concurrency: number;
  pairsPerSecond: number;
  save: { p50: number; p95: number };
  get: { p50: number; p95: number };
  pair: { p50: number; p95: number };
  samples: number;
  errors: Record<string, number>;
}

function summarise(workload: Row['workload'], concurrency: number, s: Samples): Row {
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
  const stats = (values: number[]) => {
    const v = sorted(values);
    return { p50: percentile(v, 50), p95: percentile(v, 95) };
  };
  return {
    workload,
    concurrency,
    pairsPerSecond: s.pair.length / (s.elapsedMs / 1000),
    save: stats(s.save),
    get: stats(s.get),
    pair: stats(s.pair),
    samples: s.pair.length,
    errors: s.errors,
  };
}

const ms = (value: number) => value.toFixed(2).padStart(7);

async function bench(options: CartsBenchOptions): Promise<Row[]> {
  DURATION_S = options.durationS;
  CUSTOMERS = options.customers;
  CONCURRENCY = options.concurrency;
  const config = parseConfig(process.env);
  const client = new MongoClient(config.mongo.uri, { ...mongoClientOptions(config.mongo, 'ecommerce-pipeline-bench'), maxPoolSize: 32 });
  const db = client.db(DATABASE);
  try {
    const info = await db.admin().command({ buildInfo: 1 });
    const server =
      typeof info.ferretdbVersion === 'string' ? `FerretDB ${info.ferretdbVersion} (wire ${info.version})` : `MongoDB ${info.version}`;
    await db.dropDatabase();
    const indexes = await ensureCartIndexes(db);
    const ttlMs = config.carts.ttlSeconds * 1000;
    console.log(
      `bench:carts — ${server} at ${config.mongo.uri}, TTL index: ${indexes.status === 'ttl' ? 'yes' : indexes.status === 'plain' ? 'not supported' : 'failed'}`,
    );
    console.log(
      `  ${CUSTOMERS} carts of 3 lines, ${DURATION_S} s per cell, Node ${process.version}, ${os.cpus().length} CPUs, load ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );

    // Seed both collections and warm the connection pool.
    const domain = domainPair(db);
    const raw = rawPair(db, ttlMs);
    for (let customerId = 1; customerId <= CUSTOMERS; customerId++) {
      await domain(customerId, customerId);
      await raw(customerId, customerId);
    }
    const warm = samples();
    await measure(domain, 16, 500, warm);
    await measure(raw, 16, 500, warm);

    const rows: Row[] = [];
    for (const concurrency of CONCURRENCY) {
      const d = samples();
      const r = samples();
      const half = (DURATION_S * 1000) / 2;
      await measure(domain, concurrency, half, d);
      await measure(raw, concurrency, half, r);
      await measure(domain, concurrency, half, d);
      await measure(raw, concurrency, half, r);
      rows.push(summarise('domain', concurrency, d), summarise('raw', concurrency, r));
    }

    console.log('');
    console.log('workload  conc   pairs/s   save p50  save p95    get p50   get p95   pair p50  pair p95  samples  errors');
    for (const row of rows) {
      console.log(
        `${row.workload.padEnd(8)} ${String(row.concurrency).padStart(5)} ${row.pairsPerSecond.toFixed(0).padStart(9)} ` +
          `${ms(row.save.p50)}  ${ms(row.save.p95)}    ${ms(row.get.p50)}   ${ms(row.get.p95)}    ${ms(row.pair.p50)}   ${ms(row.pair.p95)} ${String(row.samples).padStart(8)}  ` +
          (Object.entries(row.errors)
            .map(([code, n]) => `${code}×${n}`)
            .join(' ') || '0'),
      );
    }
    console.log('');
    console.log('domain / raw (latency ratio: >1 = slower; throughput ratio: <1 = fewer pairs per second)');
    for (const concurrency of CONCURRENCY) {
      const d = rows.find((row) => row.workload === 'domain' && row.concurrency === concurrency)!;
      const r = rows.find((row) => row.workload === 'raw' && row.concurrency === concurrency)!;
      console.log(
        `  concurrency ${String(concurrency).padStart(2)}: throughput ×${(d.pairsPerSecond / r.pairsPerSecond).toFixed(2)}, ` +
          `save p50 ×${(d.save.p50 / r.save.p50).toFixed(2)}, get p50 ×${(d.get.p50 / r.get.p50).toFixed(2)}, ` +
          `pair p50 ×${(d.pair.p50 / r.pair.p50).toFixed(2)}, pair p95 ×${(d.pair.p95 / r.pair.p95).toFixed(2)}`,
      );
    }
    console.log('  (latencies in ms; a domain save is 4 round trips — read, claim, replace, release — a raw one is 1)');
    return rows;
  } finally {
    await db.dropDatabase().catch(() => {});
    await client.close();
  }
}

const SUITE_OPTIONS: Record<SuiteContext['profile'], CartsBenchOptions> = {
  full: { durationS: 6, customers: 200, concurrency: [1, 16] },
  quick: { durationS: 2, customers: 20, concurrency: [1, 16] },
  tiny: { durationS: 1, customers: 10, concurrency: [1] },
};

/**
 * The suite's entry. The goals are this suite's, derived from round trips (issue #6 asks for the ratio
 * only): a get is one round trip like the raw findOne (≤ 1.5×); a save is 4 where a blind upsert is 1 (≤ 4×).
 */
export async function run(ctx: SuiteContext): Promise<BenchOutput> {
  const rows = await bench(SUITE_OPTIONS[ctx.profile]);
  const metrics: Metric[] = [];
  for (const concurrency of SUITE_OPTIONS[ctx.profile].concurrency) {
    const d = rows.find((row) => row.workload === 'domain' && row.concurrency === concurrency)!;
    const r = rows.find((row) => row.workload === 'raw' && row.concurrency === concurrency)!;
    const errors = Object.values(d.errors).reduce((a, b) => a + b, 0) + Object.values(r.errors).reduce((a, b) => a + b, 0);
    const note =
      errors > 0
        ? {
            note: `${errors} failed pairs (${[...Object.entries(d.errors), ...Object.entries(r.errors)].map(([c, n]) => `${c}×${n}`).join(' ')})`,
          }
        : {};
    metrics.push(
      metric('carts', {
        metric: `saveCart vs raw replaceOne upsert, c=${concurrency}, p50`,
        ours: d.save.p50,
        reference: r.save.p50,
        unit: 'ms',
        goal: { on: 'ratio', op: '<=', value: 4 },
        ...note,
      }),
      metric('carts', {
        metric: `getCart vs raw findOne, c=${concurrency}, p50`,
        ours: d.get.p50,
        reference: r.get.p50,
        unit: 'ms',
        goal: { on: 'ratio', op: '<=', value: 1.5 },
      }),
      metric('carts', {
        metric: `save+get pairs/s vs raw, c=${concurrency}`,
        ours: d.pairsPerSecond,
        reference: r.pairsPerSecond,
        unit: 'pairs/s',
      }),
    );
  }
  return { metrics, details: { database: DATABASE, options: SUITE_OPTIONS[ctx.profile], rows } };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  bench({ durationS: arg('duration', quick ? 2 : 6), customers: Math.floor(arg('customers', 200)), concurrency: [1, 16] }).catch(
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
