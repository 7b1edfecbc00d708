import * as z from 'zod';
import { defineRoute, ErrorEnvelopeSchema, Timestamp } from '../http/route.js';
import { id } from '../ids.js';

/**
 * The console's sign-in on this machine (shared/auth/dev-sign-in.ts). Not part of the API: these routes
 * exist only under serverless-offline, so they are left out of the route table and the OpenAPI document.
 */
const DevCustomerSchema = z.object({ customerId: id, name: z.string(), email: z.string() });

export const listDevCustomersRoute = defineRoute({
  function: 'devSignIn',
  method: 'GET',
  path: '/dev/customers',
  summary: 'Customers to sign in as (local only)',
  description: 'The first customers by id, for the console’s customer picker. Only under serverless-offline.',
  tags: ['meta'],
  request: { access: 'public' },
  responses: { 200: { description: 'The customers.', schema: z.object({ customers: z.array(DevCustomerSchema) }) } },
});

export const DevTokenBodySchema = z.union([z.strictObject({ customerId: id }), z.strictObject({ admin: z.literal(true) })]);

export const DevTokenSchema = z.object({
  token: z.string(),
  expiresAt: Timestamp,
  subject: z.string(),
  customer: DevCustomerSchema.nullable(),
  admin: z.boolean(),
});

export const createDevTokenRoute = defineRoute({
  function: 'devSignIn',
  method: 'POST',
  path: '/dev/tokens',
  summary: 'A local token for a customer or an admin (local only)',
  description: 'Signed with the development secret, as `npm run --silent token` does. Only under serverless-offline.',
  tags: ['meta'],
  request: { body: DevTokenBodySchema, access: 'public' },
  example: { body: { customerId: 1 } },
  responses: {
    201: { description: 'The token.', schema: DevTokenSchema },
    404: { description: 'CUSTOMER_NOT_FOUND, or NOT_FOUND off this machine.', schema: ErrorEnvelopeSchema },
  },
});
