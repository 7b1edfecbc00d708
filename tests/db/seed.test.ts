import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeedError, type SeedOptions, type SeedProgress, type SeedSummary, seed } from '../../scripts/db/seed.js';
import { METADATA_KEYS, SeedDataGenerator } from '../../scripts/db/seed-data.js';
import { connect, rowCounts, SHOP_TABLES, schemaFingerprint, shopDigest, testDatabaseUrl, truncateShop } from './helpers.js';

/** The seed's invariants on a small seed in shop_test. */
const url = testDatabaseUrl();
const sql = connect();
const AS_OF = '2026-01-01T00:00:00.000Z';
const SMALL: SeedOptions = { customers: 300, products: 80, orders: 2_000, seed: 7, asOf: AS_OF, reset: true };

let summary: SeedSummary;
let progress: SeedProgress[];
let schemaBefore: string[];

async function expectSeedError(promise: Promise<unknown>, code: SeedError['code']): Promise<SeedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SeedError);
  expect((error as SeedError).code).toBe(code);
  return error as SeedError;
}

/** Seed sessions still open, waiting up to 3 s for backends of closed connections to exit. */
async function seedSessionsAfterSettling(): Promise<number> {
  let count = -1;
  for (let attempt = 0; attempt < 30; attempt++) {
    const [row] = await sql<Array<{ count: number }>>`
      select count(*)::int as count from pg_stat_activity where application_name = 'ecommerce-pipeline-seed'`;
    count = row!.count;
    if (count === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return count;
}

beforeAll(async () => {
  await truncateShop(sql);
  schemaBefore = await schemaFingerprint(sql, SHOP_TABLES);
  progress = [];
  summary = await seed(url, { ...SMALL, onProgress: (p) => progress.push(p) });
});

afterAll(async () => {
  await sql.end({ timeout: 5 });
});

describe('seed: counts and summary', () => {
  it('creates exactly the requested customers, products and orders', async () => {
    const counts = await rowCounts(sql);
    expect(counts).toMatchObject({ customers: 300, products: 80, orders: 2_000 });
    expect(summary.rows).toEqual(counts);
    expect(summary.totalRows).toBe(counts.customers! + counts.products! + counts.orders! + counts.order_items!);
    expect(summary.skipped).toBe(false);
    expect(summary.seed).toBe(7);
    expect(summary.asOf).toBe(AS_OF);
    expect(summary.elapsedMs).toBeGreaterThan(0);
    expect(summary.rowsPerSecond).toBeGreaterThan(0);
  });

  it('averages about 2.5 lines per order', () => {
    const perOrder = summary.rows.order_items / summary.rows.orders;
    expect(perOrder).toBeGreaterThan(2.3);
    expect(perOrder).toBeLessThan(2.7);
  });

  it('reports progress for every table up to its total, then indexes, analyze and foreign keys', () => {
    for (const table of SHOP_TABLES) {
      const last = progress.filter((p) => p.table === table).at(-1);
      expect(last).toEqual({ table, done: summary.rows[table], total: summary.rows[table] });
    }
    expect(progress.map((p) => p.table)).toEqual(expect.arrayContaining(['indexes', 'analyze', 'foreign keys']));
  });
});

describe('seed: consistency', () => {
  it('gives every order 1–5 lines, each for a different product', async () => {
    const [row] = await sql<Array<{ without: number; min: number; max: number; duplicates: number }>>`
      select (select count(*) from orders o where not exists (select 1 from order_items i where i.order_id = o.order_id))::int as without,
             min(n)::int as min, max(n)::int as max, sum(n - d)::int as duplicates
      from (select count(*) as n, count(distinct product_id) as d from order_items group by order_id) s`;
    expect(row).toEqual({ without: 0, min: 1, max: 5, duplicates: 0 });
  });

  it('makes total_amount = Σ unit_price × quantity for every order, to the cent', async () => {
    const [row] = await sql<Array<{ mismatched: number; checked: number }>>`
      select count(*) filter (where o.total_amount <> s.total)::int as mismatched, count(*)::int as checked
      from orders o join (select order_id, sum(unit_price * quantity) as total from order_items group by order_id) s using (order_id)`;
    expect(row).toEqual({ mismatched: 0, checked: 2_000 });
  });

  it('snapshots unit prices: mostly today’s price, older lines sometimes the price before a change', async () => {
    const [row] = await sql<Array<{ current: number; other: number; invalid: number }>>`
      select count(*) filter (where i.unit_price = p.price)::int as current,
             count(*) filter (where i.unit_price <> p.price)::int as other,
             count(*) filter (where i.unit_price <= 0)::int as invalid
      from order_items i join products p using (product_id)`;
    expect(row!.invalid).toBe(0);
    expect(row!.current).toBeGreaterThan(row!.other);
    expect(row!.other).toBeGreaterThan(0);
  });

  it('leaves stock non-negative, and more stock where more sells', async () => {
    const [row] = await sql<Array<{ negative: number; top: number; rest: number }>>`
      with sales as (
        select p.product_id, p.stock_quantity, coalesce(sum(i.quantity), 0) as units,
               ntile(10) over (order by coalesce(sum(i.quantity), 0) desc) as decile
        from products p left join order_items i using (product_id) group by p.product_id)
      select count(*) filter (where stock_quantity < 0)::int as negative,
             avg(stock_quantity) filter (where decile = 1)::float8 as top,
             avg(stock_quantity) filter (where decile > 1)::float8 as rest
      from sales`;
    expect(row!.negative).toBe(0);
    expect(row!.top).toBeGreaterThan(row!.rest);
  });

  it('skews sales: the top 10 % of products sell over 40 % of the units (Zipf-like)', async () => {
    const [row] = await sql<Array<{ share: number }>>`
      with units as (select product_id, sum(quantity) as u from order_items group by product_id),
           ranked as (select u, row_number() over (order by u desc) as r, count(*) over () as n from units)
      select (sum(u) filter (where r <= ${80 / 10}) / sum(u))::float8 as share from ranked`;
    expect(row!.share).toBeGreaterThan(0.4);
    expect(row!.share).toBeLessThan(0.9);
  });

  it('dates orders in the 12 months before asOf, non-decreasing with order_id', async () => {
    const [row] = await sql<Array<{ min: Date; max: Date; backwards: number }>>`
      select min(order_date) as min, max(order_date) as max,
             count(*) filter (where order_date < previous)::int as backwards
      from (select order_date, lag(order_date) over (order by order_id) as previous from orders) s`;
    const asOf = new Date(AS_OF).getTime();
    expect(row!.min.getTime()).toBeGreaterThanOrEqual(asOf - 365 * 86_400_000);
    expect(row!.max.getTime()).toBeLessThan(asOf);
    expect(row!.max.getTime()).toBeGreaterThan(asOf - 7 * 86_400_000);
    expect(row!.backwards).toBe(0);
  });

  it('gives customers unique, case-insensitively distinct emails, some with capitals', async () => {
    const [row] = await sql<Array<{ distinct: number; mixed: number }>>`
      select count(distinct lower(email))::int as distinct, count(*) filter (where email <> lower(email))::int as mixed from customers`;
    expect(row!.distinct).toBe(300);
    expect(row!.mixed).toBeGreaterThan(0);
  });

  it('gives every product metadata with category, brand, colour, size and material', async () => {
    const [row] = await sql<Array<{ missing: number; categories: number; colours: number }>>`
      select count(*) filter (where not metadata ?& ${METADATA_KEYS as unknown as string[]})::int as missing,
             count(distinct metadata ->> 'category')::int as categories,
             count(distinct metadata ->> 'colour')::int as colours
      from products`;
    expect(row!.missing).toBe(0);
    expect(row!.categories).toBeGreaterThanOrEqual(5);
    expect(row!.colours).toBeGreaterThanOrEqual(8);
  });

  it('rebuilds keys, indexes and foreign keys exactly as the migrations define them (validated)', async () => {
    expect(await schemaFingerprint(sql, SHOP_TABLES)).toEqual(schemaBefore);
  });

  it('moves identity sequences past the loaded ids', async () => {
    const [customer] = await sql<Array<{ id: number }>>`
      insert into customers (name, email) values ('New', 'new.customer@example.com') returning customer_id as id`;
    expect(customer!.id).toBe(301);
    const [order] = await sql<Array<{ id: number }>>`insert into orders (customer_id, total_amount) values (1, 0) returning order_id as id`;
    expect(order!.id).toBe(2_001);
    await sql`delete from orders where order_id = 2001`;
    await sql`delete from customers where customer_id = 301`;
  });

  it('analyzes the tables (planner statistics present)', async () => {
    const [row] = await sql<Array<{ analyzed: number }>>`
      select count(*)::int as analyzed from pg_stats where schemaname = 'public' and tablename = 'order_items'`;
    expect(row!.analyzed).toBeGreaterThan(0);
  });
});

describe('seed: determinism', () => {
  it('same seed ⇒ identical rows; different seed ⇒ different rows', async () => {
    const first = await shopDigest(sql);
    await seed(url, SMALL);
    expect(await shopDigest(sql)).toEqual(first);
    await seed(url, { ...SMALL, seed: 8 });
    const other = await shopDigest(sql);
    for (const table of SHOP_TABLES) expect(other[table]).not.toBe(first[table]);
    await seed(url, SMALL); // back to seed 7 for the tests below
    expect(await shopDigest(sql)).toEqual(first);
  });
});

describe('seed: refusals and failures leave the previous data intact', () => {
  it('refuses a database that has data unless reset is set', async () => {
    const before = await shopDigest(sql);
    const error = await expectSeedError(seed(url, { ...SMALL, reset: false }), 'NOT_EMPTY');
    expect(error.message).toMatch(/already has data.*--reset/);
    expect(await shopDigest(sql)).toEqual(before);
  });

  it('skips (changes nothing) with ifEmpty on a database that has data', async () => {
    const before = await shopDigest(sql);
    const result = await seed(url, { ...SMALL, seed: 99, reset: false, ifEmpty: true });
    expect(result.skipped).toBe(true);
    expect(result.totalRows).toBe(0);
    expect(await shopDigest(sql)).toEqual(before);
  });

  it.each(['customers', 'order_items', 'indexes', 'analyze', 'foreign keys'] as const)(
    'rolls back everything when it fails at %s',
    async (failAt) => {
      const before = await shopDigest(sql);
      await expectSeedError(seed(url, { ...SMALL, seed: 42, failAt }), 'LOAD_FAILED');
      expect(await shopDigest(sql)).toEqual(before);
      expect(await schemaFingerprint(sql, SHOP_TABLES)).toEqual(schemaBefore);
      // The seed's session is gone (no connection left idle in an aborted transaction).
      expect(await seedSessionsAfterSettling()).toBe(0);
    },
  );

  it.each([
    ['in the middle of', 0.3],
    ['at the very end of', 1],
  ] as const)(
    'rolls back (and neither hangs nor crashes) when Postgres rejects rows %s a COPY',
    async (_where, fraction) => {
      const before = await shopDigest(sql);
      // A temporary CHECK that the generated lines violate from some item_id on. At the very end, the
      // server rejects the COPY after the client has sent everything: the postgres.js case that would
      // hang forever (porsager/postgres#1173); in the middle, the driver destroys the stream.
      const options = { ...SMALL, seed: 43, customers: 10, products: 10, orders: 20_000 };
      const lines = new SeedDataGenerator({ ...options, seed: 43, asOf: new Date(AS_OF) }).orderItemCount;
      const limit = Math.ceil(lines * fraction);
      await sql`alter table order_items drop constraint if exists seed_test_reject`;
      await sql.unsafe(`alter table order_items add constraint seed_test_reject check (item_id < ${limit})`);
      try {
        const error = await expectSeedError(seed(url, options), 'LOAD_FAILED');
        expect(error.message).toMatch(/order_items|seed_test_reject/);
      } finally {
        await sql`alter table order_items drop constraint seed_test_reject`;
      }
      expect(await shopDigest(sql)).toEqual(before);
      expect(await seedSessionsAfterSettling()).toBe(0);
    },
    60_000,
  );

  it('rejects invalid options before touching the database', async () => {
    const before = await shopDigest(sql);
    const bad: Array<[Partial<SeedOptions>, RegExp]> = [
      [{ orders: -5 }, /orders must be a non-negative integer/],
      [{ customers: 1.5 }, /customers must be a non-negative integer/],
      [{ products: Number.NaN }, /products must be a non-negative integer/],
      [{ products: 0, orders: 10 }, /orders need products/],
      [{ customers: 0, orders: 10 }, /orders need customers/],
      [{ seed: -1 }, /seed must be/],
      [{ asOf: 'not a date' }, /asOf must be/],
    ];
    for (const [override, message] of bad) {
      const error = await expectSeedError(seed(url, { ...SMALL, ...override }), 'INVALID_OPTIONS');
      expect(error.message).toMatch(message);
    }
    expect(await shopDigest(sql)).toEqual(before);
  });

  it('reports an unreachable database clearly', async () => {
    const unreachable = new URL(url);
    unreachable.port = '1';
    const error = await expectSeedError(seed(unreachable.toString(), SMALL), 'CONNECTION');
    expect(error.message).toMatch(/cannot connect to postgres:\/\/.*:1\/.*ECONNREFUSED/);
  });

  it('loads into an empty schema without reset', async () => {
    await truncateShop(sql);
    const result = await seed(url, { ...SMALL, reset: false, orders: 50 });
    expect(result.rows.orders).toBe(50);
    await seed(url, SMALL);
  });
});
