/**
 * The login the functions can connect as (shared/db/app-role.ts, made by `npm run db:migrate -- --app-role`),
 * on the real PostgreSQL: everything the functions do works as
 * it, and no DDL, TRUNCATE or change to the migrations' record does. The password reaches the server only as a
 * SCRAM verifier, the one PostgreSQL would compute itself.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAnalyticsSummary } from '../../shared/analytics/summary.js';
import { listRuns } from '../../shared/benchmarks/store.js';
import { postgresOptions, type Sql } from '../../shared/clients/postgres.js';
import { parseConfig } from '../../shared/config.js';
import { scramVerifier } from '../../shared/db/app-role.js';
import { migrate } from '../../shared/db/migrate.js';
import { createOrder } from '../../shared/orders/create-order.js';
import { getOrder, listCustomerOrders } from '../../shared/orders/history.js';
import { purgeExpiredIdempotencyKeys } from '../../shared/orders/idempotency.js';
import { getProduct, listProducts } from '../../shared/products/catalog.js';
import { productNamesAndSource } from '../../shared/products/queries.js';
import { reconcileTopProducts } from '../../shared/products/reconcile.js';
import { runScript } from '../benchmarks/helpers.js';
import { canCreateRoles, type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';
import { newRedis } from '../products/helpers.js';

const ROLE = 'shop_app_test';
const sql = testSql();
const config = parseConfig(process.env).database;
const allowed = await canCreateRoles(sql);
let app: Sql;
let fx: Fixtures;

/** Drops the role and everything granted to it in this database (a run that failed may have left it). */
async function dropRole(): Promise<void> {
  const [{ exists }] = await sql<[{ exists: boolean }]>`select exists (select from pg_roles where rolname = ${ROLE}) as exists`;
  if (!exists) return;
  await sql`drop owned by ${sql(ROLE)}`;
  await sql`drop role ${sql(ROLE)}`;
}

const storedVerifier = async () =>
  (await sql<[{ verifier: string }]>`select rolpassword as verifier from pg_authid where rolname = ${ROLE}`)[0].verifier;

beforeAll(async () => {
  if (!allowed) return;
  await dropRole();
  await resetShop(sql);
  fx = await insertFixtures(sql, { customers: 2, products: 3, stock: 100 });
  await migrate(config.url, () => {}, { appRole: { name: ROLE, password: 'first-password-of-the-app-role', statementTimeoutMs: 4_000 } });
  const url = new URL(config.url);
  url.username = ROLE;
  url.password = 'first-password-of-the-app-role';
  app = postgres(url.href, { ...postgresOptions({ ...config, url: url.href }, 'ecommerce-pipeline-tests'), max: 2 }) as unknown as Sql;
});

afterAll(async () => {
  await app?.end();
  if (allowed) await dropRole();
  await sql.end();
});

