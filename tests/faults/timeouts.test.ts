import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BENCHMARK_LOCK_ID } from '../../shared/benchmarks/run-benchmarks.js';
import { TINY_SIZES } from '../benchmarks/helpers.js';
import { bearerFor } from '../helpers/auth.js';
import { canCreateRoles, type Fixtures, insertFixtures, resetShop, temporaryRole, testSql } from '../helpers/db.js';
import { httpEvent, lambdaContext } from '../helpers/lambda.js';
import { type FrozenPostgres, openFreezingPostgres } from './helpers.js';

/**
 * Every external call has a timeout: each store is replaced by a "black hole" — a TCP server that accepts
 * connections and never answers (a hung server, a dropped route), the failure that a refused connection
 * does not exercise. Each handler must answer within its dependency's bound, never hang to the Lambda
 * timeout; and if something still hangs, the stack answers 503 TIMEOUT before the Lambda timeout.
 */
const sql = testSql();
let fx: Fixtures;

interface BlackHole {
  url: (scheme: string, path?: string) => string;
  /** Connections accepted so far. */
  connections: () => number;
  /** Connections open right now. */
  open: () => number;
  close: () => Promise<void>;
}

async function blackHole(): Promise<BlackHole> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    // Read (and drop) what arrives, so that a client closing its end is seen as closed.
    socket.resume();
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (scheme, path = '') => `${scheme}://127.0.0.1:${port}${path}`,
    connections: () => accepted,
    open: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** freezingPostgres, closed after the test. */
async function freezingPostgres(): Promise<FrozenPostgres> {
  const proxy = await openFreezingPostgres();
  cleanups.push(proxy.close);
  return proxy;
}

/**
 * An HTTP endpoint that reads each request whole, records its body, and drops the connection without an
 * answer: the request may have been applied, the client cannot know.
 */
async function droppingEndpoint(): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = net.createServer((socket) => {
    let received = '';
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      const headerEnd = received.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(received.slice(0, headerEnd))?.[1] ?? 0);
      const body = received.slice(headerEnd + 4);
      if (Buffer.byteLength(body) < length) return;
      bodies.push(body);
      received = '';
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

const holes: BlackHole[] = [];
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  await resetShop(sql);
  fx = await insertFixtures(sql, { customers: 1, products: 2, stock: 100 });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {});
  vi.unstubAllEnvs();
  vi.resetModules();
});

afterAll(async () => {
  for (const hole of holes) await hole.close();
  await sql.end();
});

/** Fresh handler modules (and configuration) for an environment where some stores are black holes. */
async function handlersWith(env: Record<string, string>) {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const modules = {
    createOrder: (await import('../../functions/createOrder.js')).handler,
    getCart: (await import('../../functions/getCart.js')).handler,
    getTopProducts: (await import('../../functions/getTopProducts.js')).handler,
    getHealth: (await import('../../functions/getHealth.js')).handler,
  };
  const { closeSql } = await import('../../shared/clients/postgres.js');
  const { closeMongo } = await import('../../shared/clients/mongo.js');
  cleanups.push(
    () => closeSql(),
    () => closeMongo(),
  );
  return modules;
}

async function newHole(): Promise<BlackHole> {
  const hole = await blackHole();
  holes.push(hole);
  return hole;
}

async function timed<T>(action: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await action();
  return { result, ms: performance.now() - started };
}

const orderEvent = async () =>
  httpEvent({
    method: 'POST',
    path: '/orders',
    body: { customerId: fx.customerIds[0], items: [{ productId: fx.productIds[0], quantity: 1 }] },
    authorization: await bearerFor(fx.customerIds[0]!),
  });
const cartEvent = async () =>
  httpEvent({
    method: 'GET',
    path: `/carts/${fx.customerIds[0]}`,
    pathParameters: { customerId: String(fx.customerIds[0]) },
    authorization: await bearerFor(fx.customerIds[0]!),
  });
const topEvent = () => httpEvent({ method: 'GET', path: '/products/top', query: { limit: '3' }, authorization: null });
const body = (response: { body?: string }) => JSON.parse(String(response.body));

