-- What the top-products leaderboard in Redis was built from (docs/top-products.md). New orders reach the
-- leaderboard through recordSale and the reconcile job's recent pass; any other change to the sales —
-- an order or a line updated or deleted (a correction, a cancellation), the tables truncated (a reload,
-- db:seed --reset), a bulk load of past orders (db:seed) — makes the sales "generation" move on, and a
-- leaderboard built from another generation is not used (readers answer from Postgres) until reconcile
-- rebuilds it. Statement-level triggers: one row update per statement, whatever it touched; inserts,
-- the hot path of createOrder, are not watched.

create table sales_generation (
  singleton   boolean primary key default true check (singleton),
  generation  uuid not null default gen_random_uuid(),
  changed_at  timestamptz not null default now()
);
insert into sales_generation default values;

create function bump_sales_generation() returns trigger language plpgsql as $$
begin
  update sales_generation set generation = gen_random_uuid(), changed_at = now();
  return null;
end $$;

create trigger orders_sales_changed after update or delete or truncate on orders
  for each statement execute function bump_sales_generation();
create trigger order_items_sales_changed after update or delete or truncate on order_items
  for each statement execute function bump_sales_generation();
