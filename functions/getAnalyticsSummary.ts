import { getAnalyticsSummaryRoute } from '../shared/analytics/routes.js';
import { getAnalyticsSummary } from '../shared/analytics/summary.js';
import { getSql } from '../shared/clients/postgres.js';
import { routeHandler } from '../shared/http/route-handler.js';

/** GET /analytics/summary?days=30&top=10 — revenue per day, AOV, top customers, categories, brands. */
export const handler = routeHandler(getAnalyticsSummaryRoute, async ({ query }) => {
  const summary = await getAnalyticsSummary(getSql(), query);
  return { statusCode: 200, body: summary, headers: { 'Cache-Control': 'no-store' } };
});
