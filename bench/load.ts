/**
 * Load test through serverless-offline with autocannon: a shop's mix — 70 % GET /products/top, 20 %
 * PUT /carts/{customerId}, 10 % POST /orders, each with a valid bearer token for its customer — at rising
 * concurrency (closed loop: N connections, one request in flight each) until errors (> 1 %), a latency
 * knee (throughput up < 10 % while p95 grows > 50 %), p99 past 5 s, or the time budget. Per step:
 * throughput, p50/p95/p99 (overall and per route), errors by kind, and where the CPU went (cores used by
 * serverless-offline, PostgreSQL, PgBouncer, FerretDB, Redis, the Upstash gateway, autocannon itself and
 * everything else on the machine). Afterwards, in SQL: the stock invariant (for every product, stock
 * before − stock after = units in the orders placed during the test) and the oversell count (must be 0).
 * The full run then repeats the steps with a control mix without cart writes (87.5 % top products,
 * 12.5 % orders: the same 7:1 ratio) — what the stack does when FerretDB is out of the picture.
 *
 * Orders pick 1–3 products skewed towards the popular ones (quantity 1–2), so stock runs out on some:
 * 409 INSUFFICIENT_STOCK is an expected answer, counted apart from errors. autocannon's own HDR p50/p99
 * are kept next to ours as a cross-check; every percentile in a row is shared/benchmarks/stats.ts's.
 */

import os from 'node:os';
import autocannon, { type Request as AutocannonRequest } from 'autocannon';
import postgres from 'postgres';
import { type Metric, metric, num } from '../shared/benchmarks/metric.js';
import { type Summary, summarize } from '../shared/benchmarks/stats.js';
import type { Profile, SuiteContext } from './lib/context.js';
import { coresUsed, cpuSnapshot, cpuSupported } from './lib/cpu.js';
import { ensureLeaderboard } from './lib/fixtures.js';
import { tokenSigner } from './lib/http.js';
import type { BenchOutput } from './lib/result.js';

type Route = 'top' | 'cart' | 'order';

export interface Mix {
  name: string;
  top: number;
  cart: number;
  order: number;
}

const SHOP_MIX: Mix = { name: 'shop 70/20/10', top: 0.7, cart: 0.2, order: 0.1 };
const CONTROL_MIX: Mix = { name: 'control, no cart writes 87.5/0/12.5', top: 0.875, cart: 0, order: 0.125 };

/**
 * minSteps: steps run before a latency knee may stop the series (so the curve has a shape). warmupS: the most
 * warm-up per step. Every connection beyond the warm workers makes serverless-offline start a worker thread
 * (a cold start: bundle load, new pools), so each step first runs 1-s chunks at its concurrency until two in
 * a row agree on throughput within 20 % (at least 2, at most warmupS).
 */
const PROFILES: Record<
  Profile,
  { steps: number[]; minSteps: number; stepS: number; warmupS: number; budgetS: number; customers: number; mixes: Mix[] }
> = {
  full: {
    steps: [1, 2, 4, 8, 16, 32, 64],
    // 1 to 16 always: the 16-vs-4 row needs both.
    minSteps: 5,
    stepS: 15,
    warmupS: 12,
    budgetS: 240,
    customers: 2000,
    mixes: [SHOP_MIX, CONTROL_MIX],
  },
  quick: { steps: [4, 16], minSteps: 2, stepS: 5, warmupS: 5, budgetS: 35, customers: 500, mixes: [SHOP_MIX] },
  tiny: { steps: [2], minSteps: 1, stepS: 2, warmupS: 2, budgetS: 10, customers: 20, mixes: [SHOP_MIX] },
};
const ERROR_RATE_LIMIT = 0.01;
const P99_LIMIT_MS = 5_000;

export interface Step {
  concurrency: number;
  seconds: number;
  requests: number;
  throughput: number;
  latency: Summary;
  routes: Record<Route, { requests: number; latency: Summary; statuses: Record<string, number> }>;
  /** Answers that are not the route's expected ones (5xx, 401/403, 400, timeouts, connection errors). */
  errors: number;
  errorKinds: Record<string, number>;
  /** 409 INSUFFICIENT_STOCK answers to POST /orders (expected as stock runs out). */
  outOfStock: number;
  ordersCreated: number;
  /** Seconds of warm-up before the step, and the throughput of each 1-s warm-up chunk. */
  warmupS?: number;
  warmupThroughput?: number[];
  cpu?: Record<string, number>;
  /** autocannon's own view (HDR histogram): a cross-check, never used in a row. */
  autocannon: { requestsPerSecond: number; p50: number; p99: number; errors: number; timeouts: number };
}