describe.skipIf(!allowed)('the functions’ own login', () => {
  it('is who the connection is, and no superuser, owner or creator of anything', async () => {
    const [me] = await app`
      select current_user as "user", rolsuper, rolcreatedb, rolcreaterole, rolbypassrls,
             has_database_privilege(current_database(), 'create') as "createInDatabase",
             has_schema_privilege('public', 'create') as "createInSchema"
      from pg_roles where rolname = current_user`;
    expect(me).toEqual({
      user: ROLE,
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolbypassrls: false,
      createInDatabase: false,
      // PUBLIC has no CREATE on schema public (PostgreSQL 15+, the project's minimum).
      createInSchema: false,
    });
  });

  it('has the functions’ timeouts as its own settings in this database: a pooler drops those they send at connect', async () => {
    const [{ settings }] = await sql<[{ settings: string[] }]>`
      select s.setconfig as settings from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
      where r.rolname = ${ROLE} and s.setdatabase = (select oid from pg_database where datname = current_database())`;
    expect(settings.sort()).toEqual(['idle_in_transaction_session_timeout=10000', 'statement_timeout=4000']);
    // A session opened without startup parameters (as through the pooler) gets them.
    const url = new URL(config.url);
    url.username = ROLE;
    url.password = 'first-password-of-the-app-role';
    const bare = postgres(url.href, { max: 1, onnotice: () => {} });
    try {
      expect(
        await bare`select current_setting('statement_timeout') as statement, current_setting('idle_in_transaction_session_timeout') as idle`,
      ).toEqual([{ statement: '4s', idle: '10s' }]);
    } finally {
      await bare.end();
    }
  });

  it('does everything the functions do', async () => {
    const [customerId, other] = fx.customerIds as [number, number];
    const items = [{ productId: fx.productIds[0]!, quantity: 2 }];
    const placed = await createOrder(app, { customerId, items }, { idempotencyKey: 'app-role-1' });
    expect(placed.replayed).toBe(false);
    expect((await createOrder(app, { customerId, items }, { idempotencyKey: 'app-role-1' })).replayed).toBe(true);
    const checkout = await createOrder(app, { customerId: other, items }, { idempotencyKey: 'cart:app-role', checkoutKey: 'app-role-2' });
    expect(checkout.checkoutKeyRecorded).toBe(true);
    expect(await getOrder(app, placed.order.orderId, { customerId, isAdmin: false })).toMatchObject({ orderId: placed.order.orderId });
    expect((await listCustomerOrders(app, customerId, { limit: 5 }, String))?.items).toHaveLength(1);
    expect((await listProducts(app, { attributes: {} }, { limit: 5 }, String)).items).toHaveLength(3);
    expect(await getProduct(app, fx.productIds[1]!)).toMatchObject({ productId: fx.productIds[1] });
    expect(await productNamesAndSource(app, fx.productIds)).toBeDefined();
    expect((await getAnalyticsSummary(app, { days: 7, top: 3 })).orders).toBeGreaterThanOrEqual(2);
    expect(await listRuns(app)).toEqual(expect.any(Array));
    await sql`update idempotency_keys set expires_at = now() - interval '1 day', created_at = now() - interval '2 days'`;
    // The POST /orders key and the checkout's order key (its checkout key is still live).
    expect(await purgeExpiredIdempotencyKeys(app)).toBe(2);
    const redis = newRedis();
    const reconciled = await reconcileTopProducts(
      { sql: app, redis, namespace: 'ecommerce-pipeline:test-app-role' },
      { mode: 'full', waitForLockMs: 15_000 },
    );
    expect(reconciled.products).toBeGreaterThan(0);
  });

  it('changes no table, schema or migration record: insufficient privilege (42501), each', async () => {
    const refused = async (statement: string) => {
      const error = await app.unsafe(statement).then(
        () => undefined,
        (e: unknown) => e,
      );
      return [statement, (error as { code?: string } | undefined)?.code];
    };
    const statements = [
      'create table app_role_probe (id int)',
      'create schema app_role_probe',
      'drop table order_items',
      'alter table orders add column app_role_probe int',
      'truncate orders cascade',
      'create index app_role_probe on orders (total_amount)',
      'delete from migrations',
      'insert into migration_checksums values (99999, $$x$$)',
      'drop function place_order(int, int[], int[], text, bytea, int, text)',
    ];
    const results = [];
    for (const statement of statements) results.push(await refused(statement));
    expect(results).toEqual(statements.map((statement) => [statement, '42501']));
    expect(await app`select count(*)::int as n from migrations`).toEqual([{ n: expect.any(Number) }]);
  });

  it('gets the rows of a table a later migration creates, without another grant', async () => {
    await sql`create table app_role_later (id int primary key generated always as identity, note text)`;
    try {
      await app`insert into app_role_later (note) values ('written by the functions')`;
      expect(await app`select note from app_role_later`).toEqual([{ note: 'written by the functions' }]);
    } finally {
      await sql`drop table app_role_later`;
    }
  });

  it('the server gets a SCRAM verifier, never the password; running it again sets the new one', async () => {
    const first = await storedVerifier();
    expect(first).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    await migrate(config.url, () => {}, { appRole: { name: ROLE, password: 'second-password-of-the-app-role' } });
    const second = await storedVerifier();
    expect(second).not.toBe(first);
    // The verifier PostgreSQL itself computes for that password, with the same salt and iterations.
    const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(second)!;
    expect(scramVerifier('second-password-of-the-app-role', Buffer.from(salt!, 'base64'), Number(iterations))).toBe(second);
    await sql.begin(async (tx) => {
      await tx`set local password_encryption = 'scram-sha-256'`;
      await tx.unsafe(`alter role ${ROLE} password 'checked-by-postgresql-itself'`);
    });
    const own = await storedVerifier();
    const [, ownIterations, ownSalt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(own)!;
    expect(scramVerifier('checked-by-postgresql-itself', Buffer.from(ownSalt!, 'base64'), Number(ownIterations))).toBe(own);
  });

  it('refuses to make an existing role that could do more the functions’ login: the migrating user, an elevated role, an owner', async () => {
    const [{ me }] = await sql<[{ me: string }]>`select current_user as me`;
    const attempt = (name: string) =>
      migrate(config.url, () => {}, { appRole: { name, password: 'a-password-of-the-app-role' } }).then(
        () => 'made',
        (error: Error) => error.message,
      );
    expect(await attempt(me)).toMatch(/cannot be the functions' login: it is the user running the migrations/);
    for (const role of ['app_role_elevated_test', 'app_role_member_test', 'app_role_owner_test'])
      await sql.unsafe(`drop role if exists ${role}`);
    await sql`drop table if exists app_role_owned`;
    await sql`create role app_role_elevated_test login createdb`;
    await sql`create role app_role_member_test login in role pg_write_all_data`;
    await sql`create role app_role_owner_test login`;
    await sql`create table app_role_owned (id int)`;
    await sql`alter table app_role_owned owner to app_role_owner_test`;
    try {
      expect(await attempt('app_role_elevated_test')).toMatch(/it has SUPERUSER, CREATEDB/);
      expect(await attempt('app_role_member_test')).toMatch(/it is a member of another role/);
      expect(await attempt('app_role_owner_test')).toMatch(/it owns a database, schema, table or function here/);
    } finally {
      await sql`drop table app_role_owned`;
      await sql`drop role app_role_elevated_test`;
      await sql`drop role app_role_member_test`;
      await sql`drop role app_role_owner_test`;
    }
  });
});

/**
 * Aurora's and RDS's master user is no superuser, only CREATEROLE and the owner of what it made: the role is
 * created, then updated at every later run, by such a user.
 */
describe.skipIf(!allowed)('made and updated by a migrating user who is no superuser', () => {
  const MIGRATOR = 'shop_migrator_test';
  const DATABASE = 'shop_app_role_test';
  const APP = 'shop_app_by_migrator_test';

  const cleanUp = async () => {
    await sql.unsafe(`drop database if exists ${DATABASE} with (force)`);
    for (const role of [APP, MIGRATOR]) await sql.unsafe(`drop role if exists ${role}`);
  };

  afterAll(cleanUp);

  it('creates the role, then updates its password and settings run after run', async () => {
    await cleanUp();
    const migratorPassword = 'a-password-of-the-migrating-user';
    await sql.unsafe(`create role ${MIGRATOR} login createrole password '${migratorPassword}'`);
    await sql.unsafe(`create database ${DATABASE} owner ${MIGRATOR}`);
    const url = new URL(config.url);
    url.username = MIGRATOR;
    url.password = migratorPassword;
    url.pathname = `/${DATABASE}`;
    const verifiers: string[] = [];
    for (const [run, [password, statementTimeoutMs]] of (
      [
        ['first-password-of-the-app-role', 3_000],
        ['second-password-of-the-app-role', 4_000],
      ] as const
    ).entries()) {
      const { applied } = await migrate(url.href, () => {}, { appRole: { name: APP, password, statementTimeoutMs } });
      expect(applied.length > 0, `run ${run + 1}`).toBe(run === 0);
      verifiers.push((await sql<[{ v: string }]>`select rolpassword as v from pg_authid where rolname = ${APP}`)[0].v);
    }
    expect(verifiers[1]).not.toBe(verifiers[0]);
    const [{ settings }] = await sql<[{ settings: string[] }]>`
      select s.setconfig as settings from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
      where r.rolname = ${APP} and s.setdatabase = (select oid from pg_database where datname = ${DATABASE})`;
    expect(settings.sort()).toEqual(['idle_in_transaction_session_timeout=10000', 'statement_timeout=4000']);
    const [role] = await sql`select rolsuper, rolcreatedb, rolcreaterole, rolcanlogin from pg_roles where rolname = ${APP}`;
    expect(role).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolcanlogin: true });
  });
});

