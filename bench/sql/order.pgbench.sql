-- The reference minimal order transaction for `npm run bench -- --only orders` (bench/orders.ts runs it with
-- pgbench -M prepared next to createOrder, on the same data, at the same concurrency and duration).
-- A 3-item order: lock the product rows in ascending id order, insert the order with its total,
-- insert the lines at the locked prices, decrement stock. No checks, no JSON, no idempotency key:
-- the least work any correct implementation must do, in the usual statement-per-step shape.
--
-- Variables (pgbench -D): ncustomers, nproducts, hot (1 = the 5 hot products 1..5, 0 = random
-- products: one from each third of the id range, so the 3 ids are always distinct).
\set c random(1, :ncustomers)
\if :hot
  \set x random(0, 4)
  \set p1 1 + :x
  \set p2 1 + (:x + 1) % 5
  \set p3 1 + (:x + 2) % 5
\else
  \set third :nproducts / 3
  \set p1 random(1, :third)
  \set p2 random(:third + 1, 2 * :third)
  \set p3 random(2 * :third + 1, 3 * :third)
\endif
\set q1 random(1, 3)
\set q2 random(1, 3)
\set q3 random(1, 3)
BEGIN;
SELECT product_id, price, stock_quantity FROM products
  WHERE product_id IN (:p1, :p2, :p3) ORDER BY product_id FOR UPDATE;
INSERT INTO orders (customer_id, total_amount)
  SELECT :c, sum(p.price * v.q)
  FROM (VALUES (:p1::int, :q1::int), (:p2::int, :q2::int), (:p3::int, :q3::int)) AS v(product_id, q)
  JOIN products p USING (product_id)
  RETURNING order_id \gset
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
  SELECT :order_id, p.product_id, v.q, p.price
  FROM (VALUES (:p1::int, :q1::int), (:p2::int, :q2::int), (:p3::int, :q3::int)) AS v(product_id, q)
  JOIN products p USING (product_id);
UPDATE products p SET stock_quantity = p.stock_quantity - v.q
  FROM (VALUES (:p1::int, :q1::int), (:p2::int, :q2::int), (:p3::int, :q3::int)) AS v(product_id, q)
  WHERE p.product_id = v.product_id;
END;
