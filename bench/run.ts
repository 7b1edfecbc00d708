/**
 * npm run bench [-- --quick | --tiny] [--only a,b] [--skip a,b] [--keep] [--docs] [--results-dir DIR]
 * npm run bench -- --render bench/results/<file>.json     (docs/performance.md + charts from a stored run)
 *
 * The whole performance suite in one command. Prepares a data set (scratch database shop_bench, loaded by
 * the seed benchmark; never `shop` or `shop_test`), runs every benchmark — each in its own Node process,
 * each next to a reference measured in the same run — writes bench/results/<timestamp>.json and prints
 * one table: metric, ours, reference, ratio, goal, pass/fail.
 *
 *   --quick        smaller data set (100k orders) and shorter measurements: ≤ 3 minutes
 *   --tiny         seconds per benchmark, numbers meaningless: the smoke test's profile
 *   --only a,b     run a subset (names below); --skip a,b the complement
 *   --keep         leave the scratch databases, the Redis namespace and the Mongo database in place
 *   --docs         also render docs/performance.md's results section and its charts from this run
 *   --strict       exit 1 when a goal is not met (default: only a benchmark that breaks fails the run —
 *                  the numbers are noisy on a shared machine)
 *
 * Benchmarks: seed, orders, top-products, carts, round-trips, cold-start, pooler, http-overhead, load.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import postgres from 'postgres';
import { localEnv, ROOT, withDatabase } from '../scripts/lib/env.js';
import { type Offline, startOffline } from '../scripts/lib/offline.js';
import { pooledUrl, startPooler, stopPooler } from '../scripts/lib/pgbouncer.js';
import { ensurePgbouncer } from '../scripts/lib/prerequisites.js';
import { servicesStatus, servicesUp } from '../scripts/services.js';
import {
  BENCH_MONGO_DATABASE,
  BENCH_NAMESPACE,
  DATASET_COUNTS,
  DATASET_DATABASE,
  type Profile,
  profileOf,
  SUITE_OFFLINE_PORTS,
  SUITE_POOLER,
  type SuiteContext,
} from './lib/context.js';
import { ensureDataset } from './lib/dataset.js';
import { deleteNamespace } from './lib/redis.js';
import { type BenchOutput, type BenchRecord, formatMetricsTable, type Metric, type SuiteResult } from './lib/result.js';
import { dropScratch, scratchUrl } from './lib/scratch.js';

interface BenchDefinition {
  name: string;
  description: string;
  /** Reads the prepared data set (shop_bench). */
  dataset?: boolean;
  /** Needs the suite's serverless-offline. */
  offline?: boolean;
  /** Wants PgBouncer. */
  pooler?: boolean;
}

/** In run order: the seed benchmark prepares the data set; the load test (which writes orders) comes last. */
export const BENCHES: BenchDefinition[] = [
  { name: 'seed', description: 'seed (COPY) vs generate_series; leaves the data set loaded' },
  { name: 'orders', description: 'createOrder in process vs pgbench' },
  { name: 'top-products', description: 'cache hit vs raw GET vs uncached aggregate', dataset: true },
  { name: 'carts', description: 'saveCart/getCart vs raw driver' },
  { name: 'round-trips', description: 'Postgres/Redis/Mongo round trips per warm request', dataset: true },
  { name: 'cold-start', description: 'bundle size (raw, zipped) and module init vs an empty handler' },
  { name: 'pooler', description: 'createOrder and connection scale through PgBouncer', pooler: true },
  {
    name: 'http-overhead',
    description: 'serverless-offline HTTP vs the handler in process vs bare node:http',
    dataset: true,
    offline: true,
  },
  { name: 'load', description: 'mixed load through serverless-offline at rising concurrency', dataset: true, offline: true },
];

const QUICK_BUDGET_S = 180;
/**
 * In --quick/--tiny, serverless-offline (~25 s to start here) starts in the background when the first of
 * these begins: their numbers do not depend on an idle machine (round-trip counts; cold start is judged on
 * CPU time; the pooler's configurations are measured in rotating halves). The full run starts it alone.
 */
const OVERLAP_OFFLINE_START = new Set(['round-trips', 'cold-start', 'pooler']);

let currentChild: ChildProcess | undefined;
let interrupted = false;

