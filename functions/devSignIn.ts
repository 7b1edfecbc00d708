import type { Context } from 'aws-lambda';
import { DEV_TOKEN_TTL_SECONDS, devCustomer, devCustomers, devSignInAvailable } from '../shared/auth/dev-sign-in.js';
import { createDevTokenRoute, listDevCustomersRoute } from '../shared/auth/routes.js';
import { signLocalToken } from '../shared/auth/tokens.js';
import { getSql } from '../shared/clients/postgres.js';
import { getConfig } from '../shared/config.js';
import { NotFoundError } from '../shared/errors.js';
import type { HttpEvent } from '../shared/http/handler.js';
import { routeHandler } from '../shared/http/route-handler.js';

/**
 * GET /dev/customers and POST /dev/tokens — the console's sign-in under `npm start` (never deployed:
 * scripts/serverless/offline-only.cjs defines this function for serverless-offline alone).
 */
function refuseOffThisMachine(): void {
  if (!devSignInAvailable(getConfig())) throw new NotFoundError('NOT_FOUND', 'There is no such route.');
}

const listCustomers = routeHandler(listDevCustomersRoute, async () => {
  refuseOffThisMachine();
  return { statusCode: 200, body: { customers: await devCustomers(getSql()) } };
});

const createToken = routeHandler(createDevTokenRoute, async ({ body }) => {
  refuseOffThisMachine();
  const customer = 'customerId' in body ? await devCustomer(getSql(), body.customerId) : null;
  if ('customerId' in body && !customer) throw new NotFoundError('CUSTOMER_NOT_FOUND', `There is no customer ${body.customerId}.`);
  const subject = customer ? String(customer.customerId) : 'console-admin';
  const ttlSeconds = Math.min(DEV_TOKEN_TTL_SECONDS, getConfig().auth.maxTokenAgeSeconds ?? DEV_TOKEN_TTL_SECONDS);
  const token = await signLocalToken(getConfig().auth, { sub: subject, admin: !customer, ttlSeconds });
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000).toISOString();
  return { statusCode: 201, body: { token, expiresAt, subject, customer: customer ?? null, admin: !customer } };
});

export const handler = (event: HttpEvent, context: Context) =>
  (event.requestContext?.http?.method === 'POST' ? createToken : listCustomers)(event, context);
