import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Before the metrics module loads: this file checks the EMF lines the handlers write.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

const { handler: createOrder } = await import('../../functions/createOrder.js');
const { handler: saveCart } = await import('../../functions/saveCart.js');
const { handler: getTopProducts } = await import('../../functions/getTopProducts.js');
const { handler: purgeExpired } = await import('../../functions/purgeExpired.js');
const { closeMongo } = await import('../../shared/clients/mongo.js');
const { closeSql } = await import('../../shared/clients/postgres.js');
const { countError, METRIC, metrics, publishMetrics } = await import('../../shared/metrics.js');
const { bearerFor } = await import('../helpers/auth.js');
const { insertFixtures, resetShop, testSql } = await import('../helpers/db.js');
const { callHandler } = await import('../security/helpers.js');
const { lambdaContext } = await import('../helpers/lambda.js');

/**
 * The CloudWatch embedded-metric (EMF) lines the handlers write: one per request that has something to
 * count, in the `ecommerce-pipeline` namespace, per stage and per function.
 */
const sql = testSql();
let C: number;
let P: number;

beforeAll(async () => {
  await resetShop(sql);
  const fx = await insertFixtures(sql, { customers: 1, products: 1, stock: 2 });
  C = fx.customerIds[0]!;
  P = fx.productIds[0]!;
});

afterAll(async () => {
  await closeSql();
  await closeMongo();
  await sql.end();
});

interface Emf {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

/** The EMF lines `action` writes to stdout. */
async function emf(action: () => Promise<unknown>): Promise<Emf[]> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  }) as never);
  try {
    await action();
  } finally {
    spy.mockRestore();
  }
  return chunks
    .join('')
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Emf);
}

/** The counts of one EMF line, by metric name, after checking its namespace and dimensions. */
function counts(line: Emf, fn: string): Record<string, number> {
  const [directive] = line._aws.CloudWatchMetrics;
  expect(directive!.Namespace).toBe('ecommerce-pipeline');
  expect(directive!.Dimensions).toEqual([
    ['service', 'stage'],
    ['service', 'stage', 'function'],
  ]);
  expect(line).toMatchObject({ service: expect.any(String), stage: process.env.STAGE, function: fn });
  // A metric added twice in one invocation is written once, with both values (CloudWatch sums them).
  const total = (value: unknown) => (Array.isArray(value) ? value.reduce((sum: number, v: number) => sum + v, 0) : (value as number));
  return Object.fromEntries(directive!.Metrics.map(({ Name }) => [Name, total(line[Name])]));
}

const order = async (key?: string, quantity = 1) =>
  callHandler(createOrder, {
    method: 'POST',
    path: '/orders',
    body: { customerId: C, items: [{ productId: P, quantity }] },
    authorization: await bearerFor(C),
    headers: key ? { 'idempotency-key': key } : {},
  });

