import { buildGinProducts, ginProbe, relationSize } from '../fixtures.js';
import { measureQuery, type QueryMeasurement } from '../measure.js';
import { GIN_SELECTIVITIES } from '../request.js';
import { round } from '../stats.js';
import { type SuiteContext, timed } from './context.js';

/**
 * GIN: JSONB containment (`metadata @> …`) on products at several table sizes and match rates,
 * measured three ways:
 *   - `seq`     no index at all (what the lab's table had before its GIN index);
 *   - `planner` with a GIN `jsonb_path_ops` index, the planner free to use it or not;
 *   - `forced`  the same index with `enable_seqscan = off`: what the index path costs even where the
 *               planner would not take it, so "does it pay off" has an answer in every cell.
 * Then the default `jsonb_ops` index is built on the same table for its size.
 */
export const LAB_CLAIM = 'The GIN index would be used automatically with 10,000+ rows OR a match rate below 5 %.';

export function labClaimPredictsIndex(rows: number, selectivity: number): boolean {
  return rows >= 10_000 || selectivity < 0.05;
}

export interface GinCell {
  rows: number;
  /** Target match rate and what the probe actually matched. */
  selectivity: number;
  matchedRows: number;
  actualSelectivity: number;
  probe: Record<string, unknown>;
  seq: QueryMeasurement;
  planner: QueryMeasurement;
  forced: QueryMeasurement;
  /** Did the planner use the GIN index when it was free to choose? */
  plannerUsedIndex: boolean;
  /** Is the index path faster than the sequential scan (forced median < seq median)? */
  indexFaster: boolean;
  /** Median seq ÷ median with the index as the planner chose. */
  speedup: number;
  /** Median seq ÷ median of the forced index path. */
  forcedSpeedup: number;
  /** The planner's choice was the faster of the two paths. */
  plannerChoseFaster: boolean;
  labClaimPredictsIndex: boolean;
}

export interface GinIndexSizes {
  rows: number;
  tableBytes: number;
  jsonbPathOpsBytes: number;
  jsonbOpsBytes: number;
  jsonbPathOpsBuildMs: number;
  jsonbOpsBuildMs: number;
}

export interface GinSizeSummary {
  rows: number;
  /** Highest target match rate at which the planner used the index (null: never). */
  plannerUsesIndexUpTo: number | null;
  /** Highest target match rate at which the index path was faster than a scan (null: never). */
  indexFasterUpTo: number | null;
}

export interface GinResult {
  query: string;
  selectivities: number[];
  cells: GinCell[];
  indexSizes: GinIndexSizes[];
  crossover: GinSizeSummary[];
  labClaim: {
    claim: string;
    /** The claim matched the planner's actual choice in every cell. */
    holds: boolean;
    cells: number;
    agreements: number;
    /** Cells where the claim's prediction and the planner's choice differ. */
    counterexamples: Array<{ rows: number; selectivity: number; predicted: boolean; plannerUsedIndex: boolean; indexFaster: boolean }>;
    verdict: string;
  };
}

export const GIN_QUERY = (table: string) => `select product_id, name, price from ${table} where metadata @> $1::jsonb`;

function highest(cells: GinCell[], predicate: (cell: GinCell) => boolean): number | null {
  const matching = cells.filter(predicate).map((cell) => cell.selectivity);
  return matching.length > 0 ? Math.max(...matching) : null;
}

function percentText(fraction: number): string {
  return `${round(fraction * 100, 2)} %`;
}

export function judgeLabClaim(cells: GinCell[]): GinResult['labClaim'] {
  const counterexamples = cells
    .filter((cell) => cell.labClaimPredictsIndex !== cell.plannerUsedIndex)
    .map((cell) => ({
      rows: cell.rows,
      selectivity: cell.selectivity,
      predicted: cell.labClaimPredictsIndex,
      plannerUsedIndex: cell.plannerUsedIndex,
      indexFaster: cell.indexFaster,
    }));
  const holds = counterexamples.length === 0;
  const where = (cell: { rows: number; selectivity: number }) =>
    `${cell.rows.toLocaleString('en-US')} rows at ${percentText(cell.selectivity)}`;
  const list = (items: Array<{ rows: number; selectivity: number }>) =>
    items.slice(0, 4).map(where).join(', ') + (items.length > 4 ? `, … (${items.length} in all)` : '');
  const examples = counterexamples
    .slice(0, 4)
    .map((c) => `${where(c)}: claim says ${c.predicted ? 'index' : 'no index'}, planner ${c.plannerUsedIndex ? 'used' : 'did not use'} it`);
  // Whether the index is used and whether it pays off are different questions: say both.
  const missed = cells.filter((cell) => !cell.plannerUsedIndex && cell.indexFaster);
  const wasted = cells.filter((cell) => cell.plannerUsedIndex && !cell.indexFaster);
  const payoff =
    `The index path was faster than a sequential scan in ${cells.filter((cell) => cell.indexFaster).length} of ${cells.length} cells. ` +
    (missed.length > 0 ? `The planner kept a sequential scan although the index was faster at ${list(missed)}. ` : '') +
    (wasted.length > 0 ? `It used the index although a sequential scan was faster at ${list(wasted)}. ` : '') +
    'The planner decides on its estimated match count and the cost of each path, not on a row-count threshold.';
  return {
    claim: LAB_CLAIM,
    holds,
    cells: cells.length,
    agreements: cells.length - counterexamples.length,
    counterexamples,
    verdict: holds
      ? `As a prediction of the planner's choice it holds in all ${cells.length} measured cells. ${payoff}`
      : `Does not hold: ${counterexamples.length} of ${cells.length} cells contradict it — ${examples.join('; ')}${
          counterexamples.length > examples.length ? '; …' : ''
        }. ${payoff}`,
  };
}

