import { useState } from 'preact/hooks';
import type { ExplainOutput } from '../shared/benchmarks/measure.js';
import type { Metric } from '../shared/benchmarks/metric.js';
import { planText } from '../shared/benchmarks/plan-text.js';
import { percentile } from '../shared/benchmarks/stats.js';
import type { BtreeResult } from '../shared/benchmarks/suites/btree.js';
import type { CacheResult } from '../shared/benchmarks/suites/cache.js';
import type { GinResult } from '../shared/benchmarks/suites/gin.js';
import type { OrdersResult } from '../shared/benchmarks/suites/orders.js';
import { api, cacheTally } from './api.js';
import { BarChart, ColumnChart, LineChart, type Series } from './charts.js';
import type { Session } from './session.js';
import { Empty, ErrorState, formatAmount, formatDate, formatNumber, Loaded, SignInFirst, useGet } from './ui.js';

interface Summary {
  window: { days: number };
  orders: number;
  revenue: string;
  averageOrderValue: string | null;
  customers: number;
  revenueByDay: Array<{ day: string; orders: number; revenue: string }>;
  topCustomers: Array<{ customerId: number; name: string; orders: number; spend: string }>;
  topCategories: Array<{ name: string | null; revenue: string }>;
  topBrands: Array<{ name: string | null; revenue: string }>;
}
interface TopProducts {
  products: Array<{ productId: number; name: string; unitsSold: number; revenue: string }>;
}
interface Run {
  runId: number;
  status: string;
  trigger: string;
  startedAt: string;
  durationMs: number | null;
  params: { scale?: string };
  results: { btree?: BtreeResult; gin?: GinResult; cache?: CacheResult; orders?: OrdersResult; metrics?: Metric[] } | null;
  plans: Record<string, ExplainOutput> | null;
  error: string | null;
}
interface History {
  runs: Array<{ runId: number; status: string; scale: string; startedAt: string; durationMs: number | null; metrics: Metric[] }>;
}

export function AdminPage({ session }: { session: Session | null }) {
  if (!session?.admin) return <SignInFirst what="the dashboard" admin />;
  return (
    <>
      <h1>Dashboard</h1>
      <Sales token={session.token} />
      <Leaderboard />
      <LatestRun token={session.token} />
      <RunHistory token={session.token} />
    </>
  );
}

const money = (text: string | null) => text ?? '–';

