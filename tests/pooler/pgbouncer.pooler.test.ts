import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { formatLoad, type LoadResult, poolerMonitor, simulateContainers } from '../../bench/lib/containers.js';
import { ROOT, withDatabase } from '../../scripts/lib/env.js';
import { pooledUrl, startPooler, stopPooler } from '../../scripts/lib/pgbouncer.js';
import { postgresOptions, type Sql } from '../../shared/clients/postgres.js';
import { parseConfig } from '../../shared/config.js';
import { type Fixtures, insertFixtures, resetShop, testSql } from '../helpers/db.js';

/**
 * Connection scale: 300 simulated Lambda containers (a postgres.js pool of max 1 each, as a container
 * has) start at once and place 3 orders each with createOrder — through PgBouncer in transaction mode
 * (the local stand-in for RDS Proxy), then straight at PostgreSQL (max_connections 100).
 */
const CONTAINERS = 300;
const ORDERS_PER_CONTAINER = 3;
/** The test's own PgBouncer, next to (not on) the one `npm run services:up -- --pooler` starts on 6432. */
const POOLER = { port: 6433, dir: `${ROOT}.cache/pgbouncer-test/` };

let sql: Sql;
let fixtures: Fixtures;
let maxConnections: number;
const databaseUrl = process.env.DATABASE_URL!;
const database = new URL(databaseUrl).pathname.slice(1);

const pgbouncer = inject('prerequisites').pgbouncer;

describe.skipIf(!pgbouncer?.available)('connection scale: PgBouncer (transaction mode) vs PostgreSQL directly', () => {
  let pooled: LoadResult;

  beforeAll(async () => {
    await startPooler(databaseUrl, POOLER);
    sql = testSql();
    await resetShop(sql);
    fixtures = await insertFixtures(sql, { customers: 50, products: 20, stock: 100_000 });
    maxConnections = Number((await sql<[{ max_connections: string }]>`show max_connections`)[0].max_connections);
  });

  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await stopPooler(POOLER);
  });

  it('turns DATABASE_PREPARE=false into postgres.js prepare: false (what a transaction pooler needs)', () => {
    const config = parseConfig({ ...process.env, DATABASE_URL: pooledUrl(databaseUrl, POOLER.port), DATABASE_PREPARE: 'false' });
    expect(postgresOptions(config.database, 'test').prepare).toBe(false);
    expect(postgresOptions(parseConfig(process.env).database, 'test').prepare).toBe(true);
  });

  it(`${CONTAINERS} containers through PgBouncer: every order placed, zero connection errors, ≤ 25 server connections`, async () => {
    const monitor = poolerMonitor(pooledUrl(withDatabase(databaseUrl, 'pgbouncer'), POOLER.port), database);
    try {
      pooled = await simulateContainers({
        url: pooledUrl(databaseUrl, POOLER.port),
        containers: CONTAINERS,
        ordersPerContainer: ORDERS_PER_CONTAINER,
        prepare: false,
        customerIds: fixtures.customerIds,
        productIds: fixtures.productIds,
        sample: monitor.sample,
      });
    } finally {
      await monitor.close();
    }
    console.log(
      `${formatLoad('through PgBouncer', pooled)}\n  PgBouncer: at most ${monitor.peak.serverConnections} server connections, at most ${monitor.peak.clients} clients connected, ${monitor.peak.clientsWaiting} of them waiting`,
    );
    expect(pooled.connectionErrors).toBe(0);
    expect(pooled.otherErrors).toBe(0);
    expect(pooled.ordersPlaced).toBe(CONTAINERS * ORDERS_PER_CONTAINER);
    // Many clients, few server connections: that is the point of the pooler.
    expect(monitor.peak.serverConnections).toBeGreaterThan(0);
    expect(monitor.peak.serverConnections).toBeLessThanOrEqual(25);
    // Far more clients than server connections at once. Whether any of them is caught waiting depends on
    // how short the transactions are against the 25 ms sampling (one short run saw 0 of 300 waiting).
    expect(monitor.peak.clients).toBeGreaterThan(monitor.peak.serverConnections * 5);
    // And the orders are all there, stock decremented exactly (one unit each).
    const [row] = await sql<[{ orders: number; sold: number }]>`
      select (select count(*) from orders)::int as orders, (select 20 * 100000 - sum(stock_quantity) from products)::int as sold`;
    expect(row).toEqual({ orders: CONTAINERS * ORDERS_PER_CONTAINER, sold: CONTAINERS * ORDERS_PER_CONTAINER });
  }, 60_000);

  it(`the same ${CONTAINERS} containers straight at PostgreSQL (max_connections 100 by default) run out of connections`, async () => {
    const direct = await simulateContainers({
      url: databaseUrl,
      containers: CONTAINERS,
      ordersPerContainer: ORDERS_PER_CONTAINER,
      prepare: true,
      customerIds: fixtures.customerIds,
      productIds: fixtures.productIds,
      // Long enough for the server's own "too many clients" (forking 300 backends on 2 cores takes seconds).
      connectTimeoutSeconds: 20,
    });
    console.log(`${formatLoad(`straight at PostgreSQL (max_connections ${maxConnections})`, direct)}`);
    expect(maxConnections).toBeLessThan(CONTAINERS);
    expect(direct.connectionErrors).toBeGreaterThan(0);
    expect(direct.errorCodes['53300']).toBe(direct.connectionErrors); // "sorry, too many clients already"
    expect(direct.ordersPlaced).toBeLessThan(CONTAINERS * ORDERS_PER_CONTAINER);
    expect(pooled.ordersPlaced).toBeGreaterThan(direct.ordersPlaced);
  }, 60_000);
});
