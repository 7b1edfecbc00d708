/**
 * Warm-path efficiency: database and cache round trips per request type, counted on the real handlers
 * (functions/*.ts called in process with API Gateway events, warm: after a few calls each).
 *
 *   Postgres  statements (postgres.js debug hook, shared/clients/postgres.ts) and network round trips
 *             (a counting TCP proxy in front of Postgres: a turn = the client speaking after the server);
 *   Redis     Upstash REST requests (shared/clients/redis.ts; a pipeline or MULTI/EXEC is one request);
 *   MongoDB   commands (shared/clients/mongo.ts, command monitoring).
 *
 * The counters exist only with COUNT_ROUND_TRIPS=1 (set here, in a probe process of its own). Two probes:
 * `prepared` (named prepared statements, straight at Postgres) and `unprepared` (DATABASE_PREPARE=false,
 * as behind PgBouncer in transaction mode or RDS Proxy).
 */
import { randomUUID } from 'node:crypto';
import { type Handler, type HttpEventOptions, httpEvent, lambdaContext } from '../scripts/lib/lambda-events.js';
import { pooledUrl } from '../scripts/lib/pgbouncer.js';
import { type Goal, type Metric, metric } from '../shared/benchmarks/metric.js';
import { mostFrequent } from '../shared/benchmarks/stats.js';
import type { SuiteContext } from './lib/context.js';
import { ensureLeaderboard, withSql } from './lib/fixtures.js';
import { tokenSigner } from './lib/http.js';
import { runChild } from './lib/process.js';
import { countingProxy } from './lib/proxy.js';
import type { BenchOutput } from './lib/result.js';

type Variant = 'prepared' | 'unprepared';

export interface Counted {
  pgStatements: number;
  pgRoundTrips: number;
  redis: number;
  /** Redis commands in those requests: what Upstash bills. */
  redisCommands: number;
  mongo: number;
}

export interface RequestCount extends Counted {
  request: string;
  samples: number;
  /** True when every warm sample gave the same counts. */
  stable: boolean;
}

/**
 * A count at its minimum, exactly: fewer would mean a counter that missed some, or a call the request no
 * longer makes (the leaderboard's increment), which is what this benchmark is there to catch.
 */
export const AT_MINIMUM: Goal = { on: 'ratio', op: '==', value: 1, text: '= minimum' };

/** The fewest round trips each request type can make, and why (see docs/performance.md). */
export const MINIMUM: Record<string, { total: number; why: string } | undefined> = {
  createOrder: { total: 2, why: '1 Postgres (the order is one atomic write) + 1 Redis (the leaderboard increment after commit)' },
  'createOrder + Idempotency-Key': { total: 2, why: 'the key is written in the same statement as the order' },
  'top products, cache hit': { total: 1, why: 'one GET of the snapshot' },
  'saveCart with If-Match (its ETag)': { total: 1, why: 'inserting the next version is the compare-and-set (docs/carts.md)' },
};

