import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Before any module creates the logger: log at INFO (tests are SILENT by default), and ask Powertools to
// log whole events — which the HTTP stack must override (the event holds the token and the body).
vi.hoisted(() => {
  process.env.LOG_LEVEL = 'INFO';
  process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
});

const { handler: createOrder } = await import('../../functions/createOrder.js');
const { handler: saveCart } = await import('../../functions/saveCart.js');
const { handler: getCart } = await import('../../functions/getCart.js');
const { createGetTopProductsHandler } = await import('../../functions/getTopProducts.js');
const { closeMongo } = await import('../../shared/clients/mongo.js');
const { closeSql } = await import('../../shared/clients/postgres.js');
const { bearerFor } = await import('../helpers/auth.js');
const { insertFixtures, resetShop, testSql } = await import('../helpers/db.js');
const { lambdaContext } = await import('../helpers/lambda.js');
const { authConfig, callHandler, customToken } = await import('./helpers.js');

/**
 * The logs of the HTTP stack, captured from stdout/stderr of in-process invocations: one structured JSON
 * line per request with the Lambda request id, function, status, outcome, latency and — for an error —
 * its code; never a token, a secret or the payload.
 */
const sql = testSql();
const MARKER = 'PAYLOAD-MARKER-7f3a9c';
let C: number;
let P: number;
let token: string;
const everything: string[] = [];

beforeAll(async () => {
  await resetShop(sql);
  const fx = await insertFixtures(sql, { customers: 2, products: 2, stock: 10 });
  C = fx.customerIds[0]!;
  P = fx.productIds[0]!;
  token = await bearerFor(C);
});

afterAll(async () => {
  await closeSql();
  await closeMongo();
  await sql.end();
});

interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** Runs `action` and returns the log lines it wrote (JSON objects, one per line), keeping the raw text too. */
async function captureLogs<T>(action: () => Promise<T>): Promise<{ result: T; lines: LogLine[]; raw: string }> {
  const chunks: string[] = [];
  const capture = (chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture as never);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture as never);
  let result: T;
  try {
    result = await action();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const raw = chunks.join('');
  everything.push(raw);
  const lines = raw
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LogLine);
  return { result, lines, raw };
}

/**
 * The one access-log line a request must produce (domain code may add its own lines, e.g. a cold-start
 * notice, but every line carries the request id, and an error is logged exactly once, with its code).
 */
function theLine(lines: LogLine[], context: { awsRequestId: string; functionName: string }, functionName: string): LogLine {
  for (const line of lines) expect(line.function_request_id, JSON.stringify(line)).toBe(context.awsRequestId);
  const access = lines.filter((line) => line.function === functionName && 'status' in line);
  expect(access, JSON.stringify(lines)).toHaveLength(1);
  expect(lines.filter((line) => 'code' in line).length, JSON.stringify(lines)).toBeLessThanOrEqual(1);
  expect(lines.filter((line) => line.level === 'ERROR').length, JSON.stringify(lines)).toBeLessThanOrEqual(1);
  const line = access[0]!;
  expect(line).toMatchObject({
    function: functionName,
    function_request_id: context.awsRequestId,
    function_name: context.functionName,
    service: expect.any(String),
    timestamp: expect.any(String),
  });
  expect(typeof line.latencyMs).toBe('number');
  expect(line.latencyMs as number).toBeGreaterThanOrEqual(0);
  expect(line.apiRequestId).toEqual(expect.any(String));
  return line;
}

/** Calls `handler` in process as the function `name` and captures its logs, with the context theLine checks them against. */
async function logged(name: string, handler: Parameters<typeof callHandler>[0], request: Parameters<typeof callHandler>[1]) {
  const context = lambdaContext(`ecommerce-pipeline-test-${name}`);
  return { context, ...(await captureLogs(() => callHandler(handler, request, context))) };
}

const cartEvent = (customerId: number, extra: object = {}) => ({
  method: 'PUT',
  path: `/carts/${customerId}`,
  routeKey: 'PUT /carts/{customerId}',
  pathParameters: { customerId: String(customerId) },
  ...extra,
});

