/**
 * npm run bench [-- --quick | --tiny] [--only a,b] [--skip a,b] [--keep] [--docs] [--strict] [--results-dir DIR]
 *
 * The whole performance suite in one command. Prepares a data set (scratch database shop_bench, loaded by
 * the seed benchmark; never `shop` or `shop_test`), runs every benchmark — each in its own Node process,
 * each next to a reference measured in the same run — writes bench/results/<timestamp>.json and prints
 * each bench's tables as it finishes, then one table of every metric (shared/benchmarks/metric.ts).
 *
 *   --quick        smaller data set (100k orders) and shorter measurements: ≤ 3 minutes
 *   --tiny         seconds per benchmark, numbers meaningless: the smoke test's profile
 *   --only a,b     run these (the opt-in benchmarks run only when named); --skip a,b: all but these
 *   --keep         leave the scratch databases, the Redis namespace and the Mongo database in place
 *   --docs         also write docs/performance.md's results section and its charts from this run
 *                  (`npm run report -- --file <result.json> --docs` does it for a stored one)
 *   --strict       exit 1 when a goal is not met (default: only a benchmark that breaks fails the run —
 *                  the numbers are noisy on a shared machine)
 *
 * Benchmarks: seed, orders, top-products, history, catalog, carts, round-trips, cold-start, pooler, http-overhead, load;
 * opt-in: orders-variants, orders-http, pooler-direct, analytics.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { exit, localEnv, parseCommandLine, pathFromCommandLine, ROOT } from '../scripts/lib/env.js';
import { pooledUrl, startPooler, stopPooler } from '../scripts/lib/pgbouncer.js';
import { ensurePgbouncer } from '../scripts/lib/prerequisites.js';
import { CACHE, waitFor } from '../scripts/lib/process.js';
import { type Offline, startOffline } from '../scripts/lib/sls.js';
import { benchDoc, benchSections, DOCS } from '../scripts/report/bench.js';
import { text, usage, writeSection } from '../scripts/report/document.js';
import { metricsTable, renderTable } from '../scripts/report/table.js';
import { servicesStatus, servicesUp } from '../scripts/services.js';
import { describeEnvironment } from '../shared/benchmarks/environment.js';
import type { Counts, Profile, SuiteContext } from './lib/context.js';
import { cleanUp, ensureDataset, mongoServer, scratchUrl, withAdmin } from './lib/fixtures.js';
import { runChild, running } from './lib/process.js';
import { type BenchOutput, type BenchRecord, type SuiteResult, summarize } from './lib/result.js';

/** The prepared data set: seed volumes per profile (full = the 1M-order target of the data-layer issue). */
const DATASET_COUNTS: Record<Profile, Counts> = {
  full: { customers: 100_000, products: 10_000, orders: 1_000_000 },
  quick: { customers: 10_000, products: 1_000, orders: 100_000 },
  tiny: { customers: 1_000, products: 200, orders: 5_000 },
};

/** The data set's PostgreSQL database and the functions' Mongo database (a tag appended), and cache namespace. */
const [DATASET_DATABASE, BENCH_NAMESPACE] = ['shop_bench', 'ecommerce-pipeline:bench'];
/** serverless-offline's ports for the suite (npm start: 3000/3002, tests: 3100/3102, the orders-http bench: 3200/3202). */
const SUITE_OFFLINE_PORTS = { httpPort: 3400, lambdaPort: 3402 } as const;
/**
 * The suite's own PgBouncer (scripts/lib/pgbouncer.ts, transaction mode): its own port and directory, so
 * nobody else's `services:down` or test can stop it under a run (services:up --pooler uses 6432, tests/pooler 6433).
 */
const SUITE_POOLER = { port: 6434, dir: `${CACHE}pgbouncer-bench/` };

interface BenchDefinition {
  name: string;
  description: string;
  /** `<module>[:<export>]` under bench/ (default: the name). */
  target?: string;
  /** Runs only when named in --only: worth a run now and then, or disturbing others on a shared server. */
  optIn?: boolean;
  /** Reads the prepared data set (shop_bench); needs the suite's serverless-offline; wants PgBouncer. */
  dataset?: boolean;
  offline?: boolean;
  pooler?: boolean;
}