/** In the probe process (bench/lib/child.ts): count each request type after a few uncounted warm calls. */
export async function probe(ctx: SuiteContext, variant: Variant): Promise<RequestCount[]> {
  const direct = new URL(ctx.dataset.directUrl);
  const proxy = await countingProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  Object.assign(process.env, ctx.functionEnv, {
    DATABASE_URL: pooledUrl(ctx.dataset.directUrl, proxy.port),
    DATABASE_PREPARE: variant === 'prepared' ? 'true' : 'false',
    DATABASE_POOL_MAX: '1',
    COUNT_ROUND_TRIPS: '1',
    LOG_LEVEL: 'ERROR',
  });
  const { roundTrips } = await import('../shared/clients/round-trips.js');
  const { createRedis } = await import('../shared/clients/redis.js');
  const { getConfig } = await import('../shared/config.js');
  const { topProductsKeys } = await import('../shared/products/keys.js');
  const { resolveWindow } = await import('../shared/products/window.js');
  const handlers: Record<string, Handler> = {};
  for (const name of ['createOrder', 'getTopProducts', 'saveCart', 'getCart'])
    handlers[name] = (await import(`../functions/${name}.js`)).handler;
  const config = getConfig();
  const uncountedRedis = createRedis(config.redis);

  // Fixtures, read without the counters: a customer and two products with plenty of stock.
  const [[customer], products] = await withSql(ctx.dataset.directUrl, async (sql) => [
    await sql<Array<{ id: number }>>`select customer_id as id from customers order by customer_id limit 1`,
    await sql<Array<{ id: number }>>`select product_id as id from products where stock_quantity >= 100 order by product_id limit 2`,
  ]);
  await ensureLeaderboard(ctx.functionEnv, ctx.dataset.directUrl);
  if (!customer || products.length < 2) throw new Error('round-trips: the data set has no customer or no products with stock ≥ 100');
  const authorization = await tokenSigner(process.env as Record<string, string>)(customer.id);
  const body = { customerId: customer.id, items: products.map((p) => ({ productId: p.id, quantity: 1 })) };
  const cart = { items: [{ productId: products[0]!.id, quantity: 2, attributes: { size: 'M' } }], note: 'round trips' };
  const carts = { path: `/carts/${customer.id}`, pathParameters: { customerId: String(customer.id) }, authorization };
  const top = { method: 'GET', path: '/products/top', query: { limit: '10' } };
  type Response = Awaited<ReturnType<Handler>>;
  const cached = (header: string) => (r: Response) => r.statusCode === 200 && r.headers?.['X-Cache'] === header;
  const status = (code: number) => (r: Response) => r.statusCode === code;
  // The ETag of the cart as last served, for the conditional save (set before each of its calls, uncounted).
  let served = '';
  const serve = async () => {
    const read = await handlers.getCart!(
      httpEvent({ method: 'GET', routeKey: 'GET /carts/{customerId}', ...carts }),
      lambdaContext('getCart'),
    );
    served = String(read.headers?.ETag);
  };
  type Event = HttpEventOptions | (() => HttpEventOptions);
  const calls: Record<string, [string, Event, (r: Response) => boolean, (() => Promise<unknown>)?]> = {
    createOrder: ['createOrder', { method: 'POST', path: '/orders', body, authorization }, status(201)],
    'createOrder + Idempotency-Key': [
      'createOrder',
      { method: 'POST', path: '/orders', body, authorization, headers: { 'idempotency-key': randomUUID() } },
      status(201),
    ],
    'top products, cache hit': ['getTopProducts', top, cached('HIT')],
    // The snapshot gone (expired, or older than freshMs): this caller refreshes it from the leaderboard.
    'top products, miss (refresh)': [
      'getTopProducts',
      top,
      cached('MISS'),
      () => uncountedRedis.del(topProductsKeys(config.redis.namespace).snapshot(resolveWindow(undefined).id)),
    ],
    'saveCart (existing cart)': ['saveCart', { method: 'PUT', routeKey: 'PUT /carts/{customerId}', body: cart, ...carts }, status(200)],
    'saveCart with If-Match (its ETag)': [
      'saveCart',
      () => ({ method: 'PUT', routeKey: 'PUT /carts/{customerId}', body: cart, ...carts, headers: { 'if-match': served } }),
      status(200),
      serve,
    ],
    getCart: ['getCart', { method: 'GET', routeKey: 'GET /carts/{customerId}', ...carts }, status(200)],
  };

  const results: RequestCount[] = [];
  for (const [request, [name, eventOf, ok, before]] of Object.entries(calls)) {
    const samples: Counted[] = [];
    for (let attempt = 0; samples.length < 5 && attempt < 30; attempt++) {
      await before?.();
      const event = typeof eventOf === 'function' ? eventOf() : eventOf;
      const warm = attempt < 3;
      roundTrips.postgres = roundTrips.redis = roundTrips.redisCommands = roundTrips.mongo = 0;
      proxy.reset();
      // A fresh key per call: the same key would be a replay.
      const headers = event.headers?.['idempotency-key'] === undefined ? event.headers : { 'idempotency-key': randomUUID() };
      const response = await handlers[name]!(httpEvent({ ...event, ...(headers ? { headers } : {}) }), lambdaContext(name));
      const counted = {
        pgStatements: roundTrips.postgres,
        pgRoundTrips: proxy.turns(),
        redis: roundTrips.redis,
        redisCommands: roundTrips.redisCommands,
        mongo: roundTrips.mongo,
      };
      if (!ok(response)) {
        // A hit may turn into the once-per-freshMs refresh, a miss into a hit (someone refreshed first): retry those.
        if (attempt >= 3 && response.statusCode !== 200) {
          throw new Error(`round-trips: ${request} answered ${response.statusCode}: ${String(response.body).slice(0, 200)}`);
        }
        continue; // e.g. a hit that turned into the once-per-freshMs refresh
      }
      if (!warm) samples.push(counted);
    }
    if (samples.length === 0) throw new Error(`round-trips: no valid sample for ${request}`);
    // The most frequent combination: a rare sample with more (a retried transaction) does not make the row.
    const stable = new Set(samples.map((s) => JSON.stringify(s))).size === 1;
    results.push({ request, samples: samples.length, stable, ...mostFrequent(samples) });
  }
  await proxy.close();
  return results;
}

const total = (c: Counted) => c.pgRoundTrips + c.redis + c.mongo;

export async function run(ctx: SuiteContext): Promise<BenchOutput> {
  // One after the other: they share the cache namespace, and a miss must stay a miss.
  const log = (line: string) => console.log(line);
  const prepared = await runChild<RequestCount[]>('round-trips:probe', ctx, log, 'prepared');
  const unprepared = await runChild<RequestCount[]>('round-trips:probe', ctx, log, 'unprepared');
  const metrics: Metric[] = [];
  for (const [i, p] of prepared.entries()) {
    const u = unprepared[i]!;
    const minimum = MINIMUM[p.request];
    const raw = p.request.startsWith('saveCart') || p.request === 'getCart' ? 1 : null;
    metrics.push(
      metric('round-trips', {
        metric: `${p.request} (PG ${p.pgRoundTrips} + Redis ${p.redis} + Mongo ${p.mongo})`,
        ours: total(p),
        reference: minimum?.total ?? raw,
        unit: 'trips',
        goal: minimum ? AT_MINIMUM : null,
        ...(raw !== null ? { note: 'reference: the raw driver call (1)' } : {}),
      }),
    );
    if (u.pgRoundTrips !== p.pgRoundTrips) {
      metrics.push(
        metric('round-trips', {
          metric: `${p.request} with prepare:false (pooler), PG ${u.pgRoundTrips} + Redis ${u.redis}`,
          ours: total(u),
          reference: minimum?.total ?? null,
          unit: 'trips',
          note: 'postgres.js describes an unnamed statement with parameters before executing it',
        }),
      );
    }
  }
  return { metrics, details: { prepared, unprepared, minimum: MINIMUM } };
}