const cartBody = (n: number) =>
  JSON.stringify({
    items: [
      { productId: 1 + (n % 500), quantity: 1 + (n % 3), attributes: { size: ['S', 'M', 'L'][n % 3]!, giftWrap: n % 2 === 0 } },
      { productId: 501 + (n % 500), quantity: 1 },
    ],
    note: 'load test',
  });
/** The share of a step's requests that failed, answered or not; NaN when none was sent (which fails its goal). */
export function errorRate(step: Pick<Step, 'requests' | 'errors' | 'errorKinds'>): number {
  const sent = step.requests + (step.errorKinds['timeout/connection error'] ?? 0);
  return sent > 0 ? step.errors / sent : Number.NaN;
}

/**
 * More connections must not cost throughput before the CPU is saturated by real work (no collapse from
 * serverless-offline starting a worker per connection): 16 connections against 4, in the same run. A series
 * that stopped before 16 fails the row: leaving it out would read as met.
 */
export function scalingRows(
  mix: string,
  steps: Array<Pick<Step, 'concurrency' | 'throughput'> & { latency: Pick<Step['latency'], 'p95'> }>,
  stopReason: string,
  levels: number[],
): Metric[] {
  if (!levels.includes(4) || !levels.includes(16)) return [];
  const [at4, at16] = [4, 16].map((c) => steps.find((s) => s.concurrency === c));
  const goal = { on: 'ratio', op: '>=', value: 1 } as const;
  if (!at4 || !at16)
    return [
      metric('load', {
        metric: `throughput at 16 vs at 4 connections, ${mix}`,
        ours: at16?.throughput ?? Number.NaN,
        reference: at4?.throughput ?? Number.NaN,
        unit: 'req/s',
        goal,
        note: `no step at ${at4 ? 16 : 4} connections: ${stopReason}`,
      }),
    ];
  return [
    metric('load', {
      metric: `throughput at 16 vs at 4 connections, ${mix} (p95 ${num(at16.latency.p95)} vs ${num(at4.latency.p95)} ms)`,
      ours: at16.throughput,
      reference: at4.throughput,
      unit: 'req/s',
      goal,
    }),
  ];
}

const best = (steps: Step[]) => steps.reduce<Step | undefined>((b, s) => (!b || s.throughput > b.throughput ? s : b), undefined);
const ROUTES = ['top', 'cart', 'order'] as const;

