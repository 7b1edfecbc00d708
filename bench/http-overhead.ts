/**
 * What HTTP through serverless-offline adds to a request, in one run, called one at a time and
 * interleaved request by request (so machine noise hits every path alike):
 *
 *   GET /products/top?limit=10 (a cache hit)
 *     (a) the handler in process (functions/getTopProducts.ts, synthetic API Gateway event);
 *     (b) over HTTP through the suite's serverless-offline;
 *     (c) the floor of an HTTP round trip here: a bare node:http server answering the same bytes;
 *     (d) serverless-offline's own floor: a 400 from validation (no I/O at all);
 *   POST /orders (a bearer token for the order's customer; functions reach Postgres as the suite's
 *   serverless-offline does — through PgBouncer when it runs)
 *     (e) the handler in process vs (f) over HTTP.
 *
 * serverless-offline is a local emulator: per request it runs the handler in a worker thread and passes
 * the event and the answer between threads; API Gateway in the cloud adds its own (different) latency.
 * So these rows have no goal: they say how much of a local HTTP number is the emulator.
 */
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { type Handler, httpEvent, lambdaContext } from '../scripts/lib/lambda-events.js';
import type { Profile, SuiteContext } from './lib/context.js';
import { ensureLeaderboard } from './lib/leaderboard.js';
import { type BenchOutput, metric } from './lib/result.js';
import { type Stats, stats } from './lib/stats.js';
import { formatTable } from './lib/table.js';
import { tokenSigner } from './lib/tokens.js';

const SUITE_OPTIONS: Record<Profile, { topCalls: number; orderCalls: number }> = {
  full: { topCalls: 1000, orderCalls: 300 },
  quick: { topCalls: 150, orderCalls: 50 },
  tiny: { topCalls: 20, orderCalls: 5 },
};

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  agent: http.Agent,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent, headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function timed<T>(into: number[], fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const value = await fn();
  into.push(performance.now() - t0);
  return value;
}