describe('the scheduled functions', () => {
  it('a run’s lines carry its Lambda request id and cold start, as a request’s do, and never its event', async () => {
    const { handler: reconcile } = await import('../../functions/reconcileTopProducts.js');
    const context = lambdaContext('ecommerce-pipeline-test-reconcileTopProducts');
    const event = { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: { marker: MARKER } };
    const { lines, raw } = await captureLogs(() => reconcile(event, context));
    const line = lines.find((candidate) => candidate.message === 'top-products reconcile');
    expect(line, raw).toMatchObject({ function_request_id: context.awsRequestId, cold_start: expect.any(Boolean) });
    expect(raw).not.toContain(MARKER);

    const { handler: purge } = await import('../../functions/purgeExpired.js');
    const purgeContext = { ...lambdaContext('ecommerce-pipeline-test-purgeExpired'), getRemainingTimeInMillis: () => 300_000 };
    const purged = await captureLogs(() => purge(event, purgeContext));
    const purgeLine = purged.lines.find((candidate) => candidate.message === 'expired rows purged');
    expect(purgeLine, purged.raw).toMatchObject({ function_request_id: purgeContext.awsRequestId, complete: true });
    expect(purged.raw).not.toContain(MARKER);
  });
});

describe('correlation', () => {
  it('every line of a request carries its correlation id — the caller’s X-Correlation-Id, else the API request id — and the answer returns it', async () => {
    const orderBody = { customerId: C, items: [{ productId: P, quantity: 1 }] };
    const cases: Array<[string, Record<string, string>, (event: { apiRequestId: string }) => string]> = [
      ['given', { 'x-correlation-id': 'checkout-flow-42' }, () => 'checkout-flow-42'],
      ['absent', {}, ({ apiRequestId }) => apiRequestId],
      // Not a usable id (too long, or with characters a log query would trip on): the request id instead.
      ['malformed', { 'x-correlation-id': `${'x'.repeat(200)}` }, ({ apiRequestId }) => apiRequestId],
      ['control characters', { 'x-correlation-id': 'a\nb' }, ({ apiRequestId }) => apiRequestId],
    ];
    for (const [what, headers, expected] of cases) {
      const context = lambdaContext('ecommerce-pipeline-test-createOrder');
      for (const body of [orderBody, { customerId: C, items: [] }]) {
        const { result, lines } = await captureLogs(() =>
          callHandler(createOrder, { method: 'POST', path: '/orders', body, authorization: token, headers }, context),
        );
        const access = theLine(lines, context, 'createOrder');
        const id = expected({ apiRequestId: access.apiRequestId as string });
        expect(result.headers['x-correlation-id'], what).toBe(id);
        for (const line of lines) expect(line.correlationId, `${what}: ${JSON.stringify(line)}`).toBe(id);
      }
    }
  });
});

