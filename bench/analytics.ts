/**
 * The plans of GET /analytics/summary's three statements on the suite's data set (opt-in: `--only analytics`):
 * EXPLAIN (ANALYZE, BUFFERS) of each for a 30-day window, after one unrecorded run so the figures are warm
 * (docs/benchmarks.md reads them). The rows are execution times; the plans are in the details and the report.
 */

import { analyticsQueries, analyticsWindow } from '../shared/analytics/summary.js';
import { type Metric, metric } from '../shared/benchmarks/metric.js';
import type { SuiteContext } from './lib/context.js';
import { withSql } from './lib/fixtures.js';
import type { BenchOutput } from './lib/result.js';

const DAYS = 30;

export async function run(ctx: SuiteContext): Promise<BenchOutput> {
  return withSql(
    ctx.dataset.directUrl,
    async (sql) => {
      await sql`vacuum (analyze) orders, order_items`; // the visibility map a live table's autovacuum keeps
      const window = analyticsWindow(DAYS);
      const [counts] = await sql<Array<{ version: string; inWindow: number; orders: number }>>`
        select version() as version, (select count(*)::int from orders) as orders,
               (select count(*)::int from orders where order_date >= ${window.from} and order_date < ${window.to}) as "inWindow"`;
      const plans: Record<string, string> = {};
      const metrics: Metric[] = [];
      for (const [name, query] of Object.entries(analyticsQueries(sql, { days: DAYS, top: 10 }, window))) {
        await sql`explain (analyze) ${query}`;
        const lines = await sql<Array<{ 'QUERY PLAN': string }>>`explain (analyze, buffers) ${query}`;
        plans[name] = lines.map((row) => row['QUERY PLAN']).join('\n');
        const executionMs = Number(/Execution Time: ([\d.]+) ms/.exec(plans[name])?.[1] ?? Number.NaN);
        const of = `${counts!.inWindow.toLocaleString('en-US')} of ${counts!.orders.toLocaleString('en-US')} orders`;
        metrics.push(metric('analytics', { metric: `${name}: execution time, ${DAYS}-day window (${of})`, ours: executionMs, unit: 'ms' }));
      }
      return {
        metrics,
        details: {
          days: DAYS,
          postgres: counts!.version.split(' on ')[0],
          ordersInWindow: counts!.inWindow,
          orders: counts!.orders,
          plans,
        },
      };
    },
    { connection: { statement_timeout: 0 } },
  );
}