/** In run order: the seed benchmark prepares the data set; the load test (which writes orders) comes last. */
export const BENCHES: BenchDefinition[] = [
  { name: 'seed', description: 'seed (COPY) vs generate_series; leaves the data set loaded' },
  { name: 'orders', description: 'createOrder in process vs pgbench' },
  { name: 'orders-variants', target: 'orders:variants', optIn: true, description: 'design alternatives vs the single statement' },
  { name: 'orders-http', target: 'orders:overHttp', optIn: true, description: 'createOrder in process vs the handler vs HTTP' },
  { name: 'top-products', description: 'cache hit vs raw GET vs uncached aggregate', dataset: true },
  { name: 'history', target: 'read-side:history', description: 'order history: handler vs SQL, no B-tree, page 50 vs 1', dataset: true },
  { name: 'catalog', target: 'read-side:catalog', description: 'catalog attribute filters: handler vs the same SQL without the GIN index' },
  { name: 'carts', description: 'saveCart/getCart vs raw driver' },
  { name: 'round-trips', description: 'Postgres/Redis/Mongo round trips per warm request', dataset: true },
  { name: 'cold-start', description: 'bundle size (raw, zipped) and module init vs an empty handler' },
  { name: 'pooler', description: 'createOrder and connection scale through PgBouncer', pooler: true },
  { name: 'pooler-direct', target: 'pooler:direct', optIn: true, description: 'the containers storm straight at PostgreSQL' },
  { name: 'analytics', optIn: true, description: 'EXPLAIN (ANALYZE, BUFFERS) of the analytics statements', dataset: true },
  { name: 'http-overhead', description: 'serverless-offline vs the handler in process vs node:http', dataset: true, offline: true },
  { name: 'load', description: 'mixed load through serverless-offline at rising concurrency', dataset: true, offline: true },
];

const QUICK_BUDGET_S = 180;
/**
 * In --quick/--tiny, serverless-offline (~25 s to start here) starts in the background when the first of
 * these begins: their numbers do not depend on an idle machine (round-trip counts; cold start is judged on
 * CPU time). Any other benchmark waits until it has started: rotating the configurations cancels a steady
 * drift, not a load that ends part-way (the pooler's first configuration, its subject, would pay for it).
 * The full run starts it alone.
 */
const OVERLAP_OFFLINE_START = new Set(['round-trips', 'cold-start']);