export async function runGinSuite(context: SuiteContext): Promise<GinResult> {
  const { sql, request } = context;
  const cells: GinCell[] = [];
  const indexSizes: GinIndexSizes[] = [];
  for (const rows of request.sizes.ginProducts) {
    context.deadline.check(`gin ${rows}`);
    const table = await timed(context, `gin.fixture.${rows}`, () => buildGinProducts(sql, rows));
    const query = GIN_QUERY(table);
    const probes = GIN_SELECTIVITIES.map((selectivity) => ({ selectivity, probe: ginProbe(selectivity) }));
    const measureAll = async (label: 'seq' | 'planner' | 'forced') => {
      const results: Array<{ measurement: QueryMeasurement }> = [];
      for (const { selectivity, probe } of probes) {
        context.deadline.check(`gin ${rows} ${label} ${selectivity}`);
        // The object itself: postgres.js serialises jsonb parameters (a JSON string would be double-encoded).
        const { measurement, plan } = await measureQuery(sql, query, () => [probe], request.repetitions);
        context.plan(`gin/${rows}/${selectivity}/${label}`, plan);
        results.push({ measurement });
      }
      return results.map((result) => result.measurement);
    };

    const seq = await measureAll('seq');
    const pathOpsIndex = `gin_products_${rows}_path_ops_idx`;
    const pathOpsStarted = performance.now();
    await sql.unsafe(`create index ${pathOpsIndex} on ${table} using gin (metadata jsonb_path_ops)`);
    const jsonbPathOpsBuildMs = Math.round(performance.now() - pathOpsStarted);
    context.time(`gin.index.${rows}.jsonb_path_ops`, jsonbPathOpsBuildMs);
    const jsonbPathOpsBytes = await relationSize(sql, `bench.${pathOpsIndex}`);

    const planner = await measureAll('planner');
    await sql.unsafe('set enable_seqscan = off');
    let forced: QueryMeasurement[];
    try {
      forced = await measureAll('forced');
    } finally {
      await sql.unsafe('reset enable_seqscan');
    }
    await sql.unsafe(`drop index bench.${pathOpsIndex}`);

    const opsIndex = `gin_products_${rows}_ops_idx`;
    const opsStarted = performance.now();
    await sql.unsafe(`create index ${opsIndex} on ${table} using gin (metadata)`);
    const jsonbOpsBuildMs = Math.round(performance.now() - opsStarted);
    context.time(`gin.index.${rows}.jsonb_ops`, jsonbOpsBuildMs);
    indexSizes.push({
      rows,
      tableBytes: await relationSize(sql, table),
      jsonbPathOpsBytes,
      jsonbOpsBytes: await relationSize(sql, `bench.${opsIndex}`),
      jsonbPathOpsBuildMs,
      jsonbOpsBuildMs,
    });
    await sql.unsafe(`drop table ${table}`);

    probes.forEach(({ selectivity, probe }, i) => {
      const s = seq[i]!;
      const p = planner[i]!;
      const f = forced[i]!;
      const plannerUsedIndex = p.shape.indexes.includes(pathOpsIndex);
      const indexFaster = f.medianMs < s.medianMs;
      cells.push({
        rows,
        selectivity,
        matchedRows: s.rows,
        actualSelectivity: round(s.rows / rows, 6),
        probe,
        seq: s,
        planner: p,
        forced: f,
        plannerUsedIndex,
        indexFaster,
        speedup: round(s.medianMs / p.medianMs, 2),
        forcedSpeedup: round(s.medianMs / f.medianMs, 2),
        plannerChoseFaster: plannerUsedIndex === indexFaster,
        labClaimPredictsIndex: labClaimPredictsIndex(rows, selectivity),
      });
    });
    context.log('gin size measured', { rows });
  }
  const crossover = request.sizes.ginProducts.map((rows) => {
    const ofSize = cells.filter((cell) => cell.rows === rows);
    return {
      rows,
      plannerUsesIndexUpTo: highest(ofSize, (cell) => cell.plannerUsedIndex),
      indexFasterUpTo: highest(ofSize, (cell) => cell.indexFaster),
    };
  });
  return {
    query: GIN_QUERY('products'),
    selectivities: [...GIN_SELECTIVITIES],
    cells,
    indexSizes,
    crossover,
    labClaim: judgeLabClaim(cells),
  };
}
