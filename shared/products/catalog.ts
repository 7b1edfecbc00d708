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
 * The catalog query as SQL text with numbered parameters, against `table` (runBenchmarks runs the very
 * same text against its fixture tables, with and without the GIN index).
 */
export function catalogQuery(
  filter: CatalogFilter,
  page: { after?: number | undefined; limit: number },
  table = 'products',
): { text: string; params: unknown[]; types: number[] } {
  const params: Array<{ value: unknown; type: number }> = [];
  const param = (value: unknown, cast: 'int' | 'jsonb' | 'numeric') => {
    params.push({ value, type: { int: OID.int4, jsonb: OID.jsonb, numeric: OID.numeric }[cast] });
    return `$${params.length}::${cast}`;
  };
  const where: string[] = [];
  if (page.after !== undefined) where.push(`product_id > ${param(page.after, 'int')}`);
  for (const [key, value] of Object.entries(filter.attributes)) {
    where.push(`(metadata @> ${param({ [key]: value }, 'jsonb')} or metadata @> ${param({ [key]: [value] }, 'jsonb')})`);
  }
  if (filter.minPrice !== undefined) where.push(`price >= ${param(filter.minPrice, 'numeric')}`);
  if (filter.maxPrice !== undefined) where.push(`price <= ${param(filter.maxPrice, 'numeric')}`);
  if (filter.inStock !== undefined) where.push(filter.inStock ? 'stock_quantity > 0' : 'stock_quantity = 0');
  const text =
    `select ${CATALOG_COLUMNS} from ${table}` +
    (where.length > 0 ? ` where ${where.join(' and ')}` : '') +
    ` order by product_id limit ${param(page.limit + 1, 'int')}`;
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
  // (the page fills after a few thousand rows), the GIN index for a rare one (else every product is read).
  // An unnamed statement is planned with its values each time (~0.15 ms); the types are given, so it is
  // still one round trip.
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
