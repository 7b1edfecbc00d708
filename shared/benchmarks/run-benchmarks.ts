import type { Sql } from '../clients/postgres.js';

export interface BenchmarkRequest {
  scale: 'small' | 'medium' | 'large';
}

export interface BenchmarkRun {
  startedAt: string;
  finishedAt: string;
  scale: BenchmarkRequest['scale'];
  postgresVersion: string;
  suites: Record<string, unknown>;
}

/**
 * First cut (foundation): measures the customer-history query on the live tables with
 * EXPLAIN ANALYZE (read-only). The full suites (B-tree, GIN crossover, cache, orders) on generated
 * fixtures in a separate schema come with the runBenchmarks issue.
 */
export async function runBenchmarks(sql: Sql, request: BenchmarkRequest): Promise<BenchmarkRun> {
  const startedAt = new Date().toISOString();
  const [{ version } = { version: 'unknown' }] = await sql<Array<{ version: string }>>`select version()`;
  const [customer] = await sql<Array<{ customerId: number }>>`select customer_id as "customerId" from orders limit 1`;
  const suites: Record<string, unknown> = {};
  if (customer) {
    const [row] = await sql<Array<{ plan: Array<{ 'Execution Time': number; Plan: { 'Node Type': string } }> }>>`
      explain (analyze, format json) select order_id, order_date, total_amount from orders
      where customer_id = ${customer.customerId} order by order_date desc`;
    const plan = row?.plan[0];
    suites.customerHistory = { executionMs: plan?.['Execution Time'], nodeType: plan?.Plan['Node Type'] };
  }
  return { startedAt, finishedAt: new Date().toISOString(), scale: request.scale, postgresVersion: version, suites };
}