/** createOrder's Lambda context with only `ms` left before the Lambda timeout (from now). */
function contextWithRemaining(ms: number) {
  const deadline = Date.now() + ms;
  return { ...lambdaContext('createOrder'), getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
}

describe('a hung dependency is bounded by its timeout', () => {
  it('PostgreSQL: 503 DATABASE_UNAVAILABLE after the connect timeout (1 s here), not the Lambda timeout', async () => {
    const hole = await newHole();
    const { createOrder } = await handlersWith({
      DATABASE_URL: hole.url('postgres', '/shop_test').replace('://', '://postgres@'),
      DATABASE_CONNECT_TIMEOUT_SECONDS: '1',
    });
    const { result, ms } = await timed(async () => createOrder(await orderEvent(), lambdaContext('createOrder')));
    expect(result.statusCode, String(result.body)).toBe(503);
    expect(body(result).error.code).toBe('DATABASE_UNAVAILABLE');
    expect(result.headers?.['Retry-After']).toBeDefined();
    expect(hole.connections()).toBeGreaterThan(0);
    console.info(`[postgres black hole] 503 after ${Math.round(ms)} ms (connect timeout 1 s)`);
    expect(ms).toBeGreaterThanOrEqual(900);
    // The connect timeout, twice (a failure before sending is retried once), with room for a loaded box: still
    // far from the default 2 × 3 s and the Lambda timeout.
    expect(ms).toBeLessThan(3_500);
  });

  it('PostgreSQL: no second attempt that could not end before the backstop, so the 503 says the order was not placed', async () => {
    // 2 s to connect, 5 s per statement, 4.5 s left (the backstop answers at 3.5 s). A second attempt after
    // the first connect timeout could still be running its statement when the backstop answers 503 TIMEOUT,
    // and commit after: a client retrying without an Idempotency-Key would order twice.
    const hole = await newHole();
    const { createOrder } = await handlersWith({
      DATABASE_URL: hole.url('postgres', '/shop_test').replace('://', '://postgres@'),
      DATABASE_CONNECT_TIMEOUT_SECONDS: '2',
      DATABASE_STATEMENT_TIMEOUT_MS: '5000',
    });
    const { result, ms } = await timed(async () => createOrder(await orderEvent(), contextWithRemaining(4_500)));
    expect(result.statusCode, String(result.body)).toBe(503);
    expect(body(result).error.code).toBe('DATABASE_UNAVAILABLE');
    expect(hole.connections()).toBe(1);
    expect(ms).toBeLessThan(3_400);
  });

  it('MongoDB: 503 CART_STORE_UNAVAILABLE within the driver timeouts (MONGODB_TIMEOUT_MS=1000)', async () => {
    const hole = await newHole();
    const { getCart } = await handlersWith({ MONGODB_URI: hole.url('mongodb'), MONGODB_TIMEOUT_MS: '1000' });
    const { result, ms } = await timed(async () => getCart(await cartEvent(), lambdaContext('getCart')));
    expect(result.statusCode, String(result.body)).toBe(503);
    expect(body(result).error.code).toBe('CART_STORE_UNAVAILABLE');
    expect(result.headers?.['Retry-After']).toBeDefined();
    console.info(`[mongo black hole] 503 after ${Math.round(ms)} ms (timeout 1 s)`);
    expect(ms).toBeLessThan(3_500);
  });

  it('Redis REST: top products BYPASS after the cache timeout, and orders are placed', async () => {
    const hole = await newHole();
    const { getTopProducts, createOrder } = await handlersWith({
      UPSTASH_REDIS_REST_URL: hole.url('http'),
      CACHE_NAMESPACE: 'ecommerce-pipeline:test-faults-timeouts',
    });
    const topAnswer = await timed(() => getTopProducts(topEvent(), lambdaContext('getTopProducts')));
    expect(topAnswer.result.statusCode).toBe(200);
    expect(topAnswer.result.headers?.['X-Cache']).toBe('BYPASS');
    expect(hole.connections()).toBeGreaterThan(0);
    expect(topAnswer.ms).toBeLessThan(1_000);
    const ordered = await timed(async () => createOrder(await orderEvent(), lambdaContext('createOrder')));
    expect(ordered.result.statusCode).toBe(201);
    expect(ordered.ms).toBeLessThan(1_000);
    console.info(`[redis black hole] top products BYPASS in ${Math.round(topAnswer.ms)} ms, order 201 in ${Math.round(ordered.ms)} ms`);
  });

  it('Redis REST: a request whose connection dropped before the answer is not sent again (a sale counts once)', async () => {
    const endpoint = await droppingEndpoint();
    const { createOrder } = await handlersWith({
      UPSTASH_REDIS_REST_URL: endpoint.url,
      CACHE_NAMESPACE: 'ecommerce-pipeline:test-faults-dropped',
    });
    const ordered = await createOrder(await orderEvent(), lambdaContext('createOrder'));
    expect(ordered.statusCode).toBe(201);
    expect(endpoint.bodies.length).toBeGreaterThan(0);
    expect(new Set(endpoint.bodies).size, endpoint.bodies.join('\n')).toBe(endpoint.bodies.length);
  });

  it('the backstop: whatever still hangs is answered 503 TIMEOUT before the Lambda timeout', async () => {
    const hole = await newHole();
    // A connect timeout longer than the function's remaining time: only the backstop can answer.
    const { createOrder } = await handlersWith({
      DATABASE_URL: hole.url('postgres', '/shop_test').replace('://', '://postgres@'),
      DATABASE_CONNECT_TIMEOUT_SECONDS: '30',
    });
    const context = contextWithRemaining(2_500);
    const { result, ms } = await timed(async () => createOrder(await orderEvent(), context));
    expect(result.statusCode, String(result.body)).toBe(503);
    expect(body(result).error.code).toBe('TIMEOUT');
    expect(result.headers?.['Retry-After']).toBeDefined();
    console.info(`[backstop] 503 TIMEOUT after ${Math.round(ms)} ms (remaining time 2.5 s, margin 1 s)`);
    expect(ms).toBeGreaterThanOrEqual(1_400);
    expect(ms).toBeLessThan(2_400);
  });

  it('the backstop drops the MongoDB client too: a write still waiting on it is aborted, never to land later', async () => {
    const hole = await newHole();
    // Driver timeouts longer than the function's remaining time: only the backstop can answer.
    const { getCart } = await handlersWith({ MONGODB_URI: hole.url('mongodb'), MONGODB_TIMEOUT_MS: '30000' });
    const { getMongoClient, getMongoDb } = await import('../../shared/clients/mongo.js');
    const before = getMongoClient();
    // A write of the same container still waiting for the server when the invocation times out.
    const write = getMongoDb()
      .collection('backstop_probe')
      .insertOne({ written: true })
      .then(
        () => 'written',
        (error: Error) => error.name,
      );
    const result = await getCart(await cartEvent(), contextWithRemaining(2_500));
    expect(result.statusCode, String(result.body)).toBe(503);
    expect(body(result).error.code).toBe('TIMEOUT');
    const outcome = await Promise.race([write, sleep(3_000).then(() => 'still waiting 3 s after the 503')]);
    expect(outcome).toMatch(/^Mongo\w*Error$/);
    expect(getMongoClient()).not.toBe(before);
  });

  it('what a request answered 503 TIMEOUT left running is logged when it ends, under that request’s correlation id', async () => {
    const proxy = await freezingPostgres();
    const { createOrder } = await handlersWith({ DATABASE_URL: proxy.url, DATABASE_POOL_MAX: '1' });
    const { logger } = await import('../../shared/logger.js');
    const warn = vi.spyOn(logger, 'warn');
    const warm = await createOrder(await orderEvent(), lambdaContext('createOrder'));
    expect(warm.statusCode, String(warm.body)).toBe(201);
    proxy.freeze();
    const event = await orderEvent();
    event.headers = { ...event.headers, 'x-correlation-id': 'abandoned-order-1' };
    const result = await createOrder(event, contextWithRemaining(2_500));
    expect(body(result).error.code).toBe('TIMEOUT');
    // The backstop dropped the pool: the statement left on it fails, and may or may not have committed.
    const ended = () => warn.mock.calls.find(([message]) => String(message).startsWith('abandoned request ended'));
    const deadline = Date.now() + 5_000;
    while (!ended() && Date.now() < deadline) await sleep(50);
    expect(ended()?.[1]).toMatchObject({
      abandonedCorrelationId: 'abandoned-order-1',
      outcome: 'failed',
      error: { code: expect.any(String) },
    });
  });

  it('the backstop covers a connection that freezes mid-conversation (no client-side query timeout can)', async () => {
    const proxy = await freezingPostgres();
    const { createOrder } = await handlersWith({ DATABASE_URL: proxy.url, DATABASE_POOL_MAX: '1' });
    const warm = await createOrder(await orderEvent(), lambdaContext('createOrder'));
    expect(warm.statusCode, String(warm.body)).toBe(201);

    proxy.freeze(); // the pooled connection is established and now silent: no RST, no FIN
    const context = contextWithRemaining(2_500);
    const { result, ms } = await timed(async () => createOrder(await orderEvent(), context));
    expect(result.statusCode, String(result.body)).toBe(503);
    expect(body(result).error.code).toBe('TIMEOUT');
    console.info(`[frozen connection] 503 TIMEOUT after ${Math.round(ms)} ms`);
    expect(ms).toBeLessThan(2_400);
  });

  it('GET /health over a frozen connection reports PostgreSQL down, with the other stores’ checks, instead of timing out', async () => {
    const proxy = await freezingPostgres();
    const { createOrder, getHealth } = await handlersWith({ DATABASE_URL: proxy.url, DATABASE_POOL_MAX: '1' });
    const warm = await createOrder(await orderEvent(), lambdaContext('createOrder'));
    expect(warm.statusCode, String(warm.body)).toBe(201);
    proxy.freeze();
    const { result } = await timed(async () =>
      getHealth(httpEvent({ method: 'GET', path: '/health', authorization: null }), contextWithRemaining(10_000)),
    );
    expect(result.statusCode, String(result.body)).toBe(503);
    expect(body(result)).toMatchObject({
      status: 'down',
      checks: { postgres: { status: 'down', code: 'TIMEOUT' }, redis: { status: 'ok' }, mongo: { status: 'ok' } },
    });
    // A 503 says when to ask again, as every other one does.
    expect(result.headers?.['Retry-After']).toBeDefined();
    // The probe left on the frozen connection must not make the next checks of this warm container wait
    // behind it: a new connection works, so the next report says PostgreSQL is up.
    const next = await getHealth(httpEvent({ method: 'GET', path: '/health', authorization: null }), contextWithRemaining(10_000));
    expect(next.statusCode, String(next.body)).toBe(200);
    expect(body(next)).toMatchObject({ checks: { postgres: { status: 'ok' } } });
  });

  it('a frozen connection does not poison the pool: the next two orders on the same warm handler are placed at normal latency', async () => {
    const proxy = await freezingPostgres();
    // The default pool (2 connections): both are established, then both freeze.
    const { createOrder } = await handlersWith({ DATABASE_URL: proxy.url });
    const warm = await Promise.all([
      createOrder(await orderEvent(), lambdaContext('createOrder')),
      createOrder(await orderEvent(), lambdaContext('createOrder')),
    ]);
    expect(warm.map((response) => response.statusCode)).toEqual([201, 201]);

    proxy.freeze();
    const frozen = await createOrder(await orderEvent(), contextWithRemaining(2_500));
    expect(frozen.statusCode, String(frozen.body)).toBe(503);

    for (const attempt of [1, 2]) {
      const { result, ms } = await timed(async () => createOrder(await orderEvent(), contextWithRemaining(10_000)));
      console.info(`[frozen connection] order ${attempt} after the timed-out one: ${result.statusCode} in ${Math.round(ms)} ms`);
      expect(result.statusCode, `order ${attempt} after the frozen one: ${String(result.body)}`).toBe(201);
      expect(ms).toBeLessThan(1_500);
    }
  });

  it('1,000 requests against a black-holed Upstash: orders 201, top products from Postgres, ≤ 10 sockets open to it throughout', async () => {
    const hole = await newHole();
    const [product] = await sql<[{ id: number }]>`
      insert into products (name, price, stock_quantity, metadata) values ('Black-hole stock', 5.00, 100000, '{}') returning product_id as id`;
    const { getTopProducts, createOrder } = await handlersWith({
      UPSTASH_REDIS_REST_URL: hole.url('http'),
      CACHE_NAMESPACE: 'ecommerce-pipeline:test-faults-redis-sockets',
    });
    const token = await bearerFor(fx.customerIds[0]!);
    const order = () =>
      httpEvent({
        method: 'POST',
        path: '/orders',
        body: { customerId: fx.customerIds[0], items: [{ productId: product!.id, quantity: 1 }] },
        authorization: token,
      });

    let maxOpen = 0;
    const sampler = setInterval(() => (maxOpen = Math.max(maxOpen, hole.open())), 10);
    const statuses = new Map<string, number>();
    let next = 0;
    const started = performance.now();
    try {
      // A few requests at a time (a container serves one; several only to finish sooner). Four, because
      // Node's fetch (undici) may open a connection for a queued request that a freed one then serves, and
      // keeps it idle: up to about twice the requests in flight are open at a moment (measured: 2 × 6 − 1 = 11
      // at six at a time, 7 at four), however many requests have been made.
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < 1_000) {
            const n = next++;
            const response =
              n % 2 === 0
                ? await createOrder(order(), lambdaContext('createOrder'))
                : await getTopProducts(topEvent(), lambdaContext('getTopProducts'));
            const key = `${n % 2 === 0 ? 'order' : 'top'} ${response.statusCode}${response.headers?.['X-Cache'] ? ` ${String(response.headers['X-Cache'])}` : ''}`;
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
            maxOpen = Math.max(maxOpen, hole.open());
          }
        }),
      );
    } finally {
      clearInterval(sampler);
    }
    await sleep(200);
    console.info(
      `[redis black hole] 1,000 requests in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(Object.fromEntries(statuses))}; sockets accepted ${hole.connections()}, at most ${maxOpen} open, ${hole.open()} open at the end`,
    );
    expect(Object.fromEntries(statuses)).toEqual({ 'order 201': 500, 'top 200 BYPASS': 500 });
    expect(maxOpen).toBeLessThanOrEqual(10);
    expect(hole.open()).toBeLessThanOrEqual(10);
  }, 120_000);
});

