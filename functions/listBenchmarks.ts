import { listBenchmarksRoute } from '../shared/benchmarks/routes.js';
import { runHistory } from '../shared/benchmarks/store.js';
import { getSql } from '../shared/clients/postgres.js';
import { routeHandler } from '../shared/http/route-handler.js';

/** GET /benchmarks — the most recent stored benchmark runs with their metric rows (the console's trend). */
export const handler = routeHandler(listBenchmarksRoute, async ({ query }) => ({
  statusCode: 200,
  body: { runs: await runHistory(getSql(), query.limit) },
}));