function parseList(raw: string | undefined): string[] | null {
  if (!raw) return null;
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.name).join(', ')})`);
  return names;
}

const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

async function machineInfo(baseUrl: string, env: Record<string, string>): Promise<SuiteResult['machine']> {
  const info: SuiteResult['machine'] = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadBefore: os.loadavg().map((l) => Math.round(l * 100) / 100),
    loadAfter: [],
  };
  // The maintenance database: the one in DATABASE_URL (shop) need not exist on a fresh machine.
  const sql = postgres(withDatabase(baseUrl, 'postgres'), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [row] = await sql<
      Array<{ v: string; max: string }>
    >`select current_setting('server_version') as v, current_setting('max_connections') as max`;
    info.postgres = `PostgreSQL ${row!.v} (max_connections ${row!.max})`;
  } catch {
    // reported by the benchmarks that need it
  } finally {
    await sql.end({ timeout: 2 });
  }
  const mongo = new MongoClient(env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017', { serverSelectionTimeoutMS: 3000 });
  try {
    const build = await mongo.db('admin').command({ buildInfo: 1 });
    info.mongo =
      typeof build.ferretdbVersion === 'string' ? `FerretDB ${build.ferretdbVersion} (wire ${build.version})` : `MongoDB ${build.version}`;
  } catch {
    // idem
  } finally {
    await mongo.close();
  }
  return info;
}

/** Runs one benchmark in its own process; its output is streamed, indented, to the terminal and the log. */
function runChild(name: string, ctx: SuiteContext, log: (line: string) => void): Promise<BenchOutput> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
  const contextFile = path.join(dir, 'context.json');
  const outputFile = path.join(dir, 'output.json');
  writeFileSync(contextFile, JSON.stringify(ctx));
  return new Promise<BenchOutput>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/lib/child.ts'), name, contextFile, outputFile], {
      cwd: ROOT,
      // Benchmarks measure; the handlers' access logs would be part of what they measure.
      env: { ...process.env, FORCE_COLOR: '0', LOG_LEVEL: 'ERROR' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) log(`  │ ${line.replace(/\r/g, '')}`);
    };
    currentChild = child;
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      currentChild = undefined;
      if (pending) log(`  │ ${pending}`);
      try {
        const output = existsSync(outputFile)
          ? (JSON.parse(readFileSync(outputFile, 'utf8')) as BenchOutput & { error?: string })
          : undefined;
        if (code === 0 && output && !output.error) resolve(output);
        else reject(new Error(output?.error ?? `exited with code ${code}`));
      } catch (error) {
        reject(error as Error);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

async function cleanUp(ctx: SuiteContext, env: Record<string, string>, log: (line: string) => void): Promise<void> {
  try {
    await dropScratch(ctx.baseUrl, ctx.dataset.database);
  } catch (error) {
    log(`clean-up: could not drop ${ctx.dataset.database}: ${(error as Error).message}`);
  }
  try {
    const { createRedis } = await import('../shared/clients/redis.js');
    const namespace = ctx.functionEnv.CACHE_NAMESPACE!;
    const redis = createRedis({ url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN!, namespace, timeoutMs: 5000 });
    const deleted = await deleteNamespace(redis, namespace);
    log(`clean-up: dropped ${ctx.dataset.database}, deleted ${deleted} Redis keys under ${namespace}`);
  } catch (error) {
    log(`clean-up: Redis namespace: ${(error as Error).message}`);
  }
  const mongo = new MongoClient(env.MONGODB_URI!, { serverSelectionTimeoutMS: 3000 });
  try {
    await mongo.db(ctx.functionEnv.MONGODB_DATABASE).dropDatabase();
  } catch (error) {
    log(`clean-up: Mongo database ${ctx.functionEnv.MONGODB_DATABASE}: ${(error as Error).message}`);
  } finally {
    await mongo.close();
  }
}

/** Until PostgreSQL, the Upstash endpoint and the Mongo wire answer again (at most a minute). */
async function waitForServices(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await servicesStatus();
    if ((status.postgres && status.upstash && status.mongo) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  await new Promise((resolve) => setTimeout(resolve, 3_000)); // a restarted server accepts connections before it is ready
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
  const base = path.join(resultsDir, stamp());
  const logFile = `${base}.log`;
  const log = (line: string) => {
    (options.log ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
    appendFileSync(logFile, `${line}\n`);
  };
  const selected = BENCHES.filter((b) => (!options.only || options.only.includes(b.name)) && !options.skip?.includes(b.name));
  const env = localEnv();
  const baseUrl = env.DATABASE_URL;
  if (!baseUrl) throw new Error('DATABASE_URL is not set (.env / .env.example)');

  log(`bench: profile ${options.profile}; ${selected.map((b) => b.name).join(', ')}`);
  const status = await servicesStatus();
  if (!status.postgres || !status.upstash || !status.mongo) {
    log('bench: starting the missing services (npm run services:up) …');
    await servicesUp({ log });
  }
  const setup: Record<string, unknown> = {};
  let pooled = false;
  const poolerDir = path.join(ROOT, '.cache', SUITE_POOLER.dir) + path.sep;
  if (selected.some((b) => b.pooler || b.offline)) {
    const pgbouncer = ensurePgbouncer(log);
    if (!pgbouncer.available) {
      setup.poolerError = pgbouncer.detail;
      log(`bench: ${pgbouncer.detail}; the functions go straight to PostgreSQL`);
    } else {
      try {
        await stopPooler({ port: SUITE_POOLER.port, dir: poolerDir }); // a leftover of an interrupted run
        const upstream = new URL(baseUrl);
        await startPooler({
          upstreamHost: upstream.hostname,
          upstreamPort: Number(upstream.port || 5432),
          users: [decodeURIComponent(upstream.username || 'postgres')],
          listenPort: SUITE_POOLER.port,
          dir: poolerDir,
        });
        pooled = true;
      } catch (error) {
        setup.poolerError = (error as Error).message;
        log(`bench: PgBouncer did not start (${(error as Error).message}); the functions go straight to PostgreSQL`);
      }
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
    MONGODB_DATABASE: `${BENCH_MONGO_DATABASE}${tag}`,
    LOG_LEVEL: 'ERROR',
  });
  const ctx: SuiteContext = {
    profile: options.profile,
    baseUrl,
    dataset: { database: datasetDatabase, directUrl, counts: DATASET_COUNTS[options.profile] },
    functionEnv,
    pooled,
    ...(pooled ? { poolerPort: SUITE_POOLER.port } : {}),
    resultsDir,
  };
  setup.dataset = { database: datasetDatabase, counts: ctx.dataset.counts };
  setup.functions = pooled
    ? `through PgBouncer 127.0.0.1:${SUITE_POOLER.port} (transaction mode, pool 20+5 per database, DATABASE_PREPARE=false), as behind RDS Proxy`
    : 'straight at PostgreSQL (DATABASE_PREPARE=true)';
  const machine = await machineInfo(baseUrl, env);
  log(
    `bench: ${machine.cpus} CPUs (${machine.cpuModel}), load ${machine.loadBefore.join(' ')}, ${machine.postgres ?? 'PostgreSQL ?'}, ${machine.mongo ?? 'Mongo ?'}`,
  );
  log(`bench: functions run ${String(setup.functions)}`);

  const records: BenchRecord[] = [];
  let datasetReady = false;
  let offline: Offline | undefined;
  let offlineError: string | undefined;
  let offlineStarting: Promise<void> | undefined;
  const startingOffline = () => {
    if (offlineStarting) return offlineStarting;
    const o0 = performance.now();
    offlineStarting = startOffline(functionEnv, { ...SUITE_OFFLINE_PORTS, stage: 'bench' }).then(
      (started) => {
        offline = started;
        setup.offlineStartMs = Math.round(performance.now() - o0);
        log(`  serverless-offline on ${started.httpUrl} (started in ${(Number(setup.offlineStartMs) / 1000).toFixed(1)} s)`);
      },
      (error: unknown) => {
        offlineError = (error as Error).message.split('\n').slice(0, 6).join(' ');
      },
    );
    return offlineStarting;
  };
  const wantsOffline = selected.some((b) => b.offline);
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('bench: interrupted — stopping the current benchmark and cleaning up (again to quit at once)');
    currentChild?.kill('SIGTERM');
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    for (const [index, bench] of selected.entries()) {
      const t0 = performance.now();
      log('');
      log(`▶ ${bench.name} (${index + 1}/${selected.length}): ${bench.description} — load ${os.loadavg()[0]!.toFixed(1)}`);
      const record: BenchRecord = { name: bench.name, status: 'ok', durationMs: 0, metrics: [], details: {} };
      if (interrupted) {
        records.push({ ...record, status: 'skipped', error: 'interrupted' });
        continue;
      }
      if (wantsOffline && options.profile !== 'full' && OVERLAP_OFFLINE_START.has(bench.name) && !offlineStarting) {
        log('  (serverless-offline starts in the background meanwhile)');
        setup.offlineStartedDuring = selected
          .slice(index)
          .filter((b) => OVERLAP_OFFLINE_START.has(b.name))
          .map((b) => b.name);
        void startingOffline();
      }
      try {
        if (bench.dataset && !datasetReady) {
          const how = await ensureDataset(baseUrl, directUrl, ctx.dataset.counts, log);
          log(`  data set ${datasetDatabase}: ${how}`);
          datasetReady = true;
        }
        if (bench.offline) {
          await startingOffline();
          if (!offline) {
            record.status = 'skipped';
            record.error = `serverless-offline did not start: ${offlineError}`;
          } else {
            ctx.offline = { httpUrl: offline.httpUrl, ...(offline.process.pid ? { pid: offline.process.pid } : {}) };
          }
        }
        if (record.status === 'ok') {
          let output: BenchOutput;
          try {
            output = await runChild(bench.name, ctx, log);
          } catch (error) {
            // A shared machine: someone may restart PostgreSQL or FerretDB under a run. One more try, once
            // the services answer again; the first failure stays on record.
            if (interrupted) throw error;
            const first = (error as Error).message;
            log(`  ✗ ${bench.name} failed (${first.slice(0, 200)}); waiting for the services, then one more try`);
            await waitForServices();
            output = await runChild(bench.name, ctx, log);
            output.details = { ...output.details, firstAttemptError: first };
          }
          record.metrics = output.metrics.map((m) => ({ ...m, bench: m.bench || bench.name }));
          record.details = output.details;
          if (output.skipped) {
            record.status = 'skipped';
            record.error = output.skipped;
          }
          if (bench.name === 'seed') datasetReady = true;
        }
      } catch (error) {
        record.status = 'failed';
        record.error = (error as Error).message;
        log(`  ✗ ${bench.name} failed: ${record.error}`);
      }
      record.durationMs = Math.round(performance.now() - t0);
      records.push(record);
      log(`  ${bench.name}: ${record.status} in ${(record.durationMs / 1000).toFixed(1)} s`);
    }
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await offlineStarting;
    await offline?.stop();
    if (pooled) await stopPooler({ port: SUITE_POOLER.port, dir: poolerDir });
    if (!options.keep) await cleanUp(ctx, env, log);
    else log(`bench: kept ${datasetDatabase}, Redis ${functionEnv.CACHE_NAMESPACE}:*, Mongo ${functionEnv.MONGODB_DATABASE}`);
  }

  machine.loadAfter = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const metrics: Metric[] = records.flatMap((r) => r.metrics);
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
    metrics,
    summary: {
      passed: metrics.filter((m) => m.pass === true).length,
      failed: metrics.filter((m) => m.pass === false).length,
      informational: metrics.filter((m) => m.pass === null).length,
      benchesFailed: records.filter((r) => r.status === 'failed').length,
      benchesSkipped: records.filter((r) => r.status === 'skipped').length,
    },
  };
  const file = `${base}.json`;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

  log('');
  log(formatMetricsTable(metrics));
  log('');
  for (const r of records.filter((r) => r.status !== 'ok')) log(`${r.name}: ${r.status} — ${r.error}`);
  const seconds = result.durationMs / 1000;
  log(
    `bench: ${result.summary.passed} goals met, ${result.summary.failed} not met, ${result.summary.informational} informational; ` +
      `${records.length - result.summary.benchesFailed - result.summary.benchesSkipped}/${records.length} benchmarks ran; ` +
      `${seconds.toFixed(0)} s (load ${machine.loadBefore[0]} → ${machine.loadAfter[0]} on ${machine.cpus} CPUs)`,
  );
  if (options.profile === 'quick' && !options.only && seconds > QUICK_BUDGET_S)
    log(`bench: --quick took ${seconds.toFixed(0)} s, over its ${QUICK_BUDGET_S} s budget`);
  log(`bench: results ${path.relative(ROOT, file)} (log ${path.relative(ROOT, logFile)})`);
  return { result, file };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      tiny: { type: 'boolean', default: false },
      only: { type: 'string' },
      skip: { type: 'string' },
      keep: { type: 'boolean', default: false },
      docs: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      render: { type: 'string' },
      'results-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    const doc = readFileSync(new URL(import.meta.url), 'utf8');
    console.log(
      /\/\*\*([\s\S]*?)\*\//
        .exec(doc)![1]!
        .replace(/^ \* ?/gm, '')
        .trim(),
    );
    return 0;
  }
  const { renderDocs } = await import('./lib/docs.js');
  if (values.render) {
    const written = await renderDocs(
      JSON.parse(readFileSync(values.render, 'utf8')) as SuiteResult,
      path.relative(ROOT, path.resolve(values.render)),
    );
    console.log(`bench: wrote ${written.join(', ')}`);
    return 0;
  }
  const { result, file } = await runSuite({
    profile: profileOf(values),
    only: parseList(values.only),
    skip: parseList(values.skip),
    keep: values.keep,
    resultsDir: values['results-dir'] ?? path.join(ROOT, 'bench/results'),
  });
  if (values.docs) {
    const written = await renderDocs(result, path.relative(ROOT, file));
    console.log(`bench: wrote ${written.join(', ')}`);
  }
  if (result.summary.benchesFailed > 0) return 1;
  if (values.strict && result.summary.failed > 0) return 1;
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
