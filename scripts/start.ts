/**
 * npm start [-- --reset]
 *
 * The whole pipeline on this machine: services up (docker compose or native) → migrate → seed a small
 * data set into an empty database (your data is kept otherwise; --reset replaces it) → serverless-offline →
 * a tour of the functions → then one line per request and every warning or error, until Ctrl-C, which
 * stops serverless-offline and every service this command started.
 */

import { signLocalToken } from '../shared/auth/tokens.js';
import { parseConfig } from '../shared/config.js';
import { migrate } from '../shared/db/migrate.js';
import { DEFAULT_COUNTS, SAMPLE_SHOP_SEED, seed } from './db/seed.js';
import { invoke } from './invoke.js';
import { localEnv, parseCommandLine } from './lib/env.js';
import { offlineLogPrinter } from './lib/offline-log.js';
import { stopStartingDaemons } from './lib/process.js';
import { assertPortsFree, type Offline, startOffline } from './lib/sls.js';
import { runTable as headlineTable } from './report/run.js';
import { renderTable as terminalTable } from './report/table.js';
import { type Started, servicesDown, servicesUp } from './services.js';

const { values: flags } = parseCommandLine('usage: npm start [-- --reset]', { options: { reset: { type: 'boolean', default: false } } });
const env = localEnv({ STAGE: 'dev' });
const ports = { httpPort: Number(env.OFFLINE_HTTP_PORT ?? 3000), lambdaPort: Number(env.OFFLINE_LAMBDA_PORT ?? 3002) };
const step = (text: string) => console.log(`\n▸ ${text}`);
const colour = process.stdout.isTTY === true;

let offline: Offline | undefined;
// Set once serverless-offline is spawned, before it is ready: a signal during its start-up stops it too.
let stopOffline: (() => Promise<void>) | undefined;
const started: Started[] = [];
let touring = true;
let stopping = false;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  // Whatever happens below, this process is gone within 10 s.
  setTimeout(() => process.exit(code), 9_000).unref();
  try {
    await stopOffline?.();
    await stopStartingDaemons();
    if (started.length > 0) await servicesDown(started);
  } finally {
    process.exit(code);
  }
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

/** A local token for a customer, or an admin: what `npm run --silent token -- --sub <id>` prints. */
const tokenFor = (sub: number | 'ops') =>
  signLocalToken(parseConfig(env).auth, sub === 'ops' ? { sub, admin: true } : { sub: String(sub) });

