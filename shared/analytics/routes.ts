import * as z from 'zod';
import { assertType, defineRoute, Money, type SameKeys, Timestamp } from '../http/route.js';
import { intQueryParam } from '../http/schemas.js';
import { id } from '../ids.js';
import { type AnalyticsSummary, MAX_DAYS, MAX_TOP } from './summary.js';

export const AnalyticsQuerySchema = z.strictObject({
  days: intQueryParam(1, MAX_DAYS)
    .default(30)
    .meta({ description: `UTC days up to today, 1–${MAX_DAYS} (default 30).` }),
  top: intQueryParam(1, MAX_TOP)
    .default(10)
    .meta({ description: `Length of each top list, 1–${MAX_TOP} (default 10).` }),
});

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const DimensionSales = z.object({ name: z.string().nullable(), units: z.number().int(), revenue: Money, products: z.number().int() });

export const AnalyticsSummarySchema = z
  .object({
    window: z.object({ days: z.number().int(), from: Timestamp, to: Timestamp, timeZone: z.literal('UTC') }),
    orders: z.number().int(),
    revenue: Money,
    averageOrderValue: Money.nullable(),
    customers: z.number().int(),
    revenueByDay: z.array(z.object({ day: Day, orders: z.number().int(), revenue: Money })),
    topCustomers: z.array(z.object({ customerId: id, name: z.string(), orders: z.number().int(), spend: Money })),
    topCategories: z.array(DimensionSales),
    topBrands: z.array(DimensionSales),
    generatedAt: Timestamp,
  })
  .meta({ title: 'AnalyticsSummary' }) satisfies z.ZodType<AnalyticsSummary>;
assertType<SameKeys<z.output<typeof AnalyticsSummarySchema>, AnalyticsSummary>>();

export const getAnalyticsSummaryRoute = defineRoute({
  function: 'getAnalyticsSummary',
  method: 'GET',
  path: '/analytics/summary',
  summary: 'Sales summary (admin)',
  description: 'Revenue per day, order count, average order value, top customers, best categories and brands.',
  tags: ['analytics'],
  request: { query: AnalyticsQuerySchema, access: 'admin' },
  example: { query: { days: '30', top: '5' } },
  responses: { 200: { description: 'The summary over the window.', schema: AnalyticsSummarySchema } },
});
