import { createOrder } from '../../orders/create-order.js';
import { BENCH_SCHEMA, benchTable, cloneShopTables, loadShop } from '../fixtures.js';
import { spread } from '../measure.js';
import { round, summarize } from '../stats.js';
import { type SuiteContext, timed } from './context.js';

/**
 * Orders: the real `createOrder` (shared/orders/create-order.ts, unchanged) placing orders against a
 * copy of the shop in the bench schema, on connections whose search_path is `bench` only — so its
 * unqualified table names resolve to the copies and it cannot reach a live table. Latency is wall
 * clock per call at a small concurrency, after a warm-up; products are picked uniformly (little
 * contention). Logged tables, so each commit pays its WAL flush as a real order does.
 *
 * No EXPLAIN plan is stored for this suite: an order is a transaction of several statements, and its
 * percentiles are the measure.
 */
type OrderInput = Parameters<typeof createOrder>[1];

export interface OrdersResult {
  calls: number;
  concurrency: number;
  warmups: number;
  errors: number;
  firstError?: string;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** Measured calls ÷ wall time of the measured phase. */
  ordersPerSecond: number;
  /** Orders found in bench.orders afterwards (warm-ups + successful calls). */
  ordersStored: number;
  clonedTables: string[];
}

function orderInput(call: number, customers: number, products: number): OrderInput {
  const lines = spread(call, 3, 7); // 1 to 3 lines
  const productIds = new Set<number>();
  for (let line = 0; productIds.size < Math.min(lines, products); line += 1) productIds.add(spread(call * 5 + line, products, 11));
  return {
    customerId: spread(call, customers, 3),
    items: [...productIds].map((productId, line) => ({ productId, quantity: 1 + ((call + line) % 2) })),
  } as OrderInput;
}

export async function runOrdersSuite(context: SuiteContext): Promise<OrdersResult> {
  const { sql, request } = context;
  const { orderCustomers, orderProducts, orderCalls } = request.sizes;
  const concurrency = request.concurrency;
  const cloned = await timed(context, 'orders.fixture', async () => {
    const shop = await cloneShopTables(sql);
    await loadShop(sql, orderCustomers, orderProducts);
    return shop;
  });

  const pool = context.connectBench(concurrency);
  try {
    // Before any write: the unqualified names createOrder uses must resolve to the bench copies only.
    const [where] = await pool<
      [{ schema: string; path: string }]
    >`select current_schema() as schema, current_setting('search_path') as path`;
    if (where?.schema !== BENCH_SCHEMA || where.path !== BENCH_SCHEMA) {
      throw new Error(
        `the orders suite's connections are not confined to the ${BENCH_SCHEMA} schema (search_path ${where?.path}); nothing was written`,
      );
    }
    const warmups = Math.max(10, concurrency * 2);
    for (let call = 0; call < warmups; call += 1) {
      await createOrder(pool, orderInput(orderCalls + call, orderCustomers, orderProducts));
    }
    context.deadline.check('orders');

    const latencies: number[] = [];
    let errors = 0;
    let firstError: string | undefined;
    let next = 0;
    const worker = async () => {
      while (next < orderCalls) {
        const call = next;
        next += 1;
        if (call % 50 === 0) context.deadline.check('orders');
        const started = performance.now();
        try {
          await createOrder(pool, orderInput(call, orderCustomers, orderProducts));
          latencies.push(performance.now() - started);
        } catch (error) {
          errors += 1;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const wallMs = performance.now() - started;
    if (latencies.length === 0) throw new Error(`every createOrder call failed: ${firstError}`);

    const [stored] = await sql.unsafe<Array<{ count: number }>>(`select count(*)::int as count from ${benchTable('orders')}`);
    const latency = summarize(latencies, 4);
    return {
      calls: orderCalls,
      concurrency,
      warmups,
      errors,
      ...(firstError ? { firstError } : {}),
      p50Ms: latency.p50,
      p95Ms: latency.p95,
      p99Ms: latency.p99,
      maxMs: latency.max,
      meanMs: latency.mean,
      ordersPerSecond: round((latencies.length / wallMs) * 1000, 1),
      ordersStored: stored?.count ?? 0,
      clonedTables: cloned.tables,
    };
  } finally {
    await pool.end({ timeout: 5 });
  }
}