async function call(method: string, path: string, options: { body?: unknown; as?: number | 'ops'; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${offline!.httpUrl}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(options.as === undefined ? {} : { Authorization: `Bearer ${await tokenFor(options.as)}` }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : undefined;
  const outcome = response.status >= 400 ? `${json.error.code}: ${json.error.message}` : '';
  return {
    status: response.status,
    headers: response.headers,
    json,
    line: (what: string) => console.log(`  ${response.status}  ${what || outcome}`),
  };
}

/** How the tour says that an answer is the replay of an earlier run's (its Idempotency-Key). */
const replayed = (answer: { headers: Headers }) =>
  answer.headers.get('idempotent-replayed') === 'true' ? ' (replayed: an earlier run used this Idempotency-Key)' : '';

async function tour(): Promise<void> {
  // The tour's orders carry Idempotency-Keys of their own: a restart replays them instead of selling the
  // sample shop's stock away run after run (the README's examples order the same products).
  step('createOrder  POST /orders  (one PostgreSQL statement; stock never oversold)');
  const order = await call('POST', '/orders', {
    as: 1,
    headers: { 'Idempotency-Key': 'npm-start-tour-order' },
    body: {
      customerId: 1,
      items: [
        { productId: 1, quantity: 1 },
        { productId: 2, quantity: 2 },
      ],
    },
  });
  order.line(order.status === 201 ? `customer 1: order ${order.json.orderId}, total ${order.json.totalAmount}${replayed(order)}` : '');
  const greedy = await call('POST', '/orders', { as: 3, body: { customerId: 3, items: [{ productId: 1, quantity: 1000 }] } });
  greedy.line(
    greedy.status === 409
      ? `customer 3 asks for 1000 of product 1: ${greedy.json.error.code} (available ${greedy.json.error.details.products[0].available})`
      : '',
  );

  step('getTopProducts  GET /products/top?limit=5  (Redis through Upstash REST, PostgreSQL behind it)');
  for (let i = 0; i < 2; i++) {
    const top = await call('GET', '/products/top?limit=5');
    top.line(`X-Cache: ${top.headers.get('x-cache')}`);
    if (i === 0)
      for (const p of top.json.products)
        console.log(`       #${String(p.productId).padEnd(4)} ${p.name.padEnd(32)} ${String(p.unitsSold).padStart(6)} sold  ${p.revenue}`);
  }

  step('listProducts  GET /products?attr.colour=red&attr.size=M&inStock=true  (JSONB attributes, GIN index)');
  const catalog = await call('GET', '/products?attr.colour=red&attr.size=M&inStock=true&limit=3');
  catalog.line(`first ${catalog.json.products.length} red products in size M, next page: ${catalog.json.nextCursor ? 'cursor' : 'none'}`);
  for (const p of catalog.json.products)
    console.log(`       #${String(p.productId).padEnd(4)} ${p.name.padEnd(32)} ${p.price.padStart(8)}  ${p.stockQuantity} in stock`);

  step('listCustomerOrders  GET /customers/1/orders?limit=3  (B-tree on customer_id, order_date; newest first)');
  const history = await call('GET', '/customers/1/orders?limit=3', { as: 1 });
  history.line(`customer 1's latest orders, newest first`);
  for (const o of history.json.orders)
    console.log(`       order ${String(o.orderId).padEnd(6)} ${o.orderDate}  ${o.totalAmount.padStart(9)}  ${o.items.length} line(s)`);

  step('saveCart / getCart / checkoutCart  /carts/42  (MongoDB documents, versioned)');
  const saved = await call('PUT', '/carts/42', {
    as: 42,
    body: { items: [{ productId: 7, quantity: 2, attributes: { size: 'M', giftWrap: true } }], note: 'birthday' },
  });
  saved.line(`saved version ${saved.json.version}, ETag ${saved.headers.get('etag')}, expires ${saved.json.expiresAt}`);
  const read = await call('GET', '/carts/42', { as: 42 });
  read.line(JSON.stringify(read.json.items));
  const stranger = await call('GET', '/carts/42', { as: 7 });
  stranger.line(`customer 7 reading customer 42's cart: ${stranger.json.error.code}`);
  const checkout = await call('POST', '/carts/42/checkout', { as: 42, headers: { 'Idempotency-Key': 'npm-start-tour-checkout' } });
  checkout.line(
    checkout.status === 201
      ? `order ${checkout.json.orderId} from the cart, Cart-Emptied: ${checkout.headers.get('cart-emptied')}${replayed(checkout)}`
      : '',
  );
  if (replayed(checkout)) {
    // The replay ordered nothing: the cart saved above would stay, with its items, for the cart's lifetime.
    const cleared = await call('DELETE', '/carts/42', { as: 42, headers: { 'If-Match': saved.headers.get('etag') ?? '*' } });
    cleared.line(cleared.status === 204 ? 'the cart saved above deleted (the checkout was a replay)' : '');
  }

  step('runBenchmarks  (Lambda API, @aws-sdk/client-lambda)');
  const target = { kind: 'endpoint', endpoint: offline!.lambdaEndpoint, region: 'us-east-1' } as const;
  const { functionError, payload: run } = await invoke(target, 'ecommerce-pipeline-dev-runBenchmarks', { scale: 'small' });
  if (functionError) {
    console.log(`  error: ${run?.errorMessage ?? JSON.stringify(run)}`);
  } else {
    console.log(`  run ${run.runId} ${run.status} in ${(run.durationMs / 1000).toFixed(1)} s (full report: npm run report)`);
    console.log(terminalTable(headlineTable(run)).replace(/^/gm, '  '));
  }
}

async function main(): Promise<void> {
  // Before minutes of services, migrations and seeding: serverless-offline's ports must be free.
  await assertPortsFree(
    [ports.httpPort, ports.lambdaPort],
    'another serverless-offline, or another program: stop it, or set OFFLINE_HTTP_PORT / OFFLINE_LAMBDA_PORT in .env',
  );
  step('services');
  await servicesUp({ log: (line) => console.log(`  ${line}`), onStarted: (entry) => started.push(entry), user: 'npm start' });

  step('database');
  const { applied } = await migrate(env.DATABASE_URL!);
  console.log(`  migrations: ${applied.length ? applied.join(', ') : 'up to date'}`);
  const summary = await seed(env.DATABASE_URL!, {
    ...DEFAULT_COUNTS,
    seed: SAMPLE_SHOP_SEED,
    ...(flags.reset ? { reset: true } : { ifEmpty: true }),
  });
  const rows = Object.entries(summary.rows).map(([table, n]) => `${n} ${table}`);
  if (summary.skipped)
    console.log('  your data is kept (the database was not empty); npm start -- --reset replaces it with the sample data');
  else console.log(`  seeded ${rows.join(', ')} in ${summary.elapsedMs} ms`);

  step('serverless-offline');
  const print = offlineLogPrinter((line) => console.log(line), colour);
  offline = await startOffline(env, {
    ...ports,
    onOutput: (chunk) => (touring ? undefined : print(chunk)),
    onSpawn: (stop) => {
      stopOffline = stop;
      // A signal that came before the spawn found nothing to stop here.
      if (stopping) void stop();
    },
  });
  console.log(`  HTTP ${offline.httpUrl}   Lambda API ${offline.lambdaEndpoint}`);

  await tour();
  touring = false;
  const base = offline.httpUrl;
  console.log(`
✔ pipeline running on ${base} (Ctrl-C stops it and the services it started). Try:
    curl -s ${base}/products/top?limit=3
    TOKEN=$(npm run --silent token -- --sub 1)
    curl -s -X POST ${base}/orders -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
         -d '{"customerId": 1, "items": [{"productId": 2, "quantity": 1}]}'
  More in README.md and requests.http. Requests and warnings show below.

  Web console: ${base}/console  (sign in as any customer or as an admin; the shop and the dashboard)
`);
}

main().catch(async (error: unknown) => {
  console.error(`\nerror: ${error instanceof Error ? error.message : String(error)}`);
  await shutdown(1);
});
