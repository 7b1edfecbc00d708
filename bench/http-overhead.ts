/**
 * What HTTP through serverless-offline adds to a request, called one at a time and interleaved request by
 * request (so machine noise hits every path alike):
 *
 *   GET /products/top?limit=10 (a cache hit)
 *     (a) the handler in process (functions/getTopProducts.ts, synthetic API Gateway event);
 *     (b) over HTTP through the suite's serverless-offline;
 *     (c) the floor of an HTTP round trip here: a bare node:http server answering the same bytes;
 *     (d) serverless-offline's own floor: a 400 from validation (no I/O at all);
 *   POST /orders (a bearer token for the order's customer; the functions reach Postgres as the suite's
 *   serverless-offline does — through PgBouncer when it runs)
 *     (e) the handler in process vs (f) over HTTP.
 *
 * serverless-offline is a local emulator: per request it runs the handler in a worker thread and passes the
 * event and the answer between threads; API Gateway in the cloud adds its own (different) latency. So these
 * rows have no goal: they say how much of a local HTTP number is the emulator.
 */
import http from 'node:http';
import postgres from 'postgres';
import { type Handler, httpEvent, lambdaContext } from '../scripts/lib/lambda-events.js';
import { metric } from '../shared/benchmarks/metric.js';
import { summarize } from '../shared/benchmarks/stats.js';
import type { Profile, SuiteContext } from './lib/context.js';
import { ensureLeaderboard } from './lib/fixtures.js';
import { request, tokenSigner } from './lib/http.js';
import { interleave } from './lib/measure.js';
import type { BenchOutput } from './lib/result.js';

const PROFILES: Record<Profile, { topCalls: number; orderCalls: number }> = {
  full: { topCalls: 1000, orderCalls: 300 },
  quick: { topCalls: 150, orderCalls: 50 },
  tiny: { topCalls: 20, orderCalls: 5 },
};

export async function run(ctx: SuiteContext): Promise<BenchOutput> {
  if (!ctx.offline) throw new Error('http-overhead needs the suite’s serverless-offline');
  const o = PROFILES[ctx.profile];
  Object.assign(process.env, ctx.functionEnv);
  console.log(`leaderboard: ${await ensureLeaderboard(ctx.functionEnv, ctx.dataset.directUrl)}`);
  const getTopProducts = (await import('../functions/getTopProducts.js')).handler as unknown as Handler;
  const createOrder = (await import('../functions/createOrder.js')).handler as unknown as Handler;
  const { closeSql } = await import('../shared/clients/postgres.js');
  const bearer = tokenSigner(ctx.functionEnv);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const base = ctx.offline.httpUrl;

  // (c) bare node:http serving the cached answer's bytes.
  const hit = await request(agent, `${base}/products/top?limit=10`);
  if (hit.status !== 200) throw new Error(`GET /products/top answered ${hit.status}: ${hit.body.slice(0, 200)}`);
  const bare = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'x-cache': 'HIT' }).end(hit.body));
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const bareUrl = `http://127.0.0.1:${(bare.address() as { port: number }).port}/products/top?limit=10`;
  const bareAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  const statuses: Record<string, number> = {};
  const count = (key: string) => void (statuses[key] = (statuses[key] ?? 0) + 1);
  const topEvent = () => httpEvent({ method: 'GET', path: '/products/top', query: { limit: '10' } });
  // Hits only: a call that refreshed the snapshot (every freshMs) is tallied but not timed (false).
  const top = [
    async () => {
      const r = await getTopProducts(topEvent(), lambdaContext('getTopProducts'));
      count(`in-process ${r.statusCode} ${String(r.headers?.['X-Cache'])}`);
      return r.headers?.['X-Cache'] === 'HIT' ? undefined : false;
    },
    async () => {
      const r = await request(agent, `${base}/products/top?limit=10`);
      count(`offline ${r.status} ${String(r.headers['x-cache'])}`);
      return r.headers['x-cache'] === 'HIT' ? undefined : false;
    },
    () => request(bareAgent, bareUrl),
    async () => count(`offline floor ${(await request(agent, `${base}/products/top?limit=0`)).status}`),
  ];
  try {
    // POST /orders: products with plenty of stock, random customers.
    const sql = postgres(ctx.dataset.directUrl, { max: 1, onnotice: () => {} });
    const products = (
      await sql<Array<{ id: number }>>`select product_id as id from products where stock_quantity >= 200 order by product_id limit 200`
    ).map((p) => p.id);
    const [{ customers }] = await sql<[{ customers: number }]>`select count(*)::int as customers from customers`;
    await sql.end();
    if (products.length < 3) throw new Error('http-overhead: the data set has fewer than 3 products with stock ≥ 200');
    // Orders and their tokens made before the timed calls: signing is not what is measured.
    const queue = await Promise.all(
      Array.from({ length: 2 * (o.orderCalls + 10) }, async () => {
        const start = Math.floor(Math.random() * (products.length - 2));
        const items = products.slice(start, start + 2).map((productId) => ({ productId, quantity: 1 }));
        const body = { customerId: 1 + Math.floor(Math.random() * customers), items };
        return { body, authorization: await bearer(body.customerId) };
      }),
    );
    const orders = [
      async () => {
        const { body, authorization } = queue.pop()!;
        count(
          `in-process ${(await createOrder(httpEvent({ method: 'POST', path: '/orders', body, authorization }), lambdaContext('createOrder'))).statusCode}`,
        );
      },
      async () => {
        const { body, authorization } = queue.pop()!;
        const headers = { 'content-type': 'application/json', authorization };
        count(`offline ${(await request(agent, `${base}/orders`, { method: 'POST', headers, body: JSON.stringify(body) })).status}`);
      },
    ];
    // Warm: serverless-offline's workers, the pools, the JIT; then only the measured calls count.
    await interleave(30, top);
    await interleave(10, orders);
    for (const key of Object.keys(statuses)) delete statuses[key];
    const [inProcess, offline, bareHttp, offlineFloor] = (await interleave(o.topCalls, top)).map((s) => summarize(s));
    const [orderInProcess, orderOffline] = (await interleave(o.orderCalls, orders)).map((s) => summarize(s));
    const stats = {
      inProcess: inProcess!,
      offline: offline!,
      bare: bareHttp!,
      offlineFloor: offlineFloor!,
      orderInProcess: orderInProcess!,
      orderOffline: orderOffline!,
    };
    return {
      metrics: [
        metric('http-overhead', {
          metric: 'GET /products/top hit: via serverless-offline vs handler in process, p50',
          ours: stats.offline.p50,
          reference: stats.inProcess.p50,
          unit: 'ms',
        }),
        metric('http-overhead', {
          metric: 'serverless-offline floor (400, no I/O) vs bare node:http, p50',
          ours: stats.offlineFloor.p50,
          reference: stats.bare.p50,
          unit: 'ms',
        }),
        metric('http-overhead', {
          metric: 'POST /orders: via serverless-offline vs handler in process, p50',
          ours: stats.orderOffline.p50,
          reference: stats.orderInProcess.p50,
          unit: 'ms',
        }),
      ],
      details: { options: o, stats, statuses, pooled: ctx.pooled },
    };
  } finally {
    agent.destroy();
    bareAgent.destroy();
    bare.close();
    await closeSql();
  }
}
