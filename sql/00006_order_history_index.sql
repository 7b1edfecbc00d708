-- A customer's order history (GET /customers/{customerId}/orders) is listed newest first with the order id
-- as the tie-break, and continued after the last order seen: `(order_date, order_id) < (…)`. With the
-- order id in the index too, the index alone gives that exact order and that exact starting point, so a
-- page reads its rows and stops (no sort, no rows skipped), whatever page it is. The lab's
-- (customer_id, order_date desc) lookups are served by this index just the same.
drop index orders_customer_id_idx;
create index orders_customer_id_idx on orders (customer_id, order_date desc, order_id desc);
