/**
 * 503 when the database is unreachable: a postgres.js client pointed at a closed port (127.0.0.1:1),
 * through the domain function + the one error mapping, and through the real handler in process.
 */
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import type { Sql } from '../../shared/clients/postgres.js';
import { renderError, toAppError } from '../../shared/http/error-response.js';

const errorResponse = (error: unknown) => renderError(toAppError(error));

import { createOrder, MAX_KEY_RACE_ATTEMPTS } from '../../shared/orders/create-order.js';
import { httpEvent, lambdaContext } from '../helpers/lambda.js';

const CLOSED = 'postgres://postgres@127.0.0.1:1/shop_test';

// Before the handler module (and its config) loads: this file's process sees a database that is down.
process.env.DATABASE_URL = CLOSED;
process.env.DATABASE_CONNECT_TIMEOUT_SECONDS = '2';
const { handler } = await import('../../functions/createOrder.js');
const { closeSql } = await import('../../shared/clients/postgres.js');

const down = postgres(CLOSED, { max: 1, connect_timeout: 2, onnotice: () => {} }) as unknown as Sql;

afterAll(async () => {
  await down.end({ timeout: 1 });
  await closeSql();
});

describe('createOrder when the database is unreachable', () => {
  it('the domain call fails with a connection error that the error mapping turns into 503', async () => {
    const error = await createOrder(down, { customerId: 1, items: [{ productId: 1, quantity: 1 }] }, { idempotencyKey: 'k' }).catch(
      (e: unknown) => e,
    );
    const response = errorResponse(error);
    expect(response.statusCode).toBe(503);
    expect(response.headers['Retry-After']).toBe('2');
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'DATABASE_UNAVAILABLE' } });
  });

  it('the handler answers 503 DATABASE_UNAVAILABLE with Retry-After', async () => {
    const response = await handler(
      httpEvent({
        method: 'POST',
        path: '/orders',
        body: { customerId: 1, items: [{ productId: 1, quantity: 1 }] },
        headers: { 'idempotency-key': 'retry-me' },
      }),
      lambdaContext('createOrder'),
    );
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('2');
    expect(JSON.parse(response.body as string)).toEqual({
      error: { code: 'DATABASE_UNAVAILABLE', message: expect.any(String) },
    });
  });
});

describe('createOrder when requests with the same key keep changing the outcome', () => {
  it('answers 503 DATABASE_BUSY after its attempts (a retry is safe), not a 500', async () => {
    // Every run: all checks passed, nothing written, and no key row to replay: the row the insert collided
    // with was gone by the time it was looked up (expired and purged by a concurrent request, again and again).
    let statements = 0;
    const settledNever = Object.assign(async () => [], {
      typed: (value: unknown) => value,
      unsafe: async () => {
        statements += 1;
        return [
          { created: null, replay: null, replay_hash: null, customer_found: true, missing: [], short: [], checkout_key_recorded: null },
        ];
      },
    }) as unknown as Sql;
    const error = await createOrder(settledNever, { customerId: 1, items: [{ productId: 1, quantity: 1 }] }, { idempotencyKey: 'k' }).catch(
      (e: unknown) => e,
    );
    expect(statements).toBe(MAX_KEY_RACE_ATTEMPTS);
    const response = errorResponse(error);
    expect(response.statusCode).toBe(503);
    expect(response.headers['Retry-After']).toBe('2');
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'DATABASE_BUSY' } });
  });
});