describe('EMF metrics', () => {
  it('POST /orders: an order placed, a replay, an out-of-stock rejection — one line each', async () => {
    let lines = await emf(() => order('metrics-1'));
    expect(lines).toHaveLength(1);
    expect(counts(lines[0]!, 'createOrder')).toEqual({ [METRIC.ordersPlaced]: 1 });
    lines = await emf(() => order('metrics-1'));
    expect(counts(lines[0]!, 'createOrder')).toEqual({ [METRIC.idempotentReplays]: 1 });
    lines = await emf(() => order(undefined, 5));
    expect(counts(lines[0]!, 'createOrder')).toEqual({ [METRIC.outOfStock]: 1 });
  });

  it('a cart write that lost a version race counts as a cart conflict', async () => {
    const lines = await emf(async () =>
      callHandler(saveCart, {
        method: 'PUT',
        path: `/carts/${C}`,
        pathParameters: { customerId: String(C) },
        body: { items: [{ productId: P, quantity: 1 }] },
        headers: { 'if-match': '"77"' },
        authorization: await bearerFor(C),
      }),
    );
    expect(counts(lines[0]!, 'saveCart')).toEqual({ [METRIC.cartConflicts]: 1 });
  });

  it('GET /products/top counts its cache outcome', async () => {
    const lines = await emf(async () => {
      for (let i = 0; i < 2; i++) await callHandler(getTopProducts, { method: 'GET', path: '/products/top', query: { limit: '3' } });
    });
    const outcomes = lines.map((line) => Object.keys(counts(line, 'getTopProducts'))[0]);
    expect(outcomes).toHaveLength(2);
    for (const outcome of outcomes) expect([METRIC.cacheHit, METRIC.cacheMiss, METRIC.cacheBypass]).toContain(outcome);
  });

  it('the hourly purge: the rows it deleted, and 0 or 1 for a backlog, on every run', async () => {
    expect((await order(`metrics-purge-${Date.now()}`)).status).toBe(201);
    await sql`insert into idempotency_keys (customer_id, idempotency_key, request_hash, order_id, response, created_at, expires_at)
              select customer_id, 'metrics-expired-' || order_id, sha256(convert_to(order_id::text, 'UTF8')), order_id, '{}',
                     now() - interval '2 days', now() - interval '1 day'
              from orders`;
    const [{ expired }] = await sql<[{ expired: number }]>`select count(*)::int as expired from idempotency_keys where expires_at <= now()`;
    expect(expired).toBeGreaterThan(0);
    const run = (remainingMs: number) => () =>
      purgeExpired({}, { ...lambdaContext('ecommerce-pipeline-test-purgeExpired'), getRemainingTimeInMillis: () => remainingMs });
    // Its deadline already past (20 s kept back of 10 s left): it stops before a batch, with rows still due.
    let lines = await emf(run(10_000));
    expect(counts(lines[0]!, 'purgeExpired')).toEqual({ [METRIC.expiredRowsPurged]: 0, [METRIC.purgeBacklog]: 1 });
    lines = await emf(run(300_000));
    expect(lines).toHaveLength(1);
    expect(counts(lines[0]!, 'purgeExpired')).toMatchObject({ [METRIC.expiredRowsPurged]: expect.any(Number), [METRIC.purgeBacklog]: 0 });
    expect(counts(lines[0]!, 'purgeExpired')[METRIC.expiredRowsPurged]).toBeGreaterThanOrEqual(expired);
  });

  it('a request with nothing to count writes no line; a database outage counts twice', async () => {
    expect(await emf(async () => publishMetrics('getHealth'))).toEqual([]);
    const lines = await emf(async () => {
      countError(503, 'DATABASE_UNAVAILABLE');
      countError(503, 'CART_STORE_UNAVAILABLE');
      countError(400, 'VALIDATION_ERROR');
      publishMetrics('createOrder');
    });
    expect(counts(lines[0]!, 'createOrder')).toEqual({ [METRIC.storeUnavailable]: 2, [METRIC.databaseUnavailable]: 1 });
    expect(metrics.hasStoredMetrics()).toBe(false);
  });

  it.each([
    // A 500 (a defect, whatever threw) counts as an internal error; a 4xx counts nothing.
    [
      'a 500, a 404 and a timeout',
      [
        [500, 'INTERNAL_ERROR'],
        [404, 'ORDER_NOT_FOUND'],
        [503, 'TIMEOUT'],
      ],
      { InternalErrors: 1, StoreUnavailable: 1 },
    ],
    // A busy PostgreSQL (it answered: a statement or a lock wait past its timeout) counts apart from an unreachable one.
    ['a busy PostgreSQL', [[503, 'DATABASE_BUSY']], { StoreUnavailable: 1, DatabaseBusy: 1 }],
  ] as const)('%s: the counts of their kinds', async (_what, answers, expected) => {
    const lines = await emf(async () => {
      for (const [status, code] of answers) countError(status, code);
      publishMetrics('getOrder');
    });
    expect(counts(lines[0]!, 'getOrder')).toEqual(expected);
    for (const name of Object.keys(expected)) expect(Object.values(METRIC)).toContain(name);
  });
});