function parseList(raw: string | undefined): string[] | null {
  if (!raw) return null;
  const names = raw.split(/\s*,\s*/).filter(Boolean);
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.name).join(', ')})`);
  return names;
}

/** Until PostgreSQL, the Upstash endpoint and the Mongo wire answer again (at most a minute). */
async function waitForServices(): Promise<void> {
  await waitFor(async () => Object.values(await servicesStatus()).every(Boolean), 60_000, 2_000);
  await sleep(3_000); // a restarted server accepts connections before it is ready
}

export interface SuiteOptions {
  profile: Profile;
  only: string[] | null;
  skip: string[] | null;
  keep: boolean;
  resultsDir: string;
  /**
   * Names the data set shop_bench_<tag> (cache namespace …:bench-<tag>, Mongo database shop_bench_<tag>),
   * so a smoke test never meets a developer's run. Only for benchmarks that use the data set alone.
   */
  tag?: string;
  log?: (line: string) => void;
}

export async function runSuite(options: SuiteOptions): Promise<{ result: SuiteResult; file: string }> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const resultsDir = path.resolve(options.resultsDir);
  mkdirSync(resultsDir, { recursive: true });
  const base = path.join(resultsDir, startedAt.replace(/[:.]/g, '-'));
  const log = (line: string) => {
    (options.log ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
    appendFileSync(`${base}.log`, `${line}\n`);
  };
  const selected = BENCHES.filter((b) => (options.only ? options.only.includes(b.name) : !b.optIn) && !options.skip?.includes(b.name));
  const env = localEnv();
  const baseUrl = env.DATABASE_URL;
  if (!baseUrl) throw new Error('DATABASE_URL is not set (.env / .env.example)');

  log(`bench: profile ${options.profile}; ${selected.map((b) => b.name).join(', ')}`);
  // Also when they all answer: the lease keeps a concurrent npm start's Ctrl-C from stopping them under the run.
  await servicesUp({ log, user: 'npm run bench' });
  const setup: Record<string, unknown> = {};
  let pooled = false;
  if (selected.some((b) => b.pooler || b.offline)) {
    const pgbouncer = ensurePgbouncer(log);
    try {
      if (!pgbouncer.available) throw new Error(pgbouncer.detail);
      await startPooler(baseUrl, SUITE_POOLER);
      pooled = true;
    } catch (error) {
      setup.poolerError = (error as Error).message;
      log(`bench: no PgBouncer (${setup.poolerError}); the functions go straight to PostgreSQL`);
    }
  }
  const tag = options.tag ? `_${options.tag.replace(/[^a-z0-9]/g, '_')}` : '';
  const datasetDatabase = `${DATASET_DATABASE}${tag}`;
  const directUrl = scratchUrl(baseUrl, datasetDatabase);
  const functionEnv = localEnv({
    STAGE: 'bench',
    DATABASE_URL: pooled ? pooledUrl(directUrl, SUITE_POOLER.port) : directUrl,
    DATABASE_PREPARE: pooled ? 'false' : 'true',
    CACHE_NAMESPACE: `${BENCH_NAMESPACE}${tag.replace('_', '-')}`,
    MONGODB_DATABASE: datasetDatabase,
    LOG_LEVEL: 'ERROR',
  });
  const ctx: SuiteContext = {
    profile: options.profile,
    baseUrl,
    dataset: { database: datasetDatabase, directUrl, counts: DATASET_COUNTS[options.profile] },
    functionEnv,
    pooled,
    ...(pooled ? { poolerPort: SUITE_POOLER.port } : {}),
  };
  setup.dataset = { database: datasetDatabase, counts: ctx.dataset.counts };
  setup.functions = pooled
    ? `through PgBouncer 127.0.0.1:${SUITE_POOLER.port} (transaction mode, pool 20+5 per database, DATABASE_PREPARE=false), as behind RDS Proxy`
    : 'straight at PostgreSQL (DATABASE_PREPARE=true)';
  const mongo = new MongoClient(env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017', { serverSelectionTimeoutMS: 3000 });
  const machine: SuiteResult['machine'] = {
    ...(await withAdmin(baseUrl, (sql) => describeEnvironment(sql))),
    loadBefore: os.loadavg().map((l) => Math.round(l * 100) / 100),
    loadAfter: [],
    mongo: await mongoServer(mongo.db('admin')).finally(() => mongo.close()),
  };
  log(
    `bench: ${machine.cpus} CPUs (${machine.cpuModel}), load ${machine.loadBefore.join(' ')}, ${machine.postgres?.version.split(' on ')[0]}, ${machine.mongo}`,
  );
  log(`bench: functions run ${String(setup.functions)}`);

  const records: BenchRecord[] = [];
  let datasetReady = false;
  let offline: Offline | undefined;
  let offlineError: string | undefined;
  let offlineStarting: Promise<void> | undefined;
  const startingOffline = () => {
    const o0 = performance.now();
    offlineStarting ??= startOffline(functionEnv, { ...SUITE_OFFLINE_PORTS, stage: 'bench' }).then(
      (started) => {
        offline = started;
        setup.offlineStartMs = Math.round(performance.now() - o0);
        log(`  serverless-offline on ${started.httpUrl} (started in ${(Number(setup.offlineStartMs) / 1000).toFixed(1)} s)`);
      },
      (error: unknown) => void (offlineError = (error as Error).message.split('\n').slice(0, 6).join(' ')),
    );
    return offlineStarting;
  };
  const wantsOffline = selected.some((b) => b.offline);
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('bench: interrupted — stopping the current benchmark and cleaning up (again to quit at once)');
    for (const child of running) child.kill('SIGTERM');
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    for (const [index, bench] of selected.entries()) {
      const t0 = performance.now();
      log('');
      log(`▶ ${bench.name} (${index + 1}/${selected.length}): ${bench.description} — load ${os.loadavg()[0]!.toFixed(1)}`);
      const record: BenchRecord = { name: bench.name, status: 'ok', durationMs: 0, metrics: [], details: {} };
      records.push(record);
      if (interrupted) {
        Object.assign(record, { status: 'skipped', error: 'interrupted' });
        continue;
      }
      if (wantsOffline && options.profile !== 'full' && OVERLAP_OFFLINE_START.has(bench.name) && !offlineStarting) {
        log('  (serverless-offline starts in the background meanwhile)');
        setup.offlineStartedDuring = selected.slice(index).flatMap((b) => (OVERLAP_OFFLINE_START.has(b.name) ? [b.name] : []));
        void startingOffline();
      }
      try {
        if (offlineStarting && !OVERLAP_OFFLINE_START.has(bench.name)) await offlineStarting;
        if (bench.dataset && !datasetReady) {
          log(`  data set ${datasetDatabase}: ${await ensureDataset(baseUrl, datasetDatabase, ctx.dataset.counts, log)}`);
          datasetReady = true;
        }
        if (bench.offline) {
          await startingOffline();
          if (offline) ctx.offline = { httpUrl: offline.httpUrl, ...(offline.process.pid ? { pid: offline.process.pid } : {}) };
          else Object.assign(record, { status: 'skipped', error: `serverless-offline did not start: ${offlineError}` });
        }
        if (record.status === 'ok') {
          const child = (line: string) => log(`  │ ${line}`);
          let output: BenchOutput;
          try {
            output = await runChild(bench.target ?? bench.name, ctx, child);
          } catch (error) {
            // A shared machine: someone may restart PostgreSQL or FerretDB under a run. One more try, once
            // the services answer again; the first failure stays on record.
            if (interrupted) throw error;
            const first = (error as Error).message;
            log(`  ✗ ${bench.name} failed (${first.slice(0, 200)}); waiting for the services, then one more try`);
            await waitForServices();
            output = await runChild(bench.target ?? bench.name, ctx, child);
            output.details = { ...output.details, firstAttemptError: first };
          }
          const { metrics, details, skipped } = output;
          Object.assign(record, { metrics, details }, skipped ? { status: 'skipped', error: skipped } : {});
          if (bench.name === 'seed') datasetReady = true;
          const tables = text(benchSections(record, machine.cpus));
          if (tables) log(`\n${tables}`);
        }
      } catch (error) {
        Object.assign(record, { status: 'failed', error: (error as Error).message });
        log(`  ✗ ${bench.name} failed: ${record.error}`);
      }
      record.durationMs = Math.round(performance.now() - t0);
      log(`  ${bench.name}: ${record.status} in ${(record.durationMs / 1000).toFixed(1)} s`);
    }
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await offlineStarting;
    await offline?.stop();
    if (pooled) await stopPooler(SUITE_POOLER);
    if (!options.keep) await cleanUp(ctx, log);
    else log(`bench: kept ${datasetDatabase}, Redis ${functionEnv.CACHE_NAMESPACE}:*, Mongo ${functionEnv.MONGODB_DATABASE}`);
  }

  machine.loadAfter = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const result: SuiteResult = {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
    profile: options.profile,
    only: options.only,
    machine,
    setup,
    benches: records,
    metrics: records.flatMap((r) => r.metrics),
    summary: summarize(records),
  };
  const file = `${base}.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

  log('');
  log(renderTable(metricsTable(result.metrics)));
  log('');
  for (const r of records.filter((r) => r.status !== 'ok')) log(`${r.name}: ${r.status} — ${r.error}`);
  const seconds = result.durationMs / 1000;
  const { passed, failed, informational, benchesFailed, benchesSkipped } = result.summary;
  log(
    `bench: ${passed} goals met, ${failed} not met, ${informational} informational; ${records.length - benchesFailed - benchesSkipped}/${records.length} benchmarks ran; ` +
      `${seconds.toFixed(0)} s (load ${machine.loadBefore[0]} → ${machine.loadAfter[0]} on ${machine.cpus} CPUs)`,
  );
  if (options.profile === 'quick' && !options.only && seconds > QUICK_BUDGET_S)
    log(`bench: --quick took ${seconds.toFixed(0)} s, over its ${QUICK_BUDGET_S} s budget`);
  // Absolute in the hint: report reads a typed --file from where npm run is typed, which may be elsewhere.
  const relative = path.relative(ROOT, base);
  log(`bench: results ${relative}.json (log ${relative}.log; npm run report -- --file ${base}.json)`);
  return { result, file };
}

async function main(): Promise<number> {
  const { values } = parseCommandLine(usage(import.meta.url), {
    options: {
      quick: { type: 'boolean', default: false },
      tiny: { type: 'boolean', default: false },
      only: { type: 'string' },
      skip: { type: 'string' },
      keep: { type: 'boolean', default: false },
      docs: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      'results-dir': { type: 'string', default: path.join(ROOT, 'bench/results') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const { result, file } = await runSuite({
    profile: values.tiny ? 'tiny' : values.quick ? 'quick' : 'full',
    only: parseList(values.only),
    skip: parseList(values.skip),
    keep: values.keep,
    resultsDir: pathFromCommandLine(values['results-dir']),
  });
  const relative = (f: string) => path.relative(ROOT, f);
  if (values.docs)
    console.log(`bench: wrote ${(await writeSection(benchDoc(result, relative(file)), DOCS.file, DOCS.charts)).map(relative).join(', ')}`);
  if (result.summary.benchesFailed > 0) return 1;
  return values.strict && result.summary.failed > 0 ? 1 : 0;
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => exit(1, `bench: ${error instanceof Error ? error.message : String(error)}`),
  );
}
