/**
 * Reading orders back: a customer's history, newest first, a page at a time, and one order.
 *
 * One round trip per page: the page's orders come from the `(customer_id, order_date desc, order_id desc)`
 * B-tree in list order — the LIMIT stops the index scan after the page, and the key of the last order seen
 * continues it (keyset: page 50 reads what page 1 reads) — and each order's lines are aggregated next to it
 * by a correlated subquery on order_items' (order_id, product_id) index, so there is no query per order.
 * The cursor holds the last order's place, (order_date, order_id), as text: the date in microseconds since
 * the epoch, exact (a JSON date would lose the microseconds), so the next page starts at that place even if
 * the order was deleted or moved since.
 */
import { OID, type Sql } from '../clients/postgres.js';
import { type Page, toPage } from '../pagination.js';

export interface OrderLine {
  productId: number;
  name: string;
  quantity: number;
  /** The price paid (snapshotted at order time), a decimal string. */
  unitPrice: string;
}

export interface OrderSummary {
  orderId: number;
  customerId: number;
  /** ISO 8601 UTC. */
  orderDate: string;
  totalAmount: string;
  items: OrderLine[];
}

/** Who reads: an order is visible to its customer and to admins. */
export interface Reader {
  customerId: number | null;
  isAdmin: boolean;
}

const ORDER_COLUMNS = `o.order_id as "orderId", o.customer_id as "customerId",
  o.order_date as "orderDate", o.total_amount::text as "totalAmount",
  (select coalesce(json_agg(json_build_object('productId', i.product_id, 'name', p.name, 'quantity', i.quantity,
                                              'unitPrice', i.unit_price::text) order by i.product_id), '[]')
   from order_items i join products p on p.product_id = i.product_id
   where i.order_id = o.order_id) as items`;

/** An order's place in its customer's history as the cursor holds it: `<order_date in µs since the epoch>.<order_id>`. */
const PLACE = `(extract(epoch from o.order_date) * 1000000)::int8::text || '.' || o.order_id::text`;

/**
 * A page of a customer's orders as SQL text ($1 customer id, $2 the page size + 1, and for a next page the
 * last order's place: $3 its date in microseconds since the epoch, $4 its id). First and next pages are
 * two statements, not one with `$3 is null or …`: a prepared statement's generic plan could not use that
 * OR as an index condition, and would read every earlier order again.
 */
export function customerOrdersQuery(next: boolean): string {
  // µs × interval is computed exactly below 2^53 µs (the year 2255).
  const after = next ? `\n  and (o.order_date, o.order_id) < (timestamptz 'epoch' + $3::int8 * interval '1 microsecond', $4::int8)` : '';
  return `select ${ORDER_COLUMNS}, ${PLACE} as place
from orders o
where o.customer_id = $1::int${after}
order by o.order_date desc, o.order_id desc
limit $2::int`;
}

interface Row extends Omit<OrderSummary, 'orderDate'> {
  orderDate: Date;
}

const toSummary = ({ place: _, ...row }: Row & { place?: string }): OrderSummary => ({ ...row, orderDate: row.orderDate.toISOString() });

/** What a history cursor is bound to: this customer's list (a cursor of another customer's is refused). */
export const customerOrdersScope = (customerId: number) => `orders:customer:${customerId}`;

/**
 * One page of `customerId`'s orders, newest first. An empty first page also checks that the customer
 * exists (a second statement only then), so an unknown customer is told apart from one without orders.
 */
export async function listCustomerOrders(
  sql: Sql,
  customerId: number,
  page: { after?: string | undefined; limit: number },
  cursor: (after: string) => string,
): Promise<Page<OrderSummary> | undefined> {
  const first = [sql.typed(customerId, OID.int4), sql.typed(page.limit + 1, OID.int4)];
  // The place as text: both halves go to PostgreSQL as int8 text, never through a JavaScript number.
  const [micros, orderId] = page.after?.split('.') ?? [];
  const next = micros !== undefined && orderId !== undefined;
  const params = next ? [...first, sql.typed(micros, OID.int8), sql.typed(orderId, OID.int8)] : first;
  const rows = await sql.unsafe<Array<Row & { place: string }>>(customerOrdersQuery(next), params as never[], {
    prepare: sql.options.prepare,
  });
  if (rows.length === 0 && !next) {
    const [customer] = await sql`select 1 from customers where customer_id = ${sql.typed(customerId, OID.int4)}`;
    if (!customer) return undefined;
  }
  const { items, nextCursor } = toPage(rows, page.limit, (row) => row.place, cursor);
  return { items: items.map(toSummary), nextCursor };
}

/** One order, if `reader` may see it; undefined otherwise, so another customer's order looks unknown. */
export async function getOrder(sql: Sql, orderId: number, reader: Reader): Promise<OrderSummary | undefined> {
  const [row] = await sql<Row[]>`
    select ${sql.unsafe(ORDER_COLUMNS)}
    from orders o
    where o.order_id = ${sql.typed(orderId, OID.int8)}
      and (${reader.isAdmin}::boolean or o.customer_id = ${sql.typed(reader.customerId ?? 0, OID.int4)})`;
  return row ? toSummary(row) : undefined;
}
