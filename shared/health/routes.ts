import * as z from 'zod';
import { assertType, defineRoute, type SameKeys, Timestamp } from '../http/route.js';
import type { HealthReport } from './health.js';

const CheckSchema = z.object({ status: z.enum(['ok', 'down']), ms: z.number().int().min(0), code: z.string().optional() });

export const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded', 'down']),
    checks: z.object({
      postgres: CheckSchema,
      redis: CheckSchema,
      mongo: CheckSchema,
      cartIndexes: z.object({ status: z.enum(['ttl', 'plain', 'failed', 'unknown']), code: z.string().optional() }),
    }),
    checkedAt: Timestamp,
  })
  .meta({ title: 'Health' }) satisfies z.ZodType<HealthReport>;
assertType<SameKeys<z.output<typeof HealthSchema>, HealthReport>>();

export const getHealthRoute = defineRoute({
  function: 'getHealth',
  method: 'GET',
  path: '/health',
  summary: 'Live health of the stores',
  description:
    'PostgreSQL, Redis (Upstash REST), the MongoDB server and the cart indexes, checked now. 200 when the shop can take orders (status ok, or degraded: the cache or the cart indexes need attention), 503 when PostgreSQL or MongoDB does not answer, or PostgreSQL answers read-only (a failover in progress).',
  tags: ['meta'],
  request: { access: 'public' },
  responses: {
    200: { description: 'ok or degraded.', schema: HealthSchema },
    503: {
      description:
        'down: a store the orders or carts need does not answer, or PostgreSQL takes no writes (the body is the same report); or, should the checks outlast the function, the stack’s own 503 TIMEOUT error.',
      schema: HealthSchema,
      headers: { 'Retry-After': 'Seconds to wait before checking again.' },
    },
  },
});
