import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as createOrder } from '../../functions/createOrder.js';
import { handler as getCart } from '../../functions/getCart.js';
import { closeMongo, getMongoClient } from '../../shared/clients/mongo.js';
import { applicationName, closeSql, getSql } from '../../shared/clients/postgres.js';
import { getConfig } from '../../shared/config.js';
import { resetShop, testSql } from '../helpers/db.js';
import { httpEvent, lambdaContext } from '../helpers/lambda.js';

const sql = testSql();

beforeAll(async () => {
  await resetShop(sql);
});

afterAll(async () => {
  await closeSql();
  await closeMongo();
  await sql.end();
});

/** One order attempt for a customer that does not exist: touches Postgres, changes nothing. */
const orderForNobody = () =>
  createOrder(
    httpEvent({ method: 'POST', path: '/orders', body: { customerId: 999_999, items: [{ productId: 1, quantity: 1 }] } }),
    lambdaContext('createOrder'),
  );

describe('shared connection layer (one container = one module instance)', () => {
  it('reuses one postgres.js pool across 100 warm invocations', async () => {
    const pool = getSql();
    const backendPids = new Set<number>();
    for (let i = 0; i < 100; i++) {
      const response = await orderForNobody();
      expect(response.statusCode).toBe(404);
      expect(getSql()).toBe(pool);
      const [row] = await getSql()<Array<{ pid: number }>>`select pg_backend_pid() as pid`;
      backendPids.add(row!.pid);
    }
    // The same few physical connections served every invocation (≤ max, not one per call).
    expect(backendPids.size).toBeLessThanOrEqual(getConfig().database.poolMax);
  });

  it('never holds more than `max` connections after 500 invocations', async () => {
    for (let i = 0; i < 500; i++) await orderForNobody();
    const [row] = await sql<Array<{ connections: number }>>`
      select count(*)::int as connections from pg_stat_activity
      where application_name = ${applicationName()} and datname = current_database()`;
    expect(row!.connections).toBeGreaterThan(0);
    expect(row!.connections).toBeLessThanOrEqual(getConfig().database.poolMax);
  });

  it('reuses one MongoClient across 100 warm invocations', async () => {
    const client = getMongoClient();
    for (let i = 0; i < 100; i++) {
      const response = await getCart(
        httpEvent({ method: 'GET', path: '/carts/987654', pathParameters: { customerId: '987654' } }),
        lambdaContext('getCart'),
      );
      expect(response.statusCode).toBe(404);
      expect(getMongoClient()).toBe(client);
    }
  });
});
