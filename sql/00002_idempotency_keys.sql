-- Idempotency keys for POST /orders (see docs/orders.md).
--
-- A key belongs to one customer: its identity is (customer_id, idempotency_key), so two customers can
-- never see each other's orders through a guessed key. The row is written by the same statement that
-- writes the order (one transaction), so a client, API Gateway or Lambda retry creates exactly one
-- order; the primary key serialises concurrent first attempts (the second waits for the first to
-- commit, then replays its answer). `response` is the exact 201 body sent the first time (json, not
-- jsonb, so the text and key order are kept byte for byte); `request_hash` is a SHA-256 of the
-- normalised payload (customer + merged, sorted items) to detect a key reused for another order.
-- Keys expire at `expires_at` (24 h after the order): expired rows are ignored, overwritten in place
-- by a new order with the same key, and purged in batches (purgeExpiredIdempotencyKeys).

create table idempotency_keys (
  customer_id      integer not null,
  -- 1–128 visible ASCII characters (RFC 5234 VCHAR, %x21-7E), as the API validates.
  idempotency_key  text not null check (idempotency_key ~ '^[!-~]{1,128}$'),
  request_hash     bytea not null check (length(request_hash) = 32),
  order_id         bigint not null references orders (order_id) on delete cascade,
  response         json not null,
  created_at       timestamptz not null default now(),
  expires_at       timestamptz not null,
  constraint idempotency_keys_pkey primary key (customer_id, idempotency_key)
);
-- Batched purge of expired keys.
create index idempotency_keys_expires_at_idx on idempotency_keys (expires_at);
-- ON DELETE CASCADE from orders without a sequential scan of this table.
create index idempotency_keys_order_id_idx on idempotency_keys (order_id);
