-- The catalog's attribute filters (`metadata @> …`, GET /products) are planned from the column's
-- statistics: PostgreSQL estimates a containment from the values of ANALYZE's sample that land in the
-- column's histogram. With the default target (100: a sample of 30,000 rows, 101 histogram bounds) the
-- estimate for the same value swung between 18 and 910 rows from one ANALYZE to the next on the seed's
-- 100k-product catalogue, and once put a value 23 products carry at 908 rows, so its page read the whole
-- primary key in order (25 ms) instead of the GIN index (0.6 ms). A target of 1000 samples 300,000 rows and
-- keeps 1,001 bounds: estimates within a few rows of the counts, the same plan after every ANALYZE, for an
-- ANALYZE of products about 4× longer (0.2 → 0.8 s at 100k products).
alter table products alter column metadata set statistics 1000;
