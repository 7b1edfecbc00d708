import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlanNode, planNodes } from '../../shared/benchmarks/measure.js';
import { postgresOptions, type Sql } from '../../shared/clients/postgres.js';
import { parseConfig } from '../../shared/config.js';
import { createOrder } from '../../shared/orders/create-order.js';
import { customerOrdersQuery, getOrder, listCustomerOrders, type OrderSummary } from '../../shared/orders/history.js';
import { insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { httpEvent, lambdaContext } from '../helpers/lambda.js';

/**
 * A customer's order history against PostgreSQL: pages walked to the end equal a ground truth written
 * independently (also while new orders arrive), ties on the timestamp broken by id, one statement per
 * page, and the order lookup's visibility rule.
 */
const sql = testSql();
let statements = 0;
/** A pool that counts the statements it sends (postgres.js calls `debug` once per query). */
const counted = postgres(parseConfig(process.env).database.url, {
  ...postgresOptions(parseConfig(process.env).database, 'ecommerce-pipeline-tests'),
  max: 1,
  debug: () => void statements++,
}) as unknown as Sql;

let ann: number;
let bob: number;
let products: number[];
const START = Date.UTC(2026, 0, 1);

/** Every order of `customerId` (ids, newest first, ties by id), from a query that shares nothing with the implementation's. */
async function truth(customerId: number): Promise<number[]> {
  const rows = await sql<Array<{ id: number }>>`
    select order_id as id from orders where customer_id = ${customerId}
    order by extract(epoch from order_date) desc, order_id desc`;
  return rows.map((row) => row.id);
}

async function walk(customerId: number, limit: number, between?: () => Promise<void>): Promise<OrderSummary[]> {
  const all: OrderSummary[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await listCustomerOrders(counted, customerId, { after, limit }, String);
    if (!page) throw new Error('unknown customer');
    all.push(...page.items);
    if (page.nextCursor === null) return all;
    after = page.nextCursor;
    await between?.();
  }
}

beforeAll(async () => {
  await resetShop(sql);
  const fixtures = await insertFixtures(sql, { customers: 3, products: 6, stock: 10_000 });
  [ann, bob] = fixtures.customerIds as [number, number];
  products = fixtures.productIds;
  // 157 orders for Ann: several share a timestamp to the microsecond (ties broken by id), some are a
  // microsecond apart (which a millisecond timestamp in the cursor would merge); 9 for Bob.
  await sql`
    insert into orders (customer_id, order_date, total_amount)
    select ${ann}, to_timestamp(${START / 1000}) + (g / 3) * interval '1 hour' + (g % 2) * interval '1 microsecond', 0
    from generate_series(1, 157) g`;
  await sql`
    insert into orders (customer_id, order_date, total_amount)
    select ${bob}, to_timestamp(${START / 1000}) + g * interval '1 day', 0 from generate_series(1, 9) g`;
  await sql`
    insert into order_items (order_id, product_id, quantity, unit_price)
    select o.order_id, p.product_id, 1 + o.order_id % 3, 10.50
    from orders o cross join lateral (select product_id from products order by product_id limit 1 + o.order_id % 3) p`;
  await sql`update orders o set total_amount = (select sum(quantity * unit_price) from order_items i where i.order_id = o.order_id)`;
  await sql`analyze orders`;
});

afterAll(async () => {
  await counted.end();
  await sql.end();
});

describe('a customer’s order history', () => {
  it('walking the pages returns every order once, newest first, ties broken by id, for every page size', async () => {
    const expected = await truth(ann);
    expect(expected).toHaveLength(157);
    for (const limit of [1, 2, 3, 7, 20, 100, 157, 200]) {
      expect(
        (await walk(ann, limit)).map((order) => order.orderId),
        `limit ${limit}`,
      ).toEqual(expected);
    }
    expect((await walk(bob, 4)).map((order) => order.orderId)).toEqual(await truth(bob));
  });

  it('stays exact while new orders arrive: they are newer than the cursor and shift nothing', async () => {
    const expected = await truth(ann);
    const arriving: number[] = [];
    const walked = await walk(ann, 10, async () => {
      const { order } = await createOrder(sql, { customerId: ann, items: [{ productId: products[0]!, quantity: 1 }] });
      arriving.push(order.orderId);
    });
    expect(walked.map((order) => order.orderId)).toEqual(expected);
    expect(arriving.length).toBeGreaterThan(10);
    // …and the next walk starts with them.
    expect((await walk(ann, 50)).slice(0, arriving.length).map((order) => order.orderId)).toEqual(arriving.reverse());
  });

  it('each order comes with its lines, names and prices paid; one statement per page', async () => {
    statements = 0;
    const page = await listCustomerOrders(counted, bob, { limit: 4 }, String);
    expect(statements).toBe(1);
    statements = 0;
    await listCustomerOrders(counted, bob, { after: page!.nextCursor!, limit: 4 }, String);
    expect(statements).toBe(1);
    const [first] = page!.items;
    const lines = await sql<Array<{ productId: number; name: string; quantity: number; unitPrice: string }>>`
      select i.product_id as "productId", p.name, i.quantity, i.unit_price::text as "unitPrice"
      from order_items i join products p using (product_id) where i.order_id = ${first!.orderId} order by i.product_id`;
    expect(first).toMatchObject({ customerId: bob, items: lines });
    expect(first!.items.length).toBeGreaterThan(0);
    expect(first!.totalAmount).toMatch(/^\d+\.\d{2}$/);
    expect(first!.orderDate).toBe(new Date(START + 9 * 86_400_000).toISOString());
  });

  it('the page after an order deleted since continues where it was: the list never ends early', async () => {
    const expected = await truth(bob);
    let key: Parameters<Parameters<typeof listCustomerOrders>[3]>[0] | undefined;
    const first = await listCustomerOrders(sql, bob, { limit: 3 }, (after) => {
      key = after;
      return 'next';
    });
    expect(first!.items.map((order) => order.orderId)).toEqual(expected.slice(0, 3));
    // The order the cursor continues after is deleted (an admin cancels it) before the next page is asked for.
    await sql`delete from orders where order_id = ${expected[2]!}`;
    const next = await listCustomerOrders(sql, bob, { after: key, limit: 3 }, String);
    expect(next!.items.map((order) => order.orderId)).toEqual(expected.slice(3, 6));
  });

  it('an unknown customer is told apart from one without orders', async () => {
    expect(await listCustomerOrders(sql, 999_999, { limit: 5 }, String)).toBeUndefined();
    const [{ id }] = await sql<
      [{ id: number }]
    >`insert into customers (name, email) values ('New', 'new@example.test') returning customer_id as id`;
    expect(await listCustomerOrders(sql, id, { limit: 5 }, String)).toEqual({ items: [], nextCursor: null });
  });

  it('page 50 is read from the index like page 1: no sort, and no earlier order read again', async () => {
    // Fresh statistics (the previous tests added orders; autovacuum may be halfway through analysing them).
    await sql`analyze orders`;
    const ids = await truth(ann);
    const [place] = await sql<[{ micros: string }]>`
      select (extract(epoch from order_date) * 1000000)::int8::text as micros from orders where order_id = ${ids[150]!}`;
    for (const [next, params] of [
      [false, [ann, 3]],
      [true, [ann, 3, place.micros, ids[150]]],
    ] as const) {
      const [row] = await sql.unsafe<Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>(
        `explain (analyze, format json) ${customerOrdersQuery(next)}`,
        params as unknown as never[],
      );
      const nodes = planNodes(row!['QUERY PLAN'][0]!.Plan);
      // The page itself is never sorted. (Inside the subplan that reads one order's lines, a sort of those
      // few lines for a merge join with products is the planner's choice when products is large.)
      const pageNodes = (node: PlanNode): PlanNode[] => [
        node,
        ...(node.Plans ?? []).filter((child) => child['Parent Relationship'] !== 'SubPlan').flatMap(pageNodes),
      ];
      expect(
        pageNodes(row!['QUERY PLAN'][0]!.Plan).map((node) => node['Node Type']),
        JSON.stringify(nodes),
      ).not.toContain('Sort');
      // The outer scan reads the page (+1 row) from the index and stops.
      const scan = nodes.find(
        (node) => node['Index Name'] === 'orders_customer_id_idx' && node['Relation Name'] === 'orders' && node.Alias === 'o',
      );
      expect(scan, JSON.stringify(nodes.map((node) => node['Node Type']))).toBeDefined();
      expect(scan!['Actual Rows']).toBe(3);
    }
  });
});

describe('one order', () => {
  it('is visible to its customer and to admins, and to anyone else does not exist', async () => {
    const [id] = await truth(bob);
    expect(await getOrder(sql, id!, { customerId: bob, isAdmin: false })).toMatchObject({ orderId: id, customerId: bob });
    expect(await getOrder(sql, id!, { customerId: null, isAdmin: true })).toMatchObject({ orderId: id });
    expect(await getOrder(sql, id!, { customerId: ann, isAdmin: false })).toBeUndefined();
    expect(await getOrder(sql, id!, { customerId: null, isAdmin: false })).toBeUndefined();
    expect(await getOrder(sql, 999_999_999, { customerId: null, isAdmin: true })).toBeUndefined();
  });
});

describe('order ids past 32 bits (orders.order_id is bigint; an order table outgrows 2^31 first)', () => {
  it('are answered by POST /orders and found by GET /orders/{orderId}', async () => {
    const { handler: placeOrder } = await import('../../functions/createOrder.js');
    const { handler: readOrder } = await import('../../functions/getOrder.js');
    const [{ last }] = await sql<[{ last: number }]>`select coalesce(max(order_id), 0)::int8 as last from orders`;
    await sql`select setval(pg_get_serial_sequence('orders', 'order_id'), 2147483647)`;
    try {
      const placed = (await placeOrder(
        httpEvent({ method: 'POST', path: '/orders', body: { customerId: bob, items: [{ productId: products[0]!, quantity: 1 }] } }),
        lambdaContext(),
      )) as { statusCode: number; body: string };
      expect(placed.statusCode, placed.body).toBe(201);
      const orderId = JSON.parse(placed.body).orderId as number;
      expect(orderId).toBe(2_147_483_648);
      const read = (await readOrder(
        httpEvent({
          method: 'GET',
          path: `/orders/${orderId}`,
          routeKey: 'GET /orders/{orderId}',
          pathParameters: { orderId: String(orderId) },
        }),
        lambdaContext(),
      )) as { statusCode: number; body: string };
      expect(read.statusCode, read.body).toBe(200);
      expect(JSON.parse(read.body)).toMatchObject({ orderId, customerId: bob });
    } finally {
      await sql`delete from orders where order_id > 2147483646`;
      await sql`select setval(pg_get_serial_sequence('orders', 'order_id'), ${Math.max(last, 1)})`;
    }
  });
});