describe('a database that answers, but not in time (a statement past statement_timeout)', () => {
  it('an order behind a lock held past the statement timeout is 503 DATABASE_BUSY, not DATABASE_UNAVAILABLE (whose alarm says unreachable)', async () => {
    const { createOrder } = await handlersWith({ DATABASE_STATEMENT_TIMEOUT_MS: '300' });
    const event = await orderEvent();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = sql.begin(async (tx) => {
      await tx`lock table products in access exclusive mode`;
      locked();
      await released;
    });
    try {
      await isLocked;
      const result = await createOrder(event, lambdaContext('createOrder'));
      expect(result.statusCode, String(result.body)).toBe(503);
      expect(body(result).error.code).toBe('DATABASE_BUSY');
      expect(result.headers?.['Retry-After']).toBe('2');
    } finally {
      release();
      await holder;
    }
  });
});

describe('runBenchmarks past its early timeout (its own session stopped answering)', () => {
  const lockHeld = async () => {
    const [row] = await sql<Array<{ held: boolean }>>`
      select exists (select 1 from pg_locks where locktype = 'advisory' and granted
        and classid = 0 and objid = ${BENCHMARK_LOCK_ID}::bigint::oid and objsubid = 1) as held`;
    return row?.held === true;
  };

  it('ends that session, so that a frozen container does not keep the benchmark lock from every later run', async () => {
    const proxy = await freezingPostgres();
    await handlersWith({ BENCHMARK_DATABASE_URL: proxy.url });
    const { handler } = await import('../../functions/runBenchmarks.js');
    // The run asks first, and sees time enough for itself; then middy, whose backstop fires 1 s before 8 s.
    let asked = 0;
    const context = { ...lambdaContext('runBenchmarks'), getRemainingTimeInMillis: () => (asked++ === 0 ? 900_000 : 8_000) };
    const run = handler({ sizes: TINY_SIZES }, context).then(
      () => undefined,
      (error: unknown) => error,
    );
    try {
      const deadline = Date.now() + 10_000;
      while (!(await lockHeld()) && Date.now() < deadline) await sleep(5);
      expect(await lockHeld(), 'the run took its lock before the backstop').toBe(true);
      proxy.freeze();
      expect(String(await run)).toMatch(/did not finish before its Lambda timeout/);
      // Lambda freezes the container now: only what the backstop closed is closed.
      const released = Date.now() + 5_000;
      while ((await lockHeld()) && Date.now() < released) await sleep(50);
      expect(await lockHeld()).toBe(false);
    } finally {
      for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {});
      await sql`drop schema if exists bench cascade`;
      await sql`update benchmark_runs set status = 'abandoned' where status = 'running'`;
    }
  }, 30_000);
});

