import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { confirmCustomer } from '../../shared/auth/sign-up.js';
import { addSampleCatalog } from '../../shared/db/sample-catalog.js';
import { insertFixtures, testSql } from '../helpers/db.js';

/** The post-confirmation trigger's work (functions/confirmCustomer.ts) against the test database. */
const sql = testSql();
afterAll(() => sql.end({ timeout: 5 }));

const email = () => `Signup-${randomUUID()}@Example.test`;
const recorder = () => {
  const written: string[] = [];
  return { written, setCustomerId: async (id: string) => void written.push(id) };
};

describe('confirmCustomer (Cognito post-confirmation)', () => {
  it('creates the customers row and writes its id to the user', async () => {
    const address = email();
    const { written, setCustomerId } = recorder();
    const id = await confirmCustomer(sql, { email: address, emailVerified: true, name: 'Ada Lovelace' }, setCustomerId);
    expect(written).toEqual([String(id)]);
    const rows = await sql`select name, email from customers where customer_id = ${id}`;
    expect(rows).toEqual([{ name: 'Ada Lovelace', email: address }]);
  });

  it('finds the same customer when the trigger is retried (one row per email, case-insensitive)', async () => {
    const address = email();
    const first = recorder();
    const id = await confirmCustomer(sql, { email: address, emailVerified: true }, first.setCustomerId);
    const again = recorder();
    expect(await confirmCustomer(sql, { email: address.toLowerCase(), emailVerified: true }, again.setCustomerId)).toBe(id);
    expect(again.written).toEqual([String(id)]);
    const [counted] = await sql<
      Array<{ count: number }>
    >`select count(*)::int as count from customers where lower(email) = lower(${address})`;
    expect(counted?.count).toBe(1);
    // No name given: the email's local part stands in (the column is required).
    const [named] = await sql<Array<{ name: string }>>`select name from customers where customer_id = ${id}`;
    expect(named?.name).toBe(address.split('@')[0]);
  });

  it('leaves a user who already has a customer id alone', async () => {
    const { written, setCustomerId } = recorder();
    expect(await confirmCustomer(sql, { email: email(), emailVerified: true, customerId: '42' }, setCustomerId)).toBe(42);
    expect(written).toEqual([]);
  });

  it('fails when the id cannot be written, and a retry links the row it created', async () => {
    const address = email();
    await expect(
      confirmCustomer(sql, { email: address, emailVerified: true }, async () => {
        throw new Error('AdminUpdateUserAttributes timed out');
      }),
    ).rejects.toThrow(/timed out/);
    const { written, setCustomerId } = recorder();
    const id = await confirmCustomer(sql, { email: address, emailVerified: true }, setCustomerId);
    expect(written).toEqual([String(id)]);
  });

  it('links nobody by an email that was not verified (an operator’s AdminConfirmSignUp): an existing customer stays theirs', async () => {
    const address = email();
    const owner = await confirmCustomer(sql, { email: address, emailVerified: true }, recorder().setCustomerId);
    const { written, setCustomerId } = recorder();
    await expect(confirmCustomer(sql, { email: address.toUpperCase(), emailVerified: false }, setCustomerId)).rejects.toThrow(
      /not verified/,
    );
    await expect(confirmCustomer(sql, { email: email(), emailVerified: false }, setCustomerId)).rejects.toThrow(/not verified/);
    expect(written).toEqual([]);
    const [counted] = await sql<
      Array<{ count: number }>
    >`select count(*)::int as count from customers where lower(email) = lower(${address})`;
    expect([counted?.count, owner]).toEqual([1, owner]);
  });
});

describe('addSampleCatalog (npm run invoke -- migrate {"sampleCatalog":true})', () => {
  it('never touches a catalog that has products', async () => {
    await insertFixtures(sql, { customers: 0, products: 1 });
    const before = await sql`select count(*)::int as count from products`;
    expect(await addSampleCatalog(sql)).toBe(0);
    expect(await sql`select count(*)::int as count from products`).toEqual(before);
  });
});
