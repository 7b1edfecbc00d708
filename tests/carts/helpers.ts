import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type Db, MongoClient, type MongoClientOptions } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import { CARTS_COLLECTION } from '../../shared/carts/store.js';
import { closeMongo, mongoClientOptions } from '../../shared/clients/mongo.js';
import { closeSql } from '../../shared/clients/postgres.js';
import { parseConfig } from '../../shared/config.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { httpEvent, lambdaContext } from '../helpers/lambda.js';

/** A client of its own on the test Mongo database (shop_test), for fixtures and assertions. */
export function testMongo(options: MongoClientOptions = {}): { client: MongoClient; db: Db } {
  const config = parseConfig(process.env);
  const client = new MongoClient(config.mongo.uri, {
    ...mongoClientOptions(config.mongo, 'ecommerce-pipeline-tests'),
    maxPoolSize: 20,
    ...options,
  });
  return { client, db: client.db(config.mongo.database) };
}

/** Empties the cart collection (keeps its indexes). */
export async function resetCarts(db: Db): Promise<void> {
  await db.collection(CARTS_COLLECTION).deleteMany({});
}

/**
 * A test file's own PostgreSQL and Mongo clients, on a shop and a cart collection emptied before its tests
 * and given `counts` fixtures (in `fx` from then on); closed after them, with those in-process handlers opened.
 */
export function cartsAndShop(counts: Parameters<typeof insertFixtures>[1]) {
  const sql = testSql();
  const { client, db } = testMongo();
  const fx: Fixtures = { customerIds: [], productIds: [] };
  beforeAll(async () => {
    await resetCarts(db);
    await resetShop(sql);
    Object.assign(fx, await insertFixtures(sql, counts));
  });
  afterAll(async () => {
    await closeMongo();
    await closeSql();
    await client.close();
    await sql.end();
  });
  return { sql, db, fx };
}

/** Every stored cart version, by _id: compared before/after to prove nothing was written. */
export async function snapshotCarts(db: Db): Promise<unknown[]> {
  return db.collection(CARTS_COLLECTION).find({}).sort({ _id: 1 }).toArray();
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface Called {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/** Invokes a handler in-process with an API Gateway v2 event and parses its JSON answer. */
export async function invoke(
  handler: Handler,
  options: {
    method: string;
    customerId?: string;
    suffix?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
  },
): Promise<Called> {
  const customerId = options.customerId ?? '1';
  const event = httpEvent({
    method: options.method,
    path: `/carts/${customerId}${options.suffix ?? ''}`,
    routeKey: `${options.method} /carts/{customerId}${options.suffix ?? ''}`,
    pathParameters: { customerId },
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.rawBody === undefined ? {} : { rawBody: options.rawBody }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  });
  const response = await handler(event, lambdaContext('carts'));
  const text = typeof response.body === 'string' ? response.body : '';
  return {
    status: response.statusCode ?? 0,
    headers: Object.fromEntries(Object.entries(response.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)])),
    body: text ? JSON.parse(text) : undefined,
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
