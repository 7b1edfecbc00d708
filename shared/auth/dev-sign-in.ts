import type { Sql } from '../clients/postgres.js';
import type { Config } from '../config.js';

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
