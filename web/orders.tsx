import { useState } from 'preact/hooks';
import type { Session } from './session.js';
import { Empty, formatDate, Loaded, SignInFirst, useGet } from './ui.js';

interface OrderSummary {
  orderId: number;
  orderDate: string;
  totalAmount: string;
  items: Array<{ productId: number; name: string; quantity: number; unitPrice: string }>;
}
interface OrderPage {
  orders: OrderSummary[];
  nextCursor: string | null;
}

const PAGE_SIZE = 10;

export function OrdersPage({ session }: { session: Session | null }) {
  if (!session || session.customerId === null) return <SignInFirst what="your orders" />;
  return <OrderHistory session={session} customerId={session.customerId} />;
}

function OrderHistory({ session, customerId }: { session: Session; customerId: number }) {
  // The cursors of the pages before this one, as in the catalog.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const [load, reload] = useGet<OrderPage>(
    `/customers/${customerId}/orders?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    session.token,
  );
  return (
    <section aria-labelledby="orders-title">
      <h1 id="orders-title">Your orders</h1>
      <Loaded load={load} what="your orders" retry={reload}>
        {({ orders, nextCursor }) => (
          <>
            {orders.length === 0 ? (
              <Empty>
                <p>
                  No orders yet. <a href="#/shop">Browse the catalog</a>.
                </p>
              </Empty>
            ) : (
              <ol class="orders" aria-label="Orders, newest first">
                {orders.map((order) => (
                  <li key={order.orderId} class="order" data-order-id={order.orderId}>
                    <h2>
                      Order #{order.orderId} <span class="muted">{formatDate(order.orderDate)}</span>
                    </h2>
                    <ul>
                      {order.items.map((item) => (
                        <li key={item.productId}>
                          {item.quantity} × {item.name} <span class="muted">at {item.unitPrice}</span>
                        </li>
                      ))}
                    </ul>
                    <p class="total">Total {order.totalAmount}</p>
                  </li>
                ))}
              </ol>
            )}
            <nav class="pager" aria-label="Order pages">
              <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
                Newer orders
              </button>
              <span>Page {cursors.length + 1}</span>
              <button type="button" disabled={!nextCursor} onClick={() => nextCursor && setCursors([...cursors, nextCursor])}>
                Older orders
              </button>
            </nav>
          </>
        )}
      </Loaded>
    </section>
  );
}
