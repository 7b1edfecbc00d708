import { buildBtreeOrders, relationSize } from '../fixtures.js';
import { measureQuery, type QueryMeasurement, spread } from '../measure.js';
import { BTREE_ORDERS_PER_CUSTOMER } from '../request.js';
import { round } from '../stats.js';
import { type SuiteContext, timed } from './context.js';

/**
 * B-tree: a customer's order history (the lab's "customer history" lookup) at several table sizes,
 * without an index, with the lab's `orders(customer_id)` and with the live schema's
 * `orders(customer_id, order_date desc)` (which also returns the rows already sorted).
 */
export const BTREE_VARIANTS = ['none', 'customer_id', 'customer_id_order_date'] as const;
export type BtreeVariant = (typeof BTREE_VARIANTS)[number];

const INDEX_COLUMNS: Record<Exclude<BtreeVariant, 'none'>, string> = {
  customer_id: 'customer_id',
  customer_id_order_date: 'customer_id, order_date desc',
};

export interface BtreeVariantResult extends QueryMeasurement {
  usedIndex: boolean;
  /** Index size in bytes and build time (absent for 'none'). */
  indexBytes?: number;
  indexBuildMs?: number;
}

export interface BtreeSizeResult {
  rows: number;
  customers: number;
  tableBytes: number;
  variants: Record<BtreeVariant, BtreeVariantResult>;
  /** Median without index ÷ median with each index. */
  speedup: Record<Exclude<BtreeVariant, 'none'>, number>;
}

export interface BtreeResult {
  query: string;
  sizes: BtreeSizeResult[];
  /** The largest size: the headline number. */
  headline: { rows: number; noIndexMs: number; indexMs: number; speedup: number };
}

export const BTREE_QUERY = (table: string) =>
  `select order_id, order_date, total_amount from ${table} where customer_id = $1 order by order_date desc`;

export async function runBtreeSuite(context: SuiteContext): Promise<BtreeResult> {
  const { sql, request } = context;
  const sizes: BtreeSizeResult[] = [];
  for (const rows of request.sizes.btreeOrders) {
    context.deadline.check(`btree ${rows}`);
    const customers = Math.max(1, Math.ceil(rows / BTREE_ORDERS_PER_CUSTOMER));
    const table = await timed(context, `btree.fixture.${rows}`, () => buildBtreeOrders(sql, rows, customers));
    const query = BTREE_QUERY(table);
    // Each run looks up a different customer, so no run is served by the previous one's buffers alone.
    const params = (run: number) => [spread(run, customers, rows)];
    const variants = {} as Record<BtreeVariant, BtreeVariantResult>;
    for (const variant of BTREE_VARIANTS) {
      context.deadline.check(`btree ${rows} ${variant}`);
      let indexName: string | undefined;
      let indexBuildMs: number | undefined;
      if (variant !== 'none') {
        indexName = `bt_orders_${rows}_${variant}_idx`;
        const started = performance.now();
        await sql.unsafe(`create index ${indexName} on ${table} (${INDEX_COLUMNS[variant]})`);
        indexBuildMs = Math.round(performance.now() - started);
        context.time(`btree.index.${rows}.${variant}`, indexBuildMs);
      }
      const { measurement, plan } = await measureQuery(sql, query, params, request.repetitions);
      context.plan(`btree/${rows}/${variant}`, plan);
      variants[variant] = {
        ...measurement,
        usedIndex: indexName ? measurement.shape.indexes.includes(indexName) : false,
        ...(indexName ? { indexBytes: await relationSize(sql, `bench.${indexName}`), indexBuildMs } : {}),
      };
      // One index at a time, so the planner's choice is between that index and a scan.
      if (indexName) await sql.unsafe(`drop index bench.${indexName}`);
    }
    const tableBytes = await relationSize(sql, table);
    await sql.unsafe(`drop table ${table}`);
    sizes.push({
      rows,
      customers,
      tableBytes,
      variants,
      speedup: {
        customer_id: round(variants.none.medianMs / variants.customer_id.medianMs, 1),
        customer_id_order_date: round(variants.none.medianMs / variants.customer_id_order_date.medianMs, 1),
      },
    });
    context.log('btree size measured', { rows, speedup: sizes.at(-1)!.speedup });
  }
  const largest = sizes.at(-1)!;
  return {
    query: BTREE_QUERY('orders'),
    sizes,
    headline: {
      rows: largest.rows,
      noIndexMs: largest.variants.none.medianMs,
      indexMs: largest.variants.customer_id.medianMs,
      speedup: largest.speedup.customer_id,
    },
  };
}
