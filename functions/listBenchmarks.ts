import { listBenchmarksRoute } from '../shared/benchmarks/routes.js';
import { RUN_HISTORY_SCOPE, runHistory } from '../shared/benchmarks/store.js';
import { getSql } from '../shared/clients/postgres.js';
import { getConfig } from '../shared/config.js';
import { routeHandler } from '../shared/http/route-handler.js';
import { pageRequest } from '../shared/pagination.js';

/** GET /benchmarks?limit=20&cursor=… — the stored benchmark runs with their metric rows, newest first (the console's trend). */
export const handler = routeHandler(listBenchmarksRoute, async ({ query }) => {
  const { page, cursor } = pageRequest(getConfig().pagination.cursorSecret, RUN_HISTORY_SCOPE, query);
  const { items, nextCursor } = await runHistory(getSql(), page, cursor);
  return { statusCode: 200, body: { runs: items, nextCursor } };
});
