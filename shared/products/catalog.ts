/**
 * The catalog: products filtered by their attributes (`metadata`), price and stock, in product-id order,
 * a page at a time (keyset: `product_id > the last one seen`, never OFFSET).
 *
 * An attribute filter `key = value` matches a product whose metadata holds that string under `key`, or an
 * array under `key` that contains it (`tags = sale`). Both are containment tests, `metadata @> {"key":
 * "value"}` or `metadata @> {"key": ["value"]}`, which the GIN index on metadata (jsonb_path_ops, built
 * for exactly @>) answers without reading a product that does not match; several filters are AND-ed
 * (the planner combines the index lookups). A jsonpath or `->>` test would be equivalent but could not
 * use that index.
 */
import { OID, type Sql } from '../clients/postgres.js';
import { type Page, toPage } from '../pagination.js';

export interface CatalogProduct {
  productId: number;
  name: string;
  /** Decimal string with two places, like every amount in the API. */
  price: string;
  stockQuantity: number;
  /** The product's metadata as stored: category, brand, colour, size, tags … */
  attributes: Record<string, unknown>;
}

export interface CatalogFilter {
  /** key → value, AND-ed; each matches a string value or an element of an array value. */
  attributes: Record<string, string>;
  /** Decimal strings ("10", "19.99"), inclusive. */
  minPrice?: string | undefined;
  maxPrice?: string | undefined;
  /** true: only products with stock left; false: only sold-out ones. */
  inStock?: boolean | undefined;
}

/** The most attribute filters one request may combine, and the longest key and value. */
export const CATALOG_LIMITS = { attributes: 10, keyLength: 64, valueLength: 200 } as const;

export const CATALOG_COLUMNS = `product_id as "productId", name, price::text as price, stock_quantity as "stockQuantity", metadata as attributes`;

/**
 * How many ids past the cursor a page looks through first, per row of the page. At 200, a value on 0.5 %
 * of the products is expected to fill its page there; rarer ones are mostly found through the GIN index.
 */
export const CATALOG_WINDOW_PER_ROW = 200;

/**
 * The catalog query as SQL text with numbered parameters, against `table` (tests also run it against a
 * copy of products without statistics).
 *
 * With an attribute filter a page is read in two parts, so that a wrong estimate cannot send a read of the
 * primary key in order through the whole catalogue. The planner chooses between that read (it stops when
 * the page is full) and the GIN index (then a sort) from its estimate of how many products match, and the
 * estimate can be far too high: for a rare value that ANALYZE's sample happened to put in the column's
 * histogram, or for values that are each common but never occur together (`category=apparel` with a shoe
 * size, taken as independent). The read in order then never fills the page and reads every product
 * (measured in docs/performance.md, read side).
 * - `head`: the page among the next CATALOG_WINDOW_PER_ROW × (limit + 1) ids, with the planner's free
 *   choice: a read of the key in order stops at the window's end.
 * - `tail`: the rest, only when `head` came back short, so the filter is rare beyond the window. Its range
 *   and order are written on `product_id + 0`, which no index provides (do not add an expression index
 *   on it), so the key can be read neither in order nor as a range and the GIN index is the way in; a
 *   sequential scan stays possible when the planner expects a large share of the products to match. The
 *   gate stands above the tail's plan: closed, nothing of the tail runs, not even parallel workers.
 */
export function catalogQuery(
  filter: CatalogFilter,
  page: { after?: number | undefined; limit: number },
  table = 'products',
): { text: string; params: unknown[]; types: number[] } {
  const params: Array<{ value: unknown; type: number }> = [];
  const param = (value: unknown, cast: 'int' | 'int8' | 'jsonb' | 'numeric') => {
    params.push({ value, type: { int: OID.int4, int8: OID.int8, jsonb: OID.jsonb, numeric: OID.numeric }[cast] });
    return `$${params.length}::${cast}`;
  };
  const after = page.after === undefined ? undefined : param(page.after, 'int');
  const where: string[] = [];
  for (const [key, value] of Object.entries(filter.attributes)) {
    where.push(`(metadata @> ${param({ [key]: value }, 'jsonb')} or metadata @> ${param({ [key]: [value] }, 'jsonb')})`);
  }
  const byAttribute = where.length > 0;
  if (filter.minPrice !== undefined) where.push(`price >= ${param(filter.minPrice, 'numeric')}`);
  if (filter.maxPrice !== undefined) where.push(`price <= ${param(filter.maxPrice, 'numeric')}`);
  if (filter.inStock !== undefined) where.push(filter.inStock ? 'stock_quantity > 0' : 'stock_quantity = 0');
  const rows = param(page.limit + 1, 'int');
  const select = (conditions: string[]) =>
    `select ${CATALOG_COLUMNS} from ${table}` + (conditions.length > 0 ? ` where ${conditions.join(' and ')}` : '');
  const fromCursor = after === undefined ? [] : [`product_id > ${after}`];
  const text = (() => {
    if (!byAttribute) return `${select([...fromCursor, ...where])} order by product_id limit ${rows}`;
    const start = after ?? `(select min(product_id)::int8 - 1 from ${table})`;
    const windowEnd = `${start}::int8 + ${param((page.limit + 1) * CATALOG_WINDOW_PER_ROW, 'int8')}`;
    const head = `${select([...fromCursor, `product_id <= ${windowEnd}`, ...where])} order by product_id limit ${rows}`;
    const tail = `${select([`product_id + 0 > ${windowEnd}`, ...where])} order by product_id + 0 limit ${rows}`;
    return (
      `with head as (${head}) select * from (select * from head union all ` +
      `select * from (${tail}) tail where (select count(*) from head) < ${rows}) page order by "productId" limit ${rows}`
    );
  })();
  return { text, params: params.map((p) => p.value), types: params.map((p) => p.type) };
}

/** What a cursor of this list is bound to: the same filters, whatever their order in the query string. */
export function catalogScope(filter: CatalogFilter): string {
  const attributes = Object.entries(filter.attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(['products', attributes, filter.minPrice ?? null, filter.maxPrice ?? null, filter.inStock ?? null]);
}

/** One page of the catalog (one round trip). `cursor` turns the last product id into the next page's cursor. */
export async function listProducts(
  sql: Sql,
  filter: CatalogFilter,
  page: { after?: number | undefined; limit: number },
  cursor: (after: number) => string,
): Promise<Page<CatalogProduct>> {
  const { text, params, types } = catalogQuery(filter, page);
  // Never a named prepared statement: after five runs PostgreSQL may keep a generic plan, chosen without
  // the values, and the right plan depends on them — the primary key read in order for a common attribute
  // (the page fills after a few thousand rows), the GIN index for a rare one (else the rest of the
  // catalogue is read). An unnamed statement is planned with its values each time (0.2–0.45 ms with an
  // attribute filter, at 100k–1M products); the types are given, so it is still one round trip.
  const typed = params.map((value, i) => sql.typed(value as never, types[i]!));
  const rows = await sql.unsafe<CatalogProduct[]>(text, typed as never[], { prepare: false });
  return toPage(rows, page.limit, (row) => row.productId, cursor);
}

export async function getProduct(sql: Sql, productId: number): Promise<CatalogProduct | undefined> {
  const [row] = await sql<
    CatalogProduct[]
  >`select ${sql.unsafe(CATALOG_COLUMNS)} from products where product_id = ${sql.typed(productId, OID.int4)}`;
  return row;
}
