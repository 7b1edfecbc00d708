import type { Sql } from '../clients/postgres.js';

/** What the post-confirmation trigger knows about a user who just confirmed their sign-up. */
export interface ConfirmedUser {
  email: string;
  /** Cognito's `email_verified`: an operator's AdminConfirmSignUp confirms a user whose email was never proven. */
  emailVerified: boolean;
  /** Cognito's optional `name` attribute; the customers row needs one, so the email's local part stands in. */
  name?: string | undefined;
  /** `custom:customer_id` when the user already has one (a retried trigger). */
  customerId?: string | undefined;
}

/**
 * Makes a confirmed user a customer: the customers row (one per email, case-insensitive, so a retried
 * trigger or an existing customer who signs up finds their row; only a verified address), then its
 * id on the user through the admin API (`setCustomerId`), the only way it gets there: the app client may
 * not write the attribute. Returns the customer id.
 */
export async function confirmCustomer(
  sql: Sql,
  user: ConfirmedUser,
  setCustomerId: (customerId: string) => Promise<void>,
): Promise<number> {
  if (user.customerId) return Number(user.customerId);
  // The customers row is found by email: an address nobody proved would hand its customer (orders, cart)
  // to whoever typed it. Refused: the user stays without a customer id (docs/deploy.md says what then).
  if (!user.emailVerified) throw new Error('the email is not verified: a customer is linked by a verified email only');
  const name = (user.name?.trim() || user.email.split('@')[0] || user.email).slice(0, 200);
  const [row] = await sql<Array<{ customer_id: number }>>`
    insert into customers (name, email) values (${name}, ${user.email})
    on conflict ((lower(email))) do update set email = customers.email
    returning customer_id`;
  const customerId = row!.customer_id;
  await setCustomerId(String(customerId));
  return customerId;
}