describe('one structured line per request', () => {
  it('a success: INFO, status, outcome, latency, the caller (subject, never the token)', async () => {
    const { result, lines, context } = await logged(
      'saveCart',
      saveCart,
      cartEvent(C, {
        body: { items: [{ productId: P, quantity: 1, attributes: { engraving: MARKER } }], note: MARKER },
        authorization: token,
      }),
    );
    expect(result.status).toBe(200);
    const line = theLine(lines, context, 'saveCart');
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'request',
      status: 200,
      outcome: 'success',
      method: 'PUT',
      route: 'PUT /carts/{customerId}',
      caller: 'customer',
      subject: String(C),
    });
    expect(line.code).toBeUndefined();
  });

  it('201 from POST /orders', async () => {
    const { result, lines, context } = await logged('createOrder', createOrder, {
      method: 'POST',
      path: '/orders',
      body: { customerId: C, items: [{ productId: P, quantity: 1 }] },
      authorization: token,
      headers: { 'idempotency-key': MARKER },
    });
    expect(result.status).toBe(201);
    expect(theLine(lines, context, 'createOrder')).toMatchObject({ level: 'INFO', status: 201, outcome: 'success' });
  });

  it('401 and 403: WARN "request denied" with the code; the rejected token is not logged', async () => {
    const forged = `Bearer ${await customToken({ sub: String(C), marker: MARKER }, { secret: 'y'.repeat(40) })}`;
    const unauthorized = await logged('getCart', getCart, {
      method: 'GET',
      path: `/carts/${C}`,
      pathParameters: { customerId: String(C) },
      authorization: forged,
    });
    expect(unauthorized.result.status).toBe(401);
    expect(theLine(unauthorized.lines, unauthorized.context, 'getCart')).toMatchObject({
      level: 'WARN',
      message: 'request denied',
      status: 401,
      outcome: 'denied',
      code: 'UNAUTHORIZED',
      caller: 'anonymous',
    });
    expect(unauthorized.raw).not.toContain(forged.slice(7));

    const forbidden = await logged('getCart', getCart, {
      method: 'GET',
      path: `/carts/${C + 1}`,
      pathParameters: { customerId: String(C + 1) },
      authorization: token,
    });
    expect(forbidden.result.status).toBe(403);
    expect(theLine(forbidden.lines, forbidden.context, 'getCart')).toMatchObject({
      level: 'WARN',
      status: 403,
      outcome: 'denied',
      code: 'FORBIDDEN',
      subject: String(C),
    });
  });

  it('400: INFO "request rejected" with the code, not the invalid payload', async () => {
    const { result, lines, context } = await logged('createOrder', createOrder, {
      method: 'POST',
      path: '/orders',
      body: { customerId: C, items: [{ productId: P, quantity: 1 }], [MARKER]: MARKER },
      authorization: token,
    });
    expect(result.status).toBe(400);
    expect(JSON.stringify(result.body)).toContain(MARKER); // the client is told which field…
    expect(theLine(lines, context, 'createOrder')).toMatchObject({
      level: 'INFO',
      message: 'request rejected',
      status: 400,
      outcome: 'rejected',
      code: 'VALIDATION_ERROR',
    });
  });

  it('500: one ERROR line with the code and the error (name, message, stack) — not its other properties', async () => {
    const failing = createGetTopProductsHandler(() => {
      throw Object.assign(new TypeError('deps exploded'), { parameters: [MARKER], query: `select '${MARKER}'`, payload: { note: MARKER } });
    });
    const { result, lines, context } = await logged('getTopProducts', failing, {
      method: 'GET',
      path: '/products/top',
      authorization: null,
    });
    expect(result.status).toBe(500);
    expect(result.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'An unexpected error occurred.' } });
    const line = theLine(lines, context, 'getTopProducts');
    expect(line).toMatchObject({
      level: 'ERROR',
      message: 'request failed',
      status: 500,
      outcome: 'failed',
      code: 'INTERNAL_ERROR',
      error: { name: 'TypeError', message: 'deps exploded' },
    });
    expect(String((line.error as { stack?: string }).stack)).toMatch(/TypeError: deps exploded/);
  });

  it('503: one ERROR line with DATABASE_UNAVAILABLE and the driver code', async () => {
    const down = createGetTopProductsHandler(() => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', parameters: [MARKER] });
    });
    const { result, lines, context } = await logged('getTopProducts', down, { method: 'GET', path: '/products/top', authorization: null });
    expect(result.status).toBe(503);
    expect(theLine(lines, context, 'getTopProducts')).toMatchObject({
      level: 'ERROR',
      status: 503,
      code: 'DATABASE_UNAVAILABLE',
      error: { code: 'ECONNREFUSED' },
    });
  });
});

describe('a 5xx nothing threw', () => {
  it('/health reporting a store down: one WARN line with its status, and no error it did not have', async () => {
    vi.stubEnv('DATABASE_URL', 'postgres://postgres@127.0.0.1:1/shop_test');
    vi.stubEnv('DATABASE_CONNECT_TIMEOUT_SECONDS', '1');
    vi.resetModules();
    try {
      const { handler } = await import('../../functions/getHealth.js');
      const { result, lines, context } = await logged('getHealth', handler, { method: 'GET', path: '/health', authorization: null });
      expect(result.status).toBe(503);
      const line = theLine(lines, context, 'getHealth');
      expect(line).toMatchObject({ level: 'WARN', message: 'request answered unavailable', status: 503, outcome: 'failed' });
      expect(line).not.toHaveProperty('error');
      expect(line).not.toHaveProperty('code');
    } finally {
      const { closeSql } = await import('../../shared/clients/postgres.js');
      const { closeMongo } = await import('../../shared/clients/mongo.js');
      await closeSql();
      await closeMongo();
      vi.unstubAllEnvs();
    }
  });
});