export async function run(ctx: SuiteContext): Promise<BenchOutput> {
  if (!ctx.offline) throw new Error('load needs the suite’s serverless-offline');
  const o = PROFILES[ctx.profile];
  const base = new URL(ctx.offline.httpUrl);
  console.log(`leaderboard: ${await ensureLeaderboard(ctx.functionEnv, ctx.dataset.directUrl)}`);

  // Fixtures and the "before" picture, straight at Postgres.
  const sql = postgres(ctx.dataset.directUrl, { max: 1, onnotice: () => {} });
  await sql`drop table if exists bench_stock_before`;
  await sql`create table bench_stock_before as select product_id, stock_quantity from products`;
  const [before] = await sql<Array<{ maxOrder: number }>>`select coalesce(max(order_id), 0)::bigint::float8 as "maxOrder" from orders`;
  const ids = async (rows: Promise<Array<{ id: number }>>) => (await rows).map((r) => r.id);
  const productIds = await ids(sql`select product_id as id from products order by product_id`);
  const customerIds = await ids(sql`select customer_id as id from customers order by customer_id limit ${o.customers}`);
  const signer = tokenSigner(ctx.functionEnv);
  const tokens = new Map<number, string>();
  for (const id of customerIds) tokens.set(id, await signer(id));
  console.log(
    `mix 70/20/10 over ${customerIds.length} customers (a token each) and ${productIds.length} products; steps ${o.steps.join(', ')} connections, ` +
      `${o.stepS} s each after a warm-up of 2–${o.warmupS} s`,
  );

  const pickProduct = () => productIds[Math.floor(productIds.length * Math.random() ** 3)]!; // popular (low ids) sell more
  let counter = 0;
  let mix = SHOP_MIX;
  const setupRequest = (request: AutocannonRequest, context: Record<string, unknown>) => {
    const customerId = customerIds[Math.floor(Math.random() * customerIds.length)]!;
    const headers = { 'content-type': 'application/json', authorization: tokens.get(customerId)! };
    const r = Math.random();
    const lines = new Map<number, number>();
    for (let i = Math.floor(Math.random() * 3); i >= 0; i--) lines.set(pickProduct(), 1 + Math.floor(Math.random() * 2));
    const items = [...lines].map(([productId, quantity]) => ({ productId, quantity }));
    const [route, fields] =
      r < mix.top
        ? ['top', { method: 'GET', path: '/products/top?limit=10', headers: {}, body: undefined }]
        : r < mix.top + mix.cart
          ? ['cart', { method: 'PUT', path: `/carts/${customerId}`, headers, body: cartBody(counter++) }]
          : ['order', { method: 'POST', path: '/orders', headers, body: JSON.stringify({ customerId, items }) }];
    Object.assign(request, fields);
    Object.assign(context, { route, t0: performance.now() });
    return request;
  };

  const runStep = async (concurrency: number, seconds: number, record: boolean): Promise<Step> => {
    const samples: Record<Route, number[]> = { top: [], cart: [], order: [] };
    const statuses: Record<Route, Record<string, number>> = { top: {}, cart: {}, order: {} };
    const errorKinds: Record<string, number> = {};
    let errors = 0;
    let outOfStock = 0;
    let ordersCreated = 0;
    const onResponse = (status: number, body: string, context: Record<string, unknown>) => {
      const route = context.route as Route;
      if (!route) return;
      samples[route].push(performance.now() - (context.t0 as number));
      statuses[route][status] = (statuses[route][status] ?? 0) + 1;
      if (route === 'order' && status === 201) ordersCreated++;
      else if (route === 'order' && status === 409 && body.includes('INSUFFICIENT_STOCK')) outOfStock++;
      else if (status !== (route === 'order' ? 201 : 200)) {
        errors++;
        const key = `${route} ${status} ${/"code":"([A-Z_]+)"/.exec(body)?.[1] ?? ''}`.trim();
        errorKinds[key] = (errorKinds[key] ?? 0) + 1;
      }
    };
    const cpuBefore = record && cpuSupported() ? cpuSnapshot({ offlinePid: ctx.offline!.pid }) : undefined;
    const started = performance.now();
    const instance = autocannon({
      url: base.origin,
      connections: concurrency,
      pipelining: 1,
      duration: seconds,
      timeout: 10,
      requests: [{ setupRequest, onResponse }],
    });
    let requestErrors = 0;
    instance.on('reqError', () => void requestErrors++);
    const result = await instance;
    const elapsed = (performance.now() - started) / 1000;
    const cpu = cpuBefore ? coresUsed(cpuBefore, cpuSnapshot({ offlinePid: ctx.offline!.pid })) : undefined;
    if (requestErrors > 0) errorKinds['timeout/connection error'] = requestErrors;
    const all = ROUTES.flatMap((r) => samples[r]);
    return {
      concurrency,
      seconds: Math.round(elapsed * 100) / 100,
      requests: all.length,
      throughput: Math.round((all.length / elapsed) * 10) / 10,
      latency: summarize(all),
      routes: Object.fromEntries(
        ROUTES.map((r) => [r, { requests: samples[r].length, latency: summarize(samples[r]), statuses: statuses[r] }]),
      ) as Step['routes'],
      errors: errors + requestErrors,
      errorKinds,
      outOfStock,
      ordersCreated,
      ...(cpu ? { cpu } : {}),
      autocannon: {
        requestsPerSecond: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        errors: result.errors,
        timeouts: result.timeouts,
      },
    };
  };

  const series = async (current: Mix): Promise<{ steps: Step[]; stopReason: string }> => {
    mix = current;
    console.log(`mix ${current.name}:`);
    const steps: Step[] = [];
    let stopReason = 'all steps ran';
    const deadline = performance.now() + o.budgetS * 1000;
    for (const concurrency of o.steps) {
      if (performance.now() + (o.stepS + 2) * 1000 > deadline + 5_000) {
        stopReason = `time budget (${o.budgetS} s)`;
        break;
      }
      // Warm-up at this concurrency: new serverless-offline workers (a cold start each) and pools.
      const chunks: number[] = [];
      for (let t = 0; t < o.warmupS; t++) {
        chunks.push((await runStep(concurrency, 1, false)).throughput);
        const [a, b] = chunks.slice(-2);
        if (a !== undefined && b !== undefined && a > 0 && Math.abs(b - a) / a < 0.2) break;
      }
      const step = { ...(await runStep(concurrency, o.stepS, true)), warmupS: chunks.length, warmupThroughput: chunks };
      steps.push(step);
      const { p50, p95, p99 } = step.latency;
      const cores = Object.entries(step.cpu ?? {}).filter(([k]) => k !== 'cores');
      console.log(
        `  c=${concurrency} (warm-up ${step.warmupS} s): ${step.throughput} req/s, p50 ${num(p50)} p95 ${num(p95)} p99 ${num(p99)} ms, errors ${step.errors}, out of stock ${step.outOfStock}` +
          (cores.length ? `; cores ${cores.map(([k, v]) => `${k} ${v}`).join(', ')}` : ''),
      );
      const previous = steps.at(-2);
      const rate = errorRate(step);
      if (!(rate <= ERROR_RATE_LIMIT)) {
        stopReason = Number.isNaN(rate)
          ? `no request sent at ${concurrency} connections`
          : `errors above ${ERROR_RATE_LIMIT * 100} % at ${concurrency} connections`;
        break;
      }
      if (step.latency.p99 > P99_LIMIT_MS) {
        stopReason = `p99 above ${P99_LIMIT_MS} ms at ${concurrency} connections`;
        break;
      }
      if (previous && step.throughput < previous.throughput * 1.1 && step.latency.p95 > previous.latency.p95 * 1.5) {
        stopReason = `latency knee at ${concurrency} connections (throughput ${step.throughput >= previous.throughput ? '+' : ''}${((step.throughput / previous.throughput - 1) * 100).toFixed(0)} %, p95 ×${(step.latency.p95 / previous.latency.p95).toFixed(1)})`;
        if (steps.length >= o.minSteps) break;
      }
    }
    console.log(`  stopped: ${stopReason}`);
    return { steps, stopReason };
  };

  try {
    const runs: Array<{ mix: Mix; steps: Step[]; stopReason: string }> = [];
    for (const current of o.mixes) runs.push({ mix: current, ...(await series(current)) });
    const { steps } = runs[0]!;

    // The invariants, in SQL, after the load.
    const [check] = await sql<
      Array<{ mismatched: number; oversold: number; negative: number; unitsSold: number; ordersPlaced: number; orphanOrders: number }>
    >`
      with sold as (
        select i.product_id, sum(i.quantity)::bigint as units
        from order_items i join orders o using (order_id)
        where o.order_id > ${before!.maxOrder}
        group by i.product_id
      )
      select
        (select count(*)::int from bench_stock_before b join products p using (product_id)
           where b.stock_quantity - p.stock_quantity <> coalesce((select units from sold s where s.product_id = b.product_id), 0)) as mismatched,
        (select count(*)::int from bench_stock_before b join sold s using (product_id) where s.units > b.stock_quantity) as oversold,
        (select count(*)::int from products where stock_quantity < 0) as negative,
        (select coalesce(sum(units), 0)::float8 from sold) as "unitsSold",
        (select count(*)::int from orders where order_id > ${before!.maxOrder}) as "ordersPlaced",
        (select count(*)::int from orders o where o.order_id > ${before!.maxOrder}
           and not exists (select 1 from order_items i where i.order_id = o.order_id)) as "orphanOrders"`;
    await sql`drop table if exists bench_stock_before`;
    console.log(`after the load (SQL): ${JSON.stringify(check)}`);

    const peak = best(steps);
    const none = { on: 'ours', op: '<=', value: 0, text: '0' } as const;
    const metrics: Metric[] = runs.flatMap(({ mix, steps, stopReason }) => {
      const top = best(steps);
      const p = top?.latency;
      return top
        ? [
            metric('load', {
              metric: `peak throughput, ${mix.name}, at ${top.concurrency} connections (p50 ${num(p!.p50)} ms, p95 ${num(p!.p95)} ms)`,
              ours: top.throughput,
              unit: 'req/s',
              note: `stopped: ${stopReason}`,
            }),
            ...scalingRows(mix.name, steps, stopReason, o.steps),
          ]
        : [];
    });
    if (peak) {
      metrics.push(
        metric('load', {
          metric: `latency at the peak of ${SHOP_MIX.name} (p50 ${num(peak.latency.p50)} ms, p99 ${num(peak.latency.p99)} ms): p95`,
          ours: peak.latency.p95,
          unit: 'ms',
        }),
        metric('load', {
          metric: `error rate at the peak (${peak.errors} of ${peak.requests + (peak.errorKinds['timeout/connection error'] ?? 0)})`,
          ours: 100 * errorRate(peak),
          unit: '%',
          goal: { on: 'ours', op: '<=', value: ERROR_RATE_LIMIT * 100 },
        }),
      );
    }
    metrics.push(
      metric('load', { metric: 'stock invariant violations after the load (SQL)', ours: check!.mismatched, unit: 'products', goal: none }),
      metric('load', {
        metric: 'oversold products after the load (SQL)',
        ours: check!.oversold + check!.negative,
        unit: 'products',
        goal: none,
      }),
    );
    const details = {
      options: o,
      pooled: ctx.pooled,
      cpus: os.cpus().length,
      mixes: runs,
      invariants: check,
      peakConcurrency: peak?.concurrency ?? null,
    };
    return { metrics, details };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
