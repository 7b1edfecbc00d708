import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { postgresOptions, type Sql } from '../../shared/clients/postgres.js';
import { parseConfig } from '../../shared/config.js';

/** A pool for test assertions and fixtures, on the test database (never the dev one). */
export function testSql(): Sql {
  const config = parseConfig(process.env);
  return postgres(config.database.url, { ...postgresOptions(config.database, 'ecommerce-pipeline-tests'), max: 4 }) as unknown as Sql;
}

/** Empties every table of the shop schema (identities restarted) so a test file starts from nothing. */
export async function resetShop(sql: Sql): Promise<void> {
  await sql`truncate order_items, orders, products, customers restart identity cascade`;
}

export interface Fixtures {
  customerIds: number[];
  productIds: number[];
}

/** Inserts `customers` customers and `products` products (price 10.00 + id, the given stock). */
export async function insertFixtures(
  sql: Sql,
  { customers = 3, products = 5, stock = 100 }: { customers?: number; products?: number; stock?: number } = {},
): Promise<Fixtures> {
  const customerRows = await sql<Array<{ id: number }>>`
    insert into customers (name, email)
    select 'Customer ' || g, 'customer' || g || '-' || md5(random()::text) || '@example.test'
    from generate_series(1, ${customers}) g
    returning customer_id as id`;
  const productRows = await sql<Array<{ id: number }>>`
    insert into products (name, price, stock_quantity, metadata)
    select 'Product ' || g, 10 + g + 0.5, ${stock}, jsonb_build_object('category', 'test', 'colour', case when g % 2 = 0 then 'red' else 'blue' end)
    from generate_series(1, ${products}) g
    returning product_id as id`;
  return { customerIds: customerRows.map((r) => r.id), productIds: productRows.map((r) => r.id) };
}

/** Whether the tests' role may create roles: a superuser or CREATEROLE (a role made as the README shows is neither). */
export async function canCreateRoles(sql: Sql): Promise<boolean> {
  const [row] = await sql<Array<{ can: boolean }>>`select rolsuper or rolcreaterole as can from pg_roles where rolname = current_user`;
  return row?.can === true;
}

/**
 * A login role of a test's own, with a password and the shop's tables and sequences granted (`privileges`): the
 * URL that logs in as it, and `drop`, which removes it and its grants.
 */
export async function temporaryRole(sql: Sql, name: string, privileges: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const password = randomBytes(12).toString('hex');
  await sql`create role ${sql(name)} login password ${sql.unsafe(`'${password}'`)}`;
  const drop = async () => {
    await sql`revoke all on all tables in schema public from ${sql(name)}`;
    await sql`revoke all on all sequences in schema public from ${sql(name)}`;
    await sql`drop role ${sql(name)}`;
  };
  try {
    await sql.unsafe(`grant ${privileges} on all tables in schema public to "${name}"`);
    await sql`grant usage on all sequences in schema public to ${sql(name)}`;
  } catch (error) {
    await drop();
    throw error;
  }
  const url = new URL(parseConfig(process.env).database.url);
  url.username = name;
  url.password = password;
  return { url: url.href, drop };
}