describe('never in the logs', () => {
  it('tokens, the Authorization header, secrets, connection strings or payload content', () => {
    const all = everything.join('');
    expect(all.length).toBeGreaterThan(0);
    const config = authConfig();
    const forbidden = [
      'Bearer',
      'authorization',
      token.slice('Bearer '.length),
      token.slice('Bearer '.length).split('.')[2]!, // the signature alone
      config.secret!,
      process.env.UPSTASH_REDIS_REST_TOKEN!,
      process.env.DATABASE_URL!,
      process.env.MONGODB_URI!,
      MARKER,
    ];
    for (const value of forbidden) expect(all, `log output contains ${value.slice(0, 12)}…`).not.toContain(value);
    // POWERTOOLS_LOGGER_LOG_EVENT=true is overridden: no "Lambda invocation event" line.
    expect(all).not.toContain('Lambda invocation event');
  });
});

describe('a scheduled function that fails', () => {
  it('throws to the Lambda runtime an error with nothing but its name, message, code and stack', async () => {
    // The runtime logs what a function throws with every enumerable property (its "Invoke Error" line,
    // outside our logger): a driver error's properties hold the failing row or the query's parameters.
    const { backgroundHandler } = await import('../../shared/background.js');
    const failing = backgroundHandler('a test run', async () => {
      throw Object.assign(new Error('new row violates check constraint'), {
        code: '23514',
        detail: `Failing row contains (${MARKER}@example.com)`,
        parameters: [MARKER],
      });
    });
    const thrown = await failing({}, lambdaContext('ecommerce-pipeline-test-background')).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).toMatchObject({ message: 'new row violates check constraint', code: '23514' });
    // As the runtime writes it: name, message and code, then the error's own enumerable properties.
    const error = thrown as Error & { code?: unknown };
    const asTheRuntimeLogsIt = JSON.stringify({ errorType: error.name, errorMessage: error.message, code: error.code, ...error });
    expect(asTheRuntimeLogsIt).not.toContain(MARKER);
    expect(String(error.stack)).toContain('new row violates check constraint');

    // Node's multi-address connect failure: an AggregateError with no message of its own, told by its first cause.
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', address: MARKER });
    const both = backgroundHandler('a test run', async () => {
      throw new AggregateError([refused, new Error('connect ECONNREFUSED ::1:5432')]);
    });
    const aggregate = (await both({}, lambdaContext('ecommerce-pipeline-test-background')).catch((e: unknown) => e)) as Error & {
      code?: unknown;
    };
    expect(aggregate).toMatchObject({ message: 'connect ECONNREFUSED 127.0.0.1:5432', code: 'ECONNREFUSED' });
    expect(String(aggregate.stack)).toMatch(/^Error: connect ECONNREFUSED 127\.0\.0\.1:5432/);
    expect(JSON.stringify({ ...aggregate })).not.toContain(MARKER);
  });

  it('logs the error as a request does (name, message, code), not its other properties', async () => {
    vi.stubEnv('DATABASE_URL', 'postgres://postgres@127.0.0.1:1/shop_test');
    vi.stubEnv('UPSTASH_REDIS_REST_URL', 'http://127.0.0.1:1');
    vi.stubEnv('DATABASE_CONNECT_TIMEOUT_SECONDS', '1');
    vi.resetModules();
    try {
      const { handler } = await import('../../functions/reconcileTopProducts.js');
      const { lines } = await captureLogs(() =>
        handler({ mode: 'recent' }, lambdaContext('ecommerce-pipeline-test-reconcile')).catch(() => {}),
      );
      const failure = lines.find((line) => line.message === 'top-products reconcile failed');
      expect(failure, JSON.stringify(lines)).toBeDefined();
      expect(
        Object.keys(failure!.error as object).every((key) => ['name', 'message', 'code'].includes(key)),
        JSON.stringify(failure),
      ).toBe(true);
    } finally {
      const { closeSql } = await import('../../shared/clients/postgres.js');
      await closeSql();
      vi.unstubAllEnvs();
    }
  });
});