describe('credentials a store refuses (a secret rotated or mistyped, a database not there)', () => {
  // The store answered, but not to us: for the client that is an outage to retry later (503), as during a
  // secret rotation; the alarms read the 503s, and the log line keeps the store's code for the operator.
  it.each([
    ['PostgreSQL', 'an unknown role (28000)', { DATABASE_URL: 'postgres://nobody_here@127.0.0.1:5432/shop_test' }],
    ['PostgreSQL', 'an unknown database (3D000)', { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/no_such_database' }],
    // FerretDB v1 takes no SCRAM: the driver's default mechanism is refused with 18 AuthenticationFailed.
    ['MongoDB', 'a login refused (18 AuthenticationFailed)', { MONGODB_URI: 'mongodb://nobody_here:wrong@127.0.0.1:27017/' }],
    // PLAIN passes the credentials on to FerretDB's PostgreSQL, which refuses the role (an InternalError there).
    ['MongoDB', 'credentials its storage refuses', { MONGODB_URI: 'mongodb://nobody_here:wrong@127.0.0.1:27017/?authMechanism=PLAIN' }],
  ] as const)('%s, %s: a 503 naming the store, with Retry-After, not a 500', async (store, _what, env) => {
    const handlers = await handlersWith(env);
    const answer =
      store === 'PostgreSQL'
        ? await handlers.createOrder(await orderEvent(), lambdaContext('createOrder'))
        : await handlers.getCart(await cartEvent(), lambdaContext('getCart'));
    expect(answer.statusCode, String(answer.body)).toBe(503);
    expect(body(answer).error.code).toBe(store === 'PostgreSQL' ? 'DATABASE_UNAVAILABLE' : 'CART_STORE_UNAVAILABLE');
    expect(answer.headers?.['Retry-After']).toBeDefined();
  });
});

describe('a MONGODB_URI the driver cannot parse (a password with an unescaped @)', () => {
  it('GET /health reports MongoDB down with the parser’s error name, with the other stores’ checks', async () => {
    const { getHealth } = await handlersWith({ MONGODB_URI: 'mongodb://shop:p@ss@127.0.0.1:27017/shop' });
    const health = await getHealth(httpEvent({ method: 'GET', path: '/health', authorization: null }), lambdaContext('getHealth'));
    expect(health.statusCode, String(health.body)).toBe(503);
    expect(body(health)).toMatchObject({
      status: 'down',
      checks: { postgres: { status: 'ok' }, redis: { status: 'ok' }, mongo: { status: 'down', code: 'MongoParseError' } },
    });
    expect(String(health.body)).not.toContain('p@ss');
  });
});

describe('a PostgreSQL that refuses writes (a writer turned read-only by a failover)', () => {
  it('GET /health reports PostgreSQL down, as every order is refused meanwhile', async (context) => {
    if (!(await canCreateRoles(sql))) return context.skip('the tests’ PostgreSQL role may not create roles');
    const role = `health_read_only_${process.pid}`;
    const { url, drop } = await temporaryRole(sql, role, 'select, insert, update, delete');
    try {
      await sql`alter role ${sql(role)} set default_transaction_read_only = on`;
      const { createOrder, getHealth } = await handlersWith({ DATABASE_URL: url });
      const ordered = await createOrder(await orderEvent(), lambdaContext('createOrder'));
      expect(ordered.statusCode, String(ordered.body)).toBe(503);
      const health = await getHealth(httpEvent({ method: 'GET', path: '/health', authorization: null }), lambdaContext('getHealth'));
      expect(health.statusCode, String(health.body)).toBe(503);
      expect(body(health)).toMatchObject({ status: 'down', checks: { postgres: { status: 'down', code: 'READ_ONLY' } } });
    } finally {
      for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {});
      await drop();
    }
  });
});
