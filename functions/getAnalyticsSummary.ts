import * as z from 'zod';
import { getAnalyticsSummary, MAX_DAYS, MAX_TOP } from '../shared/analytics/summary.js';
import { getSql } from '../shared/clients/postgres.js';
import { httpHandler } from '../shared/http/handler.js';
import { intQueryParam } from '../shared/http/schemas.js';

const QuerySchema = z.strictObject({
  days: intQueryParam(1, MAX_DAYS).default(30),
  top: intQueryParam(1, MAX_TOP).default(10),
});

/** GET /analytics/summary?days=30&top=10 — revenue per day, AOV, top customers, categories, brands. */
export const handler = httpHandler('getAnalyticsSummary', { query: QuerySchema, access: 'admin' }, async ({ query }) => {
  const summary = await getAnalyticsSummary(getSql(), query);
  return { statusCode: 200, body: summary, headers: { 'Cache-Control': 'no-store' } };
});