export async function run(ctx: SuiteContext): Promise<BenchOutput> {
  if (!ctx.offline) throw new Error('http-overhead needs the suite’s serverless-offline');
  const o = SUITE_OPTIONS[ctx.profile];
  Object.assign(process.env, ctx.functionEnv);
  console.log(`leaderboard: ${await ensureLeaderboard(ctx.functionEnv, ctx.dataset.directUrl)}`);
  const getTopProducts = (await import('../functions/getTopProducts.js')).handler as unknown as Handler;
  const createOrderHandler = (await import('../functions/createOrder.js')).handler as unknown as Handler;
  const { closeSql } = await import('../shared/clients/postgres.js');
  const bearer = tokenSigner(ctx.functionEnv);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const base = ctx.offline.httpUrl;

  // (c) bare node:http serving the cached answer's bytes.
  const hit = await request(agent, `${base}/products/top?limit=10`);
  if (hit.status !== 200) throw new Error(`GET /products/top answered ${hit.status}: ${hit.body.slice(0, 200)}`);
  const bare = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-cache': 'HIT' });
    res.end(hit.body);
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const bareUrl = `http://127.0.0.1:${(bare.address() as { port: number }).port}/products/top?limit=10`;
  const bareAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  const topEvent = () => httpEvent({ method: 'GET', path: '/products/top', query: { limit: '10' } });
  const paths = { inProcess: [] as number[], offline: [] as number[], bare: [] as number[], offlineFloor: [] as number[] };
  const statuses: Record<string, number> = {};
  const count = (key: string) => void (statuses[key] = (statuses[key] ?? 0) + 1);
  const steps = [
    async () => {
      const r = await timed(paths.inProcess, () => getTopProducts(topEvent(), lambdaContext('getTopProducts')));
      count(`in-process ${r.statusCode} ${String(r.headers?.['X-Cache'])}`);
    },
    async () => {
      const r = await timed(paths.offline, () => request(agent, `${base}/products/top?limit=10`));
      count(`offline ${r.status} ${String(r.headers['x-cache'])}`);
    },
    async () => void (await timed(paths.bare, () => request(bareAgent, bareUrl))),
    async () => {
      const r = await timed(paths.offlineFloor, () => request(agent, `${base}/products/top?limit=0`));
      count(`offline floor ${r.status}`);
    },
  ];
  try {
    for (let i = 0; i < 30; i++) for (const step of steps) await step(); // warm: workers, pools, JIT
    for (const key of Object.keys(paths)) paths[key as keyof typeof paths].length = 0;
    for (const key of Object.keys(statuses)) delete statuses[key];
    for (let i = 0; i < o.topCalls; i++) {
      const order = i % 2 === 0 ? steps : [...steps].reverse();
      for (const step of order) await step();
    }

    // POST /orders: products with plenty of stock, random customers.
    const sql = postgres(ctx.dataset.directUrl, { max: 1, onnotice: () => {} });
    const products = (
      await sql<Array<{ id: number }>>`select product_id as id from products where stock_quantity >= 200 order by product_id limit 200`
    ).map((p) => p.id);
    const [counted] = await sql<Array<{ customers: number }>>`select count(*)::int as customers from customers`;
    const customers = counted!.customers;
    await sql.end();
    if (products.length < 3) throw new Error('http-overhead: the data set has fewer than 3 products with stock ≥ 200');
    const randomOrder = () => {
      const customerId = 1 + Math.floor(Math.random() * customers);
      const start = Math.floor(Math.random() * (products.length - 2));
      return { customerId, items: products.slice(start, start + 2).map((productId) => ({ productId, quantity: 1 })) };
    };
    const orders = { inProcess: [] as number[], offline: [] as number[] };
    const orderStatuses: Record<string, number> = {};
    const orderSteps = [
      async (record: boolean) => {
        const body = randomOrder();
        const authorization = await bearer(body.customerId);
        const r = await timed(record ? orders.inProcess : [], () =>
          createOrderHandler(httpEvent({ method: 'POST', path: '/orders', body, authorization }), lambdaContext('createOrder')),
        );
        orderStatuses[`in-process ${r.statusCode}`] = (orderStatuses[`in-process ${r.statusCode}`] ?? 0) + 1;
      },
      async (record: boolean) => {
        const body = randomOrder();
        const headers = { 'content-type': 'application/json', authorization: await bearer(body.customerId) };
        const r = await timed(record ? orders.offline : [], () =>
          request(agent, `${base}/orders`, { method: 'POST', headers, body: JSON.stringify(body) }),
        );
        orderStatuses[`offline ${r.status}`] = (orderStatuses[`offline ${r.status}`] ?? 0) + 1;
      },
    ];
    for (let i = 0; i < 10; i++) for (const step of orderSteps) await step(false);
    for (let i = 0; i < o.orderCalls; i++) {
      const order = i % 2 === 0 ? orderSteps : [...orderSteps].reverse();
      for (const step of order) await step(true);
    }

    const s = {
      inProcess: stats(paths.inProcess),
      offline: stats(paths.offline),
      bare: stats(paths.bare),
      offlineFloor: stats(paths.offlineFloor),
      orderInProcess: stats(orders.inProcess),
      orderOffline: stats(orders.offline),
    };
    const row = (name: string, st: Stats) => [name, st.p50.toFixed(2), st.p95.toFixed(2), st.p99.toFixed(2), String(st.n)];
    console.log(`\none request at a time, interleaved (ms)`);
    console.log(
      formatTable(
        ['path', 'p50', 'p95', 'p99', 'n'],
        [
          row('(a) GET /products/top hit, handler in process', s.inProcess),
          row('(b) GET /products/top hit, HTTP via serverless-offline', s.offline),
          row('(c) bare node:http, same bytes', s.bare),
          row('(d) serverless-offline floor: 400 from validation', s.offlineFloor),
          row('(e) POST /orders, handler in process', s.orderInProcess),
          row('(f) POST /orders, HTTP via serverless-offline', s.orderOffline),
        ],
      ),
    );
    console.log(`statuses: ${JSON.stringify({ ...statuses, ...orderStatuses })}`);
    return {
      metrics: [
        metric('http-overhead', {
          metric: 'GET /products/top hit: via serverless-offline vs handler in process, p50',
          ours: s.offline.p50,
          reference: s.inProcess.p50,
          unit: 'ms',
        }),
        metric('http-overhead', {
          metric: 'serverless-offline floor (400, no I/O) vs bare node:http, p50',
          ours: s.offlineFloor.p50,
          reference: s.bare.p50,
          unit: 'ms',
        }),
        metric('http-overhead', {
          metric: 'POST /orders: via serverless-offline vs handler in process, p50',
          ours: s.orderOffline.p50,
          reference: s.orderInProcess.p50,
          unit: 'ms',
        }),
      ],
      details: { options: o, stats: s, statuses: { ...statuses, ...orderStatuses }, pooled: ctx.pooled },
    };
  } finally {
    agent.destroy();
    bareAgent.destroy();
    bare.close();
    await closeSql();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.error(
    'bench/http-overhead.ts runs inside the suite (it needs its serverless-offline): npm run bench -- --only http-overhead [--quick]',
  );
  process.exit(2);
}
