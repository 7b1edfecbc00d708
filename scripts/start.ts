/**
 * npm start — the whole pipeline on this machine:
 * services up (docker compose or native) → migrate → seed a small data set → serverless-offline →
 * drive the four functions end to end → print a summary → keep serving until Ctrl-C, then stop what
 * this command started.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { localEnv } from './lib/env.js';
import { startOffline, type Offline } from './lib/offline.js';
import { servicesDown, servicesUp } from './services.js';
import { signLocalToken } from '../shared/auth/tokens.js';
import { parseConfig } from '../shared/config.js';
import { migrate } from '../shared/db/migrate.js';
import { seed } from './db/seed.js';
import { headlineTable } from './report/model.js';
import { terminalTable } from './report/text.js';

const env = localEnv({ STAGE: 'dev' });
const databaseUrl = env.DATABASE_URL!;
const step = (text: string) => console.log(`\n▸ ${text}`);

let offline: Offline | undefined;
let started: Awaited<ReturnType<typeof servicesUp>> = [];
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log('\nstopping…');
    await offline?.stop();
    if (started.length > 0) await servicesDown(started);
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

/** Local HS256 token for a customer (what `npm run --silent token -- --sub <id>` prints). */
const tokenFor = (customerId: number) => signLocalToken(parseConfig(env).auth, { sub: String(customerId) });

async function call(method: string, path: string, body?: unknown, customerId?: number) {
  const response = await fetch(`${offline!.httpUrl}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(customerId === undefined ? {} : { Authorization: `Bearer ${await tokenFor(customerId)}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

async function main(): Promise<void> {
  step('services');
  started = await servicesUp({ log: (line) => console.log(`  ${line}`) });

  step('database');
  const { applied } = await migrate(databaseUrl);
  console.log(`  migrations: ${applied.length ? applied.join(', ') : 'up to date'}`);
  const summary = await seed(databaseUrl, { customers: 1_000, products: 200, orders: 5_000, seed: 42, reset: true });
  console.log(`  seeded ${Object.entries(summary.rows).map(([t, n]) => `${n} ${t}`).join(', ')} in ${summary.elapsedMs} ms`);

  step('serverless-offline');
  offline = await startOffline(env);
  console.log(`  HTTP ${offline.httpUrl}   Lambda API ${offline.lambdaEndpoint}`);

  step('createOrder  POST /orders');
  const orders = [
    { customerId: 1, items: [{ productId: 1, quantity: 1 }, { productId: 2, quantity: 2 }] },
    { customerId: 2, items: [{ productId: 3, quantity: 1 }] },
    { customerId: 3, items: [{ productId: 1, quantity: 100_000 }] },
  ];
  for (const order of orders) {
    const response = await call('POST', '/orders', order, order.customerId);
    const detail =
      response.status === 201
        ? `order ${response.json.orderId}, total ${response.json.totalAmount}`
        : `${response.json.error.code}: ${response.json.error.message}`;
    console.log(`  ${response.status}  customer ${order.customerId}: ${detail}`);
  }

  step('getTopProducts  GET /products/top?limit=5');
  for (let i = 0; i < 2; i++) {
    const response = await call('GET', '/products/top?limit=5');
    console.log(`  ${response.status}  X-Cache: ${response.headers.get('x-cache')}`);
    if (i === 0) {
      for (const p of response.json.products) {
        console.log(`     #${p.productId} ${p.name.padEnd(32)} ${String(p.unitsSold).padStart(6)} sold  ${p.revenue}`);
      }
    }
  }

  step('saveCart / getCart  PUT, GET /carts/42');
  const cart = { items: [{ productId: 7, quantity: 2, attributes: { size: 'M', giftWrap: true } }], note: 'birthday' };
  const saved = await call('PUT', '/carts/42', cart, 42);
  console.log(`  ${saved.status}  saved version ${saved.json.version}, expires ${saved.json.expiresAt}`);
  const read = await call('GET', '/carts/42', undefined, 42);
  console.log(`  ${read.status}  ${JSON.stringify(read.json.items)}`);
  const stranger = await call('GET', '/carts/42', undefined, 7);
  console.log(`  ${stranger.status}  customer 7 reading customer 42's cart: ${stranger.json.error.code}`);

  step('runBenchmarks  (Lambda API, @aws-sdk/client-lambda)');
  const lambda = new LambdaClient({
    endpoint: offline.lambdaEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const invoked = await lambda.send(
    new InvokeCommand({
      FunctionName: 'ecommerce-pipeline-dev-runBenchmarks',
      Payload: Buffer.from(JSON.stringify({ scale: 'small' })),
    }),
  );
  const run = JSON.parse(Buffer.from(invoked.Payload ?? []).toString() || 'null');
  if (invoked.FunctionError) {
    console.log(`  error: ${run?.errorMessage ?? JSON.stringify(run)}`);
  } else {
    console.log(`  run ${run.runId} ${run.status} in ${(run.durationMs / 1000).toFixed(1)} s (full report: npm run report)`);
    console.log(terminalTable(headlineTable(run)).replace(/^/gm, '  '));
  }

  console.log(`\n✔ pipeline running — try:  curl ${offline.httpUrl}/products/top   (Ctrl-C to stop)`);
}

main().catch(async (error: unknown) => {
  console.error(`\nerror: ${error instanceof Error ? error.message : String(error)}`);
  await shutdown(1);
});
