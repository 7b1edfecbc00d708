import { createRequire } from 'node:module';
import { MongoServerClosedError, MongoServerError, MongoTopologyClosedError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { renderError, toAppError } from '../../shared/http/error-response.js';

// The pool's errors, which the driver raises but does not export.
type PoolError = new (pool: { address: string; serverDescription: { address: string } }) => Error;
const { PoolClearedError, PoolClearedOnNetworkError, PoolClosedError } = createRequire(import.meta.url)(
  'mongodb/lib/cmap/errors.js',
) as Record<'PoolClearedError' | 'PoolClearedOnNetworkError' | 'PoolClosedError', PoolError>;

const errorResponse = (error: unknown) => renderError(toAppError(error));

const parse = (error: unknown) => {
  const response = errorResponse(error);
  return { status: response.statusCode, headers: response.headers, body: JSON.parse(response.body) };
};

describe('the error mapping (toAppError + renderError)', () => {
  it('maps named errors to their status with the error envelope', () => {
    expect(parse(new ValidationError('bad', [{ field: 'body.x', message: 'nope' }]))).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_ERROR', message: 'bad', details: [{ field: 'body.x', message: 'nope' }] } },
    });
    expect(parse(new NotFoundError('CART_NOT_FOUND', 'none')).status).toBe(404);
    expect(parse(new ConflictError('INSUFFICIENT_STOCK', 'short')).status).toBe(409);
    expect(parse(new AppError(422, 'IDEMPOTENCY_KEY_REUSED', 'reused')).status).toBe(422);
  });

  it('turns database connection failures into 503 with Retry-After', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const result = parse(refused);
    expect(result.status).toBe(503);
    expect(result.headers['Retry-After']).toBe('2');
    expect(result.body.error.code).toBe('DATABASE_UNAVAILABLE');
    expect(parse(Object.assign(new Error('shutdown'), { code: '57P01' })).status).toBe(503);
    expect(parse(new AggregateError([refused], 'both addresses failed')).status).toBe(503);
  });

  it('turns every other "not now" of the database into 503: unreachable networks, contention retried to the end', () => {
    for (const code of ['ENETUNREACH', 'ENETDOWN', 'ECONNABORTED', 'EADDRNOTAVAIL', '40001', '40P01', '55P03']) {
      expect([code, parse(Object.assign(new Error(code), { code })).status]).toEqual([code, 503]);
    }
  });

  it('tells a database that answered but ran out of time or waited on a lock (DATABASE_BUSY) from one that could not be reached', () => {
    for (const code of ['57014', '55P03', '40001', '40P01']) {
      const result = parse(Object.assign(new Error(code), { code }));
      expect([code, result.status, result.body.error.code, result.headers['Retry-After']]).toEqual([code, 503, 'DATABASE_BUSY', '2']);
    }
    for (const code of ['ECONNREFUSED', '08006', '57P01', '25006', '53300'])
      expect([code, parse(Object.assign(new Error(code), { code })).body.error.code]).toEqual([code, 'DATABASE_UNAVAILABLE']);
  });

  it('turns a failover (the old writer answers read-only, 25006) and a server short of resources (class 53) into 503', () => {
    for (const code of ['25006', '53000', '53100', '53200']) {
      expect([code, parse(Object.assign(new Error(code), { code })).status]).toEqual([code, 503]);
    }
    // A configured limit (temp_file_limit) is hit again by the same request: not a "retry shortly".
    expect(parse(Object.assign(new Error('53400'), { code: '53400' })).status).toBe(500);
  });

  it('turns a login MongoDB refuses into 503, as self-hosted servers and FerretDB (18) and Atlas (8000 "bad auth") say it', () => {
    const refused = [
      new MongoServerError({ ok: 0, code: 18, codeName: 'AuthenticationFailed', errmsg: 'Authentication failed.' }),
      new MongoServerError({ ok: 0, code: 8000, codeName: 'AtlasError', errmsg: 'bad auth : authentication failed' }),
    ];
    for (const error of refused) {
      expect([error.code, parse(error)]).toMatchObject([error.code, { status: 503, body: { error: { code: 'CART_STORE_UNAVAILABLE' } } }]);
    }
    // Another Atlas refusal (a permission the user lacks) is not an outage.
    const forbidden = new MongoServerError({
      ok: 0,
      code: 8000,
      codeName: 'AtlasError',
      errmsg: 'user is not allowed to do action [insert]',
    });
    expect(parse(forbidden).status).toBe(500);
  });

  it('turns MongoDB selection/network failures into 503', () => {
    const error = Object.assign(new Error('Server selection timed out'), { name: 'MongoServerSelectionError' });
    expect(parse(error)).toMatchObject({ status: 503, body: { error: { code: 'CART_STORE_UNAVAILABLE' } } });
  });

  it('turns the driver’s pool and connection closures into 503, as the driver raises them (its class names)', () => {
    const pool = { address: '127.0.0.1:27017', serverDescription: { address: '127.0.0.1:27017' } };
    for (const error of [
      // A heartbeat that timed out clears the pool under an insert in flight (retryWrites is off).
      new PoolClearedOnNetworkError(pool),
      new PoolClearedError(pool),
      new PoolClosedError(pool),
      new MongoServerClosedError(),
      new MongoTopologyClosedError(),
    ]) {
      expect([error.name, parse(error)]).toMatchObject([error.name, { status: 503, body: { error: { code: 'CART_STORE_UNAVAILABLE' } } }]);
    }
  });

  it('turns a failed DNS lookup of a mongodb+srv URI into 503 for the cart store, not the database', () => {
    // Node's resolver errors, which the driver passes on unwrapped from MongoClient.connect().
    for (const [code, syscall] of [
      ['ETIMEOUT', 'querySrv'],
      ['ESERVFAIL', 'querySrv'],
      ['ENOTFOUND', 'querySrv'],
      ['ECONNREFUSED', 'queryTxt'],
    ]) {
      const hostname = '_mongodb._tcp.cluster0.example.mongodb.net';
      const error = Object.assign(new Error(`${syscall} ${code} ${hostname}`), { code, syscall, hostname });
      expect([code, parse(error)]).toMatchObject([code, { status: 503, body: { error: { code: 'CART_STORE_UNAVAILABLE' } } }]);
    }
  });

  it('maps body-parser errors: 415 for a non-JSON content type, 400 for malformed JSON', () => {
    expect(parse(Object.assign(new Error('Unsupported Media Type'), { statusCode: 415 })).status).toBe(415);
    expect(parse(Object.assign(new Error('Invalid or malformed JSON was provided'), { statusCode: 422 }))).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_ERROR' } },
    });
  });

  it('hides unexpected errors behind a 500 without internals', () => {
    const result = parse(new TypeError('secret internals at /var/task'));
    expect(result.status).toBe(500);
    expect(result.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'An unexpected error occurred.' } });
  });
});
