-- An order placed in one statement, held by the database as a function: `select * from place_order(…)`.
--
-- Why a function: a transaction pooler (PgBouncer in transaction mode, RDS Proxy) does not keep named
-- prepared statements, so createOrder sends its statement unnamed there, and PostgreSQL parsed and planned
-- the whole statement on every order: about half the orders per second of the same statement prepared
-- (docs/performance.md). A PL/pgSQL function keeps the plans of its statements per server connection, and
-- the pooler keeps server connections across clients, so behind any pooler the statement is planned a few
-- times per server connection, not per order; the call itself is trivial to plan. Nothing of this is
-- session state a pooler must know about: RDS Proxy does not pin a connection for it.
--
-- Table and sequence names are unqualified on purpose: they resolve through the caller's search_path (the
-- scheduled benchmarks run createOrder against copies of the tables in their own schema, see
-- shared/benchmarks/fixtures.ts).
--
-- Parameters: $1 customer id · $2 product ids (merged, ascending) · $3 quantities · $4 idempotency key ·
-- $5 request hash · $6 key TTL in seconds · $7 a cart checkout's own key. $4..$7 are null for an order
-- without a key; $7 is null for POST /orders.
--
-- How it stays exact under concurrency (READ COMMITTED):
-- - `existing`: a live key committed before this statement started → replay it, lock nothing.
-- - `locked`: product rows locked FOR UPDATE in ascending id order (LockRows above the Sort). A row
--   another order holds is waited for and then re-read at its newest committed version, so `stock`
--   and `price` below are current and cannot change until we commit.
-- - `checked` aggregates over every locked row (count(*) consumes the whole CTE), so all locks are
--   taken before any write, and every write below is gated on its verdict: an error changes nothing
--   (not even the key table) — only a sequence value is spent.
-- - the order id comes from the identity's sequence up front, so the key row can be written before
--   the order row; the order, its lines and the stock update are gated on the key insert having
--   succeeded. A concurrent first attempt with the same key makes this insert wait on the unique
--   index until that transaction ends: if it commits, ON CONFLICT leaves its row alone, nothing is
--   written here and the caller replays the committed answer; if it rolls back, we insert and go on.
--   An expired key row is overwritten in place (ON CONFLICT … DO UPDATE … WHERE expired).
-- - the UPDATE re-reads the rows we hold (EvalPlanQual), so `stock - quantity` applies to the
--   current value; CHECK (stock_quantity >= 0) remains the last line of defence.
-- - the 201 body is built here, stored with the key (json keeps its text), and returned, so a replay
--   is byte-for-byte the first answer.
-- - a checkout's own key ($7) is inserted first, for the new order or for the replayed one, and the key
--   row and the order are gated on that insert. A checkout key another transaction holds makes this
--   insert wait, then conflict: nothing is written, and the caller answers from that key's order. The
--   checkout key thus exists exactly when its order does.
create function place_order(int, int[], int[], text, bytea, int, text)
returns table (
  created json,
  replay json,
  replay_hash bytea,
  customer_found boolean,
  missing int[],
  short json,
  checkout_key_recorded boolean
)
language plpgsql
as $place_order$
#variable_conflict use_column
begin
  return query
    with
    req as (
      select r.product_id, r.quantity from unnest($2::int[], $3::int[]) as r(product_id, quantity)
    ),
    existing as materialized (
      select k.request_hash, k.response, k.order_id
      from idempotency_keys k
      where k.customer_id = $1::int and k.idempotency_key = $4::text and k.expires_at > now()
    ),
    locked as materialized (
      select p.product_id, p.price, p.stock_quantity
      from products p
      where p.product_id = any($2::int[])
        and not exists (select from existing)
        and exists (select from customers c where c.customer_id = $1::int)
      order by p.product_id
      for update
    ),
    checked as materialized (
      select
        exists (select from customers c where c.customer_id = $1::int) as customer_found,
        (select count(*) from locked) as locked_count,
        coalesce(array_agg(r.product_id order by r.product_id) filter (where l.product_id is null), '{}') as missing,
        coalesce(json_agg(json_build_object('productId', r.product_id, 'requested', r.quantity, 'available', l.stock_quantity)
          order by r.product_id) filter (where l.stock_quantity < r.quantity), '[]') as short,
        count(*) filter (where l.stock_quantity < r.quantity) as short_count,
        sum(l.price * r.quantity) as total
      from req r left join locked l using (product_id)
    ),
    new_order as materialized (
      -- The identity sequence of orders.order_id (generated by default, so an explicit id is allowed).
      select nextval('orders_order_id_seq') as order_id, now() as order_date, c.total::numeric(12, 2) as total_amount
      from checked c
      where c.customer_found and c.locked_count = cardinality($2::int[]) and c.short_count = 0
    ),
    lines as materialized (
      select r.product_id, r.quantity, l.price as unit_price
      from req r join locked l using (product_id)
      where exists (select from new_order)
    ),
    body as materialized (
      select o.order_id, json_build_object(
        'orderId', o.order_id,
        'customerId', $1::int,
        'orderDate', to_char(o.order_date at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'totalAmount', o.total_amount::text,
        'items', (select json_agg(json_build_object('productId', l.product_id, 'quantity', l.quantity, 'unitPrice', l.unit_price::text)
                  order by l.product_id) from lines l)
      ) as response
      from new_order o
    ),
    saved_checkout_key as (
      insert into checkout_keys as ck (idempotency_key, customer_id, order_id, cart_key, response, expires_at)
      select $7::text, $1::int, x.order_id, $4::text, x.response, now() + make_interval(secs => $6::int)
      from (select b.order_id, b.response from body b union all select e.order_id, e.response from existing e) x
      where $7::text is not null
      on conflict (idempotency_key) do update
        set customer_id = excluded.customer_id, order_id = excluded.order_id, cart_key = excluded.cart_key,
            response = excluded.response, created_at = excluded.created_at, expires_at = excluded.expires_at
        where ck.expires_at <= now()
      returning ck.order_id
    ),
    saved_key as (
      insert into idempotency_keys as k (customer_id, idempotency_key, request_hash, order_id, response, expires_at)
      select $1::int, $4::text, $5::bytea, b.order_id, b.response, now() + make_interval(secs => $6::int)
      from body b
      where $4::text is not null and ($7::text is null or exists (select from saved_checkout_key))
      on conflict (customer_id, idempotency_key) do update
        set request_hash = excluded.request_hash, order_id = excluded.order_id, response = excluded.response,
            created_at = excluded.created_at, expires_at = excluded.expires_at
        where k.expires_at <= now()
      returning k.order_id
    ),
    saved_order as (
      insert into orders (order_id, customer_id, order_date, total_amount)
      select o.order_id, $1::int, o.order_date, o.total_amount
      from new_order o
      where $4::text is null or exists (select from saved_key)
      returning order_id
    ),
    saved_lines as (
      insert into order_items (order_id, product_id, quantity, unit_price)
      select o.order_id, l.product_id, l.quantity, l.unit_price
      from saved_order o cross join lines l
    ),
    stock as (
      update products p set stock_quantity = p.stock_quantity - l.quantity
      from lines l
      where p.product_id = any($2::int[]) and p.product_id = l.product_id and exists (select from saved_order)
    )
    select
      (select b.response from body b where exists (select from saved_order)) as created,
      e.response as replay,
      e.request_hash as replay_hash,
      c.customer_found,
      c.missing,
      c.short,
      case when $7::text is not null and (exists (select from body) or exists (select from existing))
        then exists (select from saved_checkout_key) end as checkout_key_recorded
    from checked c left join existing e on true;
end
$place_order$;