function Sales({ token }: { token: string }) {
  const [load, reload] = useGet<Summary>('/analytics/summary?days=30&top=5', token);
  return (
    <section aria-labelledby="sales-title">
      <h2 id="sales-title">Sales, last 30 days</h2>
      <Loaded load={load} what="the sales summary" retry={reload}>
        {(s) => (
          <>
            <dl class="kpis">
              <div>
                <dt>Revenue</dt>
                <dd>{money(s.revenue)}</dd>
              </div>
              <div>
                <dt>Orders</dt>
                <dd>{s.orders.toLocaleString('en-US')}</dd>
              </div>
              <div>
                <dt>Average order value</dt>
                <dd>{money(s.averageOrderValue)}</dd>
              </div>
              <div>
                <dt>Customers who ordered</dt>
                <dd>{s.customers.toLocaleString('en-US')}</dd>
              </div>
            </dl>
            {s.orders === 0 ? (
              <Empty>
                <p>No orders in the last {s.window.days} days.</p>
              </Empty>
            ) : (
              <div class="charts">
                <ColumnChart
                  title="Revenue per day (UTC)"
                  yTitle="revenue"
                  columns={s.revenueByDay.map((d) => ({ label: d.day, value: Number(d.revenue), shown: formatAmount(d.revenue) }))}
                />
                <BarChart
                  title="Top customers by spend"
                  unit="spend"
                  bars={s.topCustomers.map((c) => ({
                    label: `${c.name} (#${c.customerId})`,
                    value: Number(c.spend),
                    shown: formatAmount(c.spend),
                  }))}
                />
                <BarChart
                  title="Top categories by revenue"
                  unit="revenue"
                  bars={s.topCategories.map((c) => ({
                    label: c.name ?? '(none)',
                    value: Number(c.revenue),
                    shown: formatAmount(c.revenue),
                    color: 2,
                  }))}
                />
                <BarChart
                  title="Top brands by revenue"
                  unit="revenue"
                  bars={s.topBrands.map((b) => ({
                    label: b.name ?? '(none)',
                    value: Number(b.revenue),
                    shown: formatAmount(b.revenue),
                    color: 3,
                  }))}
                />
              </div>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}

/** The leaderboard, and the cache hit ratio this browser saw on it (X-Cache of each GET /products/top). */
function Leaderboard() {
  const [load, reload] = useGet<TopProducts>('/products/top?limit=10');
  const [, setSampled] = useState(0);
  const seen = cacheTally.HIT + cacheTally.MISS + cacheTally.BYPASS;
  const sample = async () => {
    for (let i = 0; i < 10; i++) await api('GET', '/products/top?limit=10');
    setSampled((n) => n + 1);
  };
  return (
    <section aria-labelledby="top-products-title">
      <h2 id="top-products-title">Top products and the cache</h2>
      <Loaded load={load} what="the top products" retry={reload}>
        {({ products }) =>
          products.length === 0 ? (
            <Empty>
              <p>Nothing sold yet.</p>
            </Empty>
          ) : (
            <BarChart
              title="Top products by units sold (Redis leaderboard)"
              unit="units sold"
              bars={products.map((p) => ({ label: p.name, value: p.unitsSold }))}
            />
          )
        }
      </Loaded>
      <p class="cache-ratio">
        Cache hit ratio seen by this console: <strong>{seen ? `${Math.round((100 * cacheTally.HIT) / seen)} %` : 'no requests yet'}</strong>{' '}
        ({cacheTally.HIT} hits, {cacheTally.MISS} misses, {cacheTally.BYPASS} bypasses of {seen} leaderboard requests, from their X-Cache
        header).{' '}
        <button type="button" class="link" onClick={() => void sample()}>
          Sample 10 more
        </button>
      </p>
    </section>
  );
}

const BTREE_VARIANTS = [
  ['none', 'no index'],
  ['customer_id', '(customer_id)'],
  ['customer_id_order_date', '(customer_id, order_date desc)'],
] as const;

/** The stored EXPLAIN plans whose key starts with `prefix`, folded under one summary: one click away. */
function Plans({ plans, prefix }: { plans: Record<string, ExplainOutput> | null; prefix: string }) {
  const chosen = Object.entries(plans ?? {}).filter(([key]) => key.startsWith(prefix));
  if (chosen.length === 0) return null;
  return (
    <details class="plans">
      <summary>EXPLAIN plans ({chosen.length})</summary>
      {chosen.map(([key, plan]) => (
        <div key={key}>
          <h4>{key}</h4>
          <pre>{planText(plan)}</pre>
        </div>
      ))}
    </details>
  );
}

function LatestRun({ token }: { token: string }) {
  const [load, reload] = useGet<Run>('/benchmarks/latest?plans=true', token);
  return (
    <section aria-labelledby="latest-title">
      <h2 id="latest-title">Latest benchmark run</h2>
      {load.state === 'error' && load.error.code === 'BENCHMARK_NOT_FOUND' ? (
        <Empty>
          <p>
            No benchmark run yet. Start one: <code>npm run invoke -- runBenchmarks @events/runBenchmarks-tiny.json</code>
          </p>
        </Empty>
      ) : (
        <Loaded load={load} what="the latest benchmark run" retry={reload}>
          {(run) => <RunCharts run={run} />}
        </Loaded>
      )}
    </section>
  );
}

function RunCharts({ run }: { run: Run }) {
  const { btree, gin, cache, orders, metrics = [] } = run.results ?? {};
  const ratios = metrics.filter((m) => m.ratio !== null && m.ratio > 0);
  return (
    <>
      <p class="muted">
        Run #{run.runId} ({run.params.scale ?? 'default'} scale, {run.trigger}) started {formatDate(run.startedAt)}, {run.status}
        {run.durationMs === null ? '' : ` in ${formatNumber(run.durationMs / 1000)} s`}.
      </p>
      {run.error && <ErrorState error={{ status: 500, code: 'BENCHMARK_FAILED', message: run.error }} />}
      <div class="charts">
        {ratios.length > 0 && (
          <BarChart
            title="Ours ÷ same-run reference (below 1: faster than the reference)"
            unit="ratio (log)"
            log
            base={1}
            bars={ratios.map((m) => ({ label: m.metric, value: m.ratio!, color: m.pass === false ? 1 : 0 }))}
          />
        )}
        {btree && (
          <div>
            <LineChart
              title="B-tree: a customer's orders, median time by table size"
              xLog
              yLog
              xTitle="orders in the table"
              yTitle="ms"
              series={BTREE_VARIANTS.map(([variant, name]) => ({
                name,
                points: btree.sizes.map((size) => ({ x: size.rows, y: size.variants[variant].medianMs })),
              }))}
            />
            <Plans plans={run.plans} prefix="btree/" />
          </div>
        )}
        {gin &&
          [...new Set(gin.cells.map((cell) => cell.rows))].map((rows) => (
            <div key={rows}>
              <LineChart
                title={`GIN crossover, ${rows.toLocaleString('en-US')} products: median time by match rate`}
                xLog
                xTitle="share of products matched"
                yTitle="ms"
                xFormat={(x) => `${formatNumber(x * 100)} %`}
                series={(['seq', 'planner', 'forced'] as const).map((kind, i) => ({
                  name: ['no index (seq scan)', 'GIN, planner’s choice', 'GIN forced'][i]!,
                  points: gin.cells.filter((cell) => cell.rows === rows).map((cell) => ({ x: cell.selectivity, y: cell[kind].medianMs })),
                }))}
              />
              <Plans plans={run.plans} prefix={`gin/${rows}/`} />
            </div>
          ))}
        {cache && (
          <div>
            <BarChart
              title={`Top products: a Redis hit vs the PostgreSQL aggregate (speedup ×${formatNumber(cache.speedup)})`}
              unit="median ms"
              bars={[
                { label: 'Redis hit', value: cache.redisHit.medianMs, color: 2 },
                { label: 'PostgreSQL aggregate', value: cache.postgres.medianMs, color: 1 },
              ]}
            />
            <Plans plans={run.plans} prefix="cache/" />
          </div>
        )}
        {orders && (
          <BarChart
            title={`createOrder ×${orders.calls} at ${orders.concurrency} concurrent: latency (${formatNumber(orders.ordersPerSecond)} orders/s)`}
            unit="ms"
            bars={(['p50Ms', 'p95Ms', 'p99Ms', 'maxMs'] as const).map((key, i) => ({
              label: key.replace('Ms', ''),
              value: orders[key],
              color: i,
            }))}
          />
        )}
      </div>
    </>
  );
}

/** The median of a run's ratios per benchmark (the benchmarks' one statistics module): one number per suite and run. */
export function medianRatio(metrics: Metric[], bench: string): number | undefined {
  const ratios = metrics.filter((m) => m.bench === bench && m.ratio !== null && m.ratio > 0 && m.unit === 'ms').map((m) => m.ratio!);
  return ratios.length ? percentile(ratios, 0.5) : undefined;
}

function RunHistory({ token }: { token: string }) {
  const [load, reload] = useGet<History>('/benchmarks?limit=30', token);
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">Benchmark runs over time</h2>
      <Loaded load={load} what="the benchmark history" retry={reload}>
        {({ runs }) => {
          const done = runs.filter((run) => run.status === 'succeeded');
          if (done.length === 0)
            return (
              <Empty>
                <p>No successful run stored yet.</p>
              </Empty>
            );
          const series: Series[] = ['btree', 'gin', 'cache'].map((bench) => ({
            name: `${bench}: median ours ÷ reference`,
            points: done.flatMap((run) => {
              const y = medianRatio(run.metrics, bench);
              return y === undefined ? [] : [{ x: Date.parse(run.startedAt), y }];
            }),
          }));
          const throughput = done.flatMap((run) => {
            const row = run.metrics.find((m) => m.bench === 'orders' && m.unit === 'orders/s');
            return row ? [{ x: Date.parse(run.startedAt), y: row.ours }] : [];
          });
          const day = (x: number) => new Date(x).toISOString().slice(5, 16).replace('T', ' ');
          return (
            <>
              <div class="charts">
                <LineChart
                  title="Speedup trend: ours ÷ reference per suite (lower is better)"
                  yLog
                  xTitle="run started (UTC)"
                  yTitle="ratio"
                  xFormat={day}
                  series={series.filter((s) => s.points.length > 0)}
                />
                {throughput.length > 0 && (
                  <LineChart
                    title="createOrder throughput per run"
                    xTitle="run started (UTC)"
                    yTitle="orders/s"
                    xFormat={day}
                    series={[{ name: 'orders/s', points: throughput }]}
                  />
                )}
              </div>
              <table class="runs">
                <caption>The last {runs.length} runs</caption>
                <thead>
                  <tr>
                    <th scope="col">Run</th>
                    <th scope="col">Started</th>
                    <th scope="col">Scale</th>
                    <th scope="col">Status</th>
                    <th scope="col">Duration</th>
                  </tr>
                </thead>
                <tbody>
                  {runs.map((run) => (
                    <tr key={run.runId}>
                      <td>#{run.runId}</td>
                      <td>{formatDate(run.startedAt)}</td>
                      <td>{run.scale}</td>
                      <td>{run.status}</td>
                      <td>{run.durationMs === null ? '–' : `${formatNumber(run.durationMs / 1000)} s`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
