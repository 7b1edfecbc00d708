import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, truncateShop } from './helpers.js';

/** The schema's last line of defence, exercised directly in SQL on shop_test. */
const sql = connect();

/** The SQLSTATE a statement fails with (or 'ok'). */
async function sqlState(statement: Promise<unknown>): Promise<string> {
  try {
    await statement;
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

/** The constraint a statement violates (postgres.js exposes it as constraint_name). */
async function violated(statement: Promise<unknown>): Promise<string> {
  try {
    await statement;
    return 'none';
  } catch (error) {
    return (error as { constraint_name?: string }).constraint_name ?? String(error);
  }
}

const CHECK_VIOLATION = '23514';
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';
const NOT_NULL_VIOLATION = '23502';
const NUMERIC_OVERFLOW = '22003';

beforeEach(async () => {
  await truncateShop(sql);
  // Identities restart at 1: customer 1, products 1 and 2, order 1 with one line.
  await sql`insert into customers (name, email) values ('Ada Lovelace', 'ada@example.com')`;
  await sql`insert into products (name, price, stock_quantity, metadata)
            values ('Mug', 9.99, 10, '{"category": "home"}'), ('Lamp', 24.50, 3, '{}')`;
  await sql`insert into orders (customer_id, total_amount) values (1, 9.99)`;
  await sql`insert into order_items (order_id, product_id, quantity, unit_price) values (1, 1, 1, 9.99)`;
});

afterAll(async () => {
  await sql.end({ timeout: 5 });
});

describe('products', () => {
  it('reject negative stock, on insert and on update (no overselling)', async () => {
    expect(await sqlState(sql`insert into products (name, price, stock_quantity) values ('X', 1, -1)`)).toBe(CHECK_VIOLATION);
    expect(await sqlState(sql`update products set stock_quantity = stock_quantity - 11 where product_id = 1`)).toBe(CHECK_VIOLATION);
    expect(await sqlState(sql`update products set stock_quantity = stock_quantity - 10 where product_id = 1`)).toBe('ok');
  });

  it('reject a negative price and accept zero', async () => {
    expect(await sqlState(sql`insert into products (name, price, stock_quantity) values ('X', -0.01, 1)`)).toBe(CHECK_VIOLATION);
    expect(await sqlState(sql`insert into products (name, price, stock_quantity) values ('Free', 0, 1)`)).toBe('ok');
  });

  it('reject metadata that is not a JSON object, and missing required fields', async () => {
    expect(await sqlState(sql`insert into products (name, price, stock_quantity, metadata) values ('X', 1, 1, '[1]')`)).toBe(
      CHECK_VIOLATION,
    );
    expect(await sqlState(sql`insert into products (name, price) values ('X', 1)`)).toBe(NOT_NULL_VIOLATION);
  });
});

describe('customers', () => {
  it('reject an email that differs only by case (case-insensitive uniqueness)', async () => {
    expect(await sqlState(sql`insert into customers (name, email) values ('Ada', 'ADA@Example.COM')`)).toBe(UNIQUE_VIOLATION);
    expect(await violated(sql`insert into customers (name, email) values ('Ada', 'Ada@example.com')`)).toBe('customers_email_key');
    expect(await sqlState(sql`insert into customers (name, email) values ('Ada', 'ada@example.com')`)).toBe(UNIQUE_VIOLATION);
    expect(await sqlState(sql`insert into customers (name, email) values ('Ada II', 'ada2@example.com')`)).toBe('ok');
  });

  it('reject an email without @ and an empty name', async () => {
    expect(await sqlState(sql`insert into customers (name, email) values ('Bob', 'bob.example.com')`)).toBe(CHECK_VIOLATION);
    expect(await sqlState(sql`insert into customers (name, email) values ('', 'bob@example.com')`)).toBe(CHECK_VIOLATION);
  });
});

describe('orders and order lines', () => {
  it('reject a zero or negative quantity', async () => {
    expect(await sqlState(sql`insert into order_items (order_id, product_id, quantity, unit_price) values (1, 2, 0, 24.50)`)).toBe(
      CHECK_VIOLATION,
    );
    expect(await sqlState(sql`insert into order_items (order_id, product_id, quantity, unit_price) values (1, 2, -1, 24.50)`)).toBe(
      CHECK_VIOLATION,
    );
  });

  it('reject a negative unit price or total', async () => {
    expect(await sqlState(sql`insert into order_items (order_id, product_id, quantity, unit_price) values (1, 2, 1, -1)`)).toBe(
      CHECK_VIOLATION,
    );
    expect(await sqlState(sql`insert into orders (customer_id, total_amount) values (1, -0.01)`)).toBe(CHECK_VIOLATION);
  });

  it('reject orphans: a line without its order or product, an order without its customer', async () => {
    expect(await sqlState(sql`insert into order_items (order_id, product_id, quantity, unit_price) values (999, 1, 1, 9.99)`)).toBe(
      FOREIGN_KEY_VIOLATION,
    );
    expect(await sqlState(sql`insert into order_items (order_id, product_id, quantity, unit_price) values (1, 999, 1, 9.99)`)).toBe(
      FOREIGN_KEY_VIOLATION,
    );
    expect(await sqlState(sql`insert into orders (customer_id, total_amount) values (999, 0)`)).toBe(FOREIGN_KEY_VIOLATION);
    expect(await violated(sql`insert into order_items (order_id, product_id, quantity, unit_price) values (999, 1, 1, 9.99)`)).toBe(
      'order_items_order_id_fkey',
    );
    expect(await sqlState(sql`delete from products where product_id = 1`)).toBe(FOREIGN_KEY_VIOLATION);
    expect(await sqlState(sql`delete from customers where customer_id = 1`)).toBe(FOREIGN_KEY_VIOLATION);
  });

  it('reject the same product twice in one order', async () => {
    expect(await sqlState(sql`insert into order_items (order_id, product_id, quantity, unit_price) values (1, 1, 2, 9.99)`)).toBe(
      UNIQUE_VIOLATION,
    );
  });

  it('delete an order together with its lines', async () => {
    await sql`delete from orders where order_id = 1`;
    const [row] = await sql<Array<{ count: number }>>`select count(*)::int as count from order_items`;
    expect(row?.count).toBe(0);
  });
});

describe('money is numeric(12,2), never float', () => {
  it('rounds to cents on the way in (half away from zero), and sums exactly', async () => {
    await sql`insert into products (product_id, name, price, stock_quantity) values
              (10, 'A', 0.1, 1), (11, 'B', 0.2, 1), (12, 'C', 19.995, 1), (13, 'D', 19.994, 1), (14, 'E', 1e-3, 1)`;
    const rows = await sql<Array<{ price: string }>>`select price::text from products where product_id >= 10 order by product_id`;
    expect(rows.map((r) => r.price)).toEqual(['0.10', '0.20', '20.00', '19.99', '0.00']);
    const [sum] = await sql<Array<{ exact: string; float: number }>>`
      select sum(price)::text as exact, sum(price::float8) as float from products where product_id in (10, 11)`;
    expect(sum?.exact).toBe('0.30');
    expect(sum?.float).not.toBe(0.3); // what float money would have stored
  });

  it('rejects amounts beyond 12 digits instead of truncating them', async () => {
    expect(await sqlState(sql`insert into products (name, price, stock_quantity) values ('X', 10000000000, 1)`)).toBe(NUMERIC_OVERFLOW);
    expect(await sqlState(sql`insert into products (name, price, stock_quantity) values ('X', 9999999999.99, 1)`)).toBe('ok');
  });
});
