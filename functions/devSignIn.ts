import type { Context } from 'aws-lambda';
import { DEV_TOKEN_TTL_SECONDS, devCustomer, devCustomers, devSignInAvailable, fromThisMachine } from '../shared/auth/dev-sign-in.js';
import { createDevTokenRoute, listDevCustomersRoute } from '../shared/auth/routes.js';
import { ForbiddenError, signLocalToken } from '../shared/auth/tokens.js';
import { getSql } from '../shared/clients/postgres.js';
import { getConfig } from '../shared/config.js';
import { NotFoundError } from '../shared/errors.js';
import type { HttpEvent } from '../shared/http/handler.js';
import { routeHandler } from '../shared/http/route-handler.js';

/**
 * GET /dev/customers and POST /dev/tokens — the console's sign-in under `npm start` (never deployed:
 * scripts/serverless/offline-only.cjs defines this function for serverless-offline alone).
 */
function refuseOffThisMachine(headers: Record<string, string | undefined>): void {
  if (!devSignInAvailable(getConfig())) throw new NotFoundError('NOT_FOUND', 'There is no such route.');
  if (!fromThisMachine(headers)) throw new ForbiddenError('The dev sign-in answers the pages of this machine only.');
}

const listCustomers = routeHandler(listDevCustomersRoute, async ({ headers }) => {
  refuseOffThisMachine(headers);
  return { statusCode: 200, body: { customers: await devCustomers(getSql()) } };
});

const createToken = routeHandler(createDevTokenRoute, async ({ body, headers }) => {
  refuseOffThisMachine(headers);
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