describe.skipIf(!allowed)('npm run db:migrate -- --app-role', () => {
  const SCRIPT_ROLE = 'shop_app_script_test';
  afterAll(async () => {
    const [{ exists }] = await sql<[{ exists: boolean }]>`select exists (select from pg_roles where rolname = ${SCRIPT_ROLE}) as exists`;
    if (exists) {
      await sql`drop owned by ${sql(SCRIPT_ROLE)}`;
      await sql`drop role ${sql(SCRIPT_ROLE)}`;
    }
  });

  it('refuses a weak password or a bad name before touching the database, then makes the role and prints no password', async () => {
    const migrateScript = (args: string[], env: Record<string, string | undefined>) => runScript('scripts/db/migrate.ts', args, env);
    const weak = await migrateScript(['--app-role', SCRIPT_ROLE], { APP_DATABASE_PASSWORD: 'short' });
    expect([weak.code, weak.stderr]).toEqual([
      2,
      expect.stringMatching(/APP_DATABASE_PASSWORD in the environment: 16 or more printable ASCII/),
    ]);
    const badName = await migrateScript(['--app-role', 'Shop-App'], { APP_DATABASE_PASSWORD: 'a-password-of-the-app-role' });
    expect([badName.code, badName.stderr]).toEqual([2, expect.stringMatching(/--app-role must be a lowercase identifier/)]);
    expect(await sql`select 1 from pg_roles where rolname = ${SCRIPT_ROLE}`).toHaveLength(0);

    const made = await migrateScript(['--app-role', SCRIPT_ROLE], { APP_DATABASE_PASSWORD: 'a-password-of-the-app-role' });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain(`role ${SCRIPT_ROLE}: rows of the shop's tables, no DDL`);
    expect(`${made.stdout}${made.stderr}`).not.toContain('a-password-of-the-app-role');
    const [role] = await sql`select rolcanlogin, rolsuper from pg_roles where rolname = ${SCRIPT_ROLE}`;
    expect(role).toEqual({ rolcanlogin: true, rolsuper: false });
  }, 60_000);
});
