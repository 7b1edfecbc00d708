import type { Sql } from '../clients/postgres.js';
import type { Config } from '../config.js';
import { LOOPBACK_HOST } from './rules.js';

/**
 * The web console's sign-in on this machine (`npm start`): a customer picker, and tokens for the chosen
 * customer or an admin, signed with the local development secret — what `npm run --silent token` prints.
 * Never on a cloud stage, twice over: the function and its routes exist only under serverless-offline
 * (scripts/serverless/offline-only.cjs), and the handler refuses unless it runs there (IS_OFFLINE) with a
 * local secret and no identity provider.
 */
export const DEV_TOKEN_TTL_SECONDS = 8 * 3600;
export const DEV_CUSTOMERS = 20;

export function devSignInAvailable(config: Config, env: NodeJS.ProcessEnv = process.env): boolean {
  return env.IS_OFFLINE === 'true' && Boolean(config.auth.secret) && !config.auth.jwksUrl;
}

/**
 * Whether a request comes from this machine's own pages (or a program without a browser): a loopback Host,
 * and no Origin or the page's own. Any web page the developer visits could otherwise mint an admin token
 * by posting to 127.0.0.1 (a cross-site request), or under a name of its own that resolves to 127.0.0.1
 * (DNS rebinding: the browser then sends that name as Host).
 */
export function fromThisMachine(headers: { host?: string | undefined; origin?: string | undefined }): boolean {
  const host = headers.host ?? '';
  if (!LOOPBACK_HOST.test(host)) return false;
  if (headers.origin === undefined) return true;
  try {
    return new URL(headers.origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

export interface DevCustomer {
  customerId: number;
  name: string;
  email: string;
}

/** The first customers by id: the picker's choices. */
export async function devCustomers(sql: Sql, limit = DEV_CUSTOMERS): Promise<DevCustomer[]> {
  return sql<DevCustomer[]>`select customer_id as "customerId", name, email from customers order by customer_id limit ${limit}`;
}

export async function devCustomer(sql: Sql, customerId: number): Promise<DevCustomer | undefined> {
  const [row] = await sql<DevCustomer[]>`select customer_id as "customerId", name, email from customers where customer_id = ${customerId}`;
  return row;
}
