import type { Sql } from '../clients/postgres.js';
import { ConflictError, NotFoundError } from '../errors.js';

export interface OrderItemInput {
  productId: number;
  quantity: number;
}

export interface CreateOrderInput {
  customerId: number;
  items: OrderItemInput[];
}

export interface Order {
  orderId: number;
  customerId: number;
  orderDate: string;
  totalAmount: string;
  items: Array<{ productId: number; quantity: number; unitPrice: string }>;
}

/** Merges duplicate product lines and sorts by product id (the lock order that prevents deadlocks). */
export function mergeItems(items: OrderItemInput[]): OrderItemInput[] {
  const quantities = new Map<number, number>();
  for (const { productId, quantity } of items) quantities.set(productId, (quantities.get(productId) ?? 0) + quantity);
  return [...quantities.entries()].sort(([a], [b]) => a - b).map(([productId, quantity]) => ({ productId, quantity }));
}

/**
 * Places an order in one transaction: product rows locked in ascending id order (FOR UPDATE), customer
 * and stock checked, prices read from the database, order + lines inserted with the unit price
 * snapshot, total computed in numeric, stock decremented. Any error rolls everything back.
 */
export async function createOrder(sql: Sql, input: CreateOrderInput): Promise<Order> {
  const items = mergeItems(input.items);
  const productIds = items.map((item) => item.productId);
  const quantities = items.map((item) => item.quantity);

  return sql.begin(async (tx) => {
    const locked = await tx<Array<{ productId: number; price: string; stock: number }>>`
      select product_id as "productId", price, stock_quantity as stock
      from products
      where product_id = any(${productIds}::int[])
      order by product_id
      for update`;
    const [customer] = await tx`select 1 from customers where customer_id = ${input.customerId}`;
    if (!customer) {
      throw new NotFoundError('CUSTOMER_NOT_FOUND', `Customer ${input.customerId} does not exist.`, {
        customerId: input.customerId,
      });
    }
    const found = new Map(locked.map((row) => [row.productId, row]));
    const missing = productIds.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw new NotFoundError('PRODUCT_NOT_FOUND', `Unknown product ids: ${missing.join(', ')}.`, { productIds: missing });
    }
    const short = items
      .map((item) => ({ ...item, available: found.get(item.productId)?.stock ?? 0 }))
      .filter((item) => item.quantity > item.available)
      .map(({ productId, quantity, available }) => ({ productId, requested: quantity, available }));
    if (short.length > 0) {
      throw new ConflictError('INSUFFICIENT_STOCK', 'Not enough stock for some products.', { products: short });
    }

    const [order] = await tx<Array<{ orderId: number; orderDate: Date; totalAmount: string }>>`
      insert into orders (customer_id, total_amount)
      select ${input.customerId}, sum(p.price * l.quantity)
      from unnest(${productIds}::int[], ${quantities}::int[]) as l(product_id, quantity)
      join products p using (product_id)
      returning order_id as "orderId", order_date as "orderDate", total_amount as "totalAmount"`;
    if (!order) throw new Error('order insert returned no row');
    const lines = await tx<Array<{ productId: number; quantity: number; unitPrice: string }>>`
      insert into order_items (order_id, product_id, quantity, unit_price)
      select ${order.orderId}, l.product_id, l.quantity, p.price
      from unnest(${productIds}::int[], ${quantities}::int[]) as l(product_id, quantity)
      join products p using (product_id)
      order by l.product_id
      returning product_id as "productId", quantity, unit_price as "unitPrice"`;
    await tx`
      update products p set stock_quantity = p.stock_quantity - l.quantity
      from unnest(${productIds}::int[], ${quantities}::int[]) as l(product_id, quantity)
      where p.product_id = l.product_id`;

    return {
      orderId: order.orderId,
      customerId: input.customerId,
      orderDate: order.orderDate.toISOString(),
      totalAmount: order.totalAmount,
      items: lines.sort((a, b) => a.productId - b.productId),
    };
  });
}
