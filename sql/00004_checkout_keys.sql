-- Idempotency keys of cart checkouts (POST /carts/{customerId}/checkout, see docs/carts.md).
--
-- A checkout's key maps to the order it placed for the key's whole lifetime, whatever happens to the
-- cart afterwards (other checkouts, edits, deletion, expiry): a late retry replays that order instead of
-- ordering whatever the cart holds by then. The row is written by the statement that writes the order
-- (one transaction), so it exists exactly when the order does. Unlike POST /orders keys, a checkout key
-- is unique across customers: the same key sent for another customer's cart is refused (a client bug, or
-- an admin token replaying a request for the wrong customer), never answered with someone else's order.
-- `cart_key` is the key the order was placed under (cart life and version), so a replay can still empty
-- the cart if it holds the ordered version. Expiry and purging as idempotency_keys (24 h).

create table checkout_keys (
  idempotency_key  text primary key check (idempotency_key ~ '^[!-~]{1,128}$'),
  customer_id      integer not null references customers (customer_id) on delete cascade,
  order_id         bigint not null references orders (order_id) on delete cascade,
  cart_key         text not null,
  response         json not null,
  created_at       timestamptz not null default now(),
  expires_at       timestamptz not null
);
create index checkout_keys_expires_at_idx on checkout_keys (expires_at);
create index checkout_keys_order_id_idx on checkout_keys (order_id);
