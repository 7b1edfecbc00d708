import net from 'node:net';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresOptions, type Sql } from '../../shared/clients/postgres.js';
import { parseConfig } from '../../shared/config.js';
import { testSql } from '../helpers/db.js';

/**
 * The container's pool (shared/clients/postgres.ts) across a server-side disconnect: after PostgreSQL ends
 * a connection in the middle of a statement (a restart, a failover, pg_terminate_backend), that statement
 * fails, and the next one — on a fresh connection — must not.
 */
const admin = testSql();
const pools: Sql[] = [];

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end({ timeout: 1 })));
  await admin.end();
});

function containerPool(applicationName: string): Sql {
  const config = parseConfig(process.env);
  const pool = postgres(config.database.url, { ...postgresOptions(config.database, applicationName), max: 1 }) as unknown as Sql;
  pools.push(pool);
  return pool;
}

describe('a connection ended by the server mid-statement', () => {
  it('fails that statement only: the next statement on the pool succeeds on a new connection', async () => {
    const pool = containerPool('ecommerce-pipeline-test-terminated');
    const [{ pid }] = await pool<[{ pid: number }]>`select pg_backend_pid() as pid`;
    const inFlight = pool`select pg_sleep(30)`.catch((error: unknown) => error);
    // Wait until the statement is running on the server, then end its backend as a restart would.
    await expect
      .poll(async () => (await admin`select state from pg_stat_activity where pid = ${pid}`)[0]?.state, { timeout: 5_000 })
      .toBe('active');
    await admin`select pg_terminate_backend(${pid})`;
    expect(await inFlight).toMatchObject({ code: expect.stringMatching(/^(57P01|CONNECTION_CLOSED)$/) });

    const next = await pool<[{ ok: number }]>`select 1 as ok`.catch((error: unknown) => error);
    expect(next, `the statement after the disconnect: ${String((next as Error).message)}`).toEqual([{ ok: 1 }]);
    const [{ pid: replacement }] = await pool<[{ pid: number }]>`select pg_backend_pid() as pid`;
    expect(replacement).not.toBe(pid);
  });
});

describe('a server that accepts connections and hangs up at once (a proxy whose database is not up yet)', () => {
  /** Runs `use` with a pool (one connection) pointed at a server that hangs up on every connection it accepts. */
  async function againstHangingUpServer(
    connectTimeoutSeconds: number,
    use: (pool: Sql, accepted: () => number) => Promise<void>,
  ): Promise<void> {
    let accepted = 0;
    const hangsUp = net.createServer((socket) => {
      accepted += 1;
      socket.end();
    });
    await new Promise<void>((resolve) => hangsUp.listen(0, '127.0.0.1', resolve));
    try {
      const config = parseConfig({ ...process.env, DATABASE_CONNECT_TIMEOUT_SECONDS: String(connectTimeoutSeconds) });
      const url = new URL(config.database.url);
      url.host = `127.0.0.1:${(hangsUp.address() as net.AddressInfo).port}`;
      const pool = postgres(url.toString(), {
        ...postgresOptions(config.database, 'ecommerce-pipeline-test-hangs-up'),
        max: 1,
      }) as unknown as Sql;
      pools.push(pool);
      await use(pool, () => accepted);
    } finally {
      hangsUp.close();
    }
  }

  it('fails the query with CONNECTION_CLOSED within the connect timeout, after a bounded number of attempts', async () => {
    await againstHangingUpServer(1, async (pool, accepted) => {
      const started = performance.now();
      const outcome = await Promise.race([
        pool`select 1`.catch((error: unknown) => error),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5_000)),
      ]);
      expect(outcome).toMatchObject({ code: 'CONNECTION_CLOSED' });
      expect(performance.now() - started).toBeLessThan(2_500);
      expect(accepted()).toBeLessThan(100);
    });
  });

  it('a pool ended while it waits to try again (a discarded client) connects no more', async () => {
    await againstHangingUpServer(3, async (pool, accepted) => {
      const query = pool`select 1`.catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await pool.end({ timeout: 0 });
      expect(await query).toMatchObject({ code: 'CONNECTION_DESTROYED' });
      // A connection the pool began in the same turn as end() may still be accepted: count from after it.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const atEnd = accepted();
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(accepted()).toBe(atEnd);
    });
  });
});

describe('several hosts, the first a standby refused by target_session_attrs=primary', () => {
  it('moves on to the next host (here one that hangs up: the query fails in time), rather than wait forever', async () => {
    const message = (type: string, body: Buffer) => {
      const buffer = Buffer.alloc(5 + body.length);
      buffer.write(type, 0);
      buffer.writeInt32BE(4 + body.length, 1);
      body.copy(buffer, 5);
      return buffer;
    };
    const parameter = (name: string, value: string) => message('S', Buffer.from(`${name}\0${value}\0`));
    // Authentication ok, a standby's parameters, ready: the client sees a read-only server and tries the next.
    const standby = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () =>
        socket.write(
          Buffer.concat([
            message('R', Buffer.alloc(4)),
            parameter('in_hot_standby', 'on'),
            parameter('default_transaction_read_only', 'on'),
            message('Z', Buffer.from('I')),
          ]),
        ),
      );
    });
    let nextHostAccepted = 0;
    const hangsUp = net.createServer((socket) => {
      nextHostAccepted += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => standby.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => hangsUp.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server: net.Server) => (server.address() as net.AddressInfo).port;
      const pool = postgres(`postgres://u@127.0.0.1:${port(standby)},127.0.0.1:${port(hangsUp)}/db?target_session_attrs=primary`, {
        max: 1,
        connect_timeout: 2,
        fetch_types: false,
        onnotice: () => {},
      }) as unknown as Sql;
      pools.push(pool);
      const outcome = await Promise.race([
        pool`select 1`.catch((error: unknown) => error),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 6 s'), 6_000)),
      ]);
      expect(outcome).toMatchObject({ code: 'CONNECTION_CLOSED' });
      expect(nextHostAccepted).toBeGreaterThan(0);
    } finally {
      standby.close();
      hangsUp.close();
    }
  });
});

describe('a connection reset mid-statement (ECONNRESET: a load balancer or NAT dropping it)', () => {
  it('fails that statement, and a statement sent right after the failure settles at once, the next runs on a new connection, and end() completes', async () => {
    const config = parseConfig(process.env);
    const target = new URL(config.database.url);
    const clients = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      clients.add(client);
      const server = net.connect(Number(target.port || 5432), target.hostname);
      client.pipe(server).pipe(client);
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
      client.on('close', () => {
        clients.delete(client);
        server.destroy();
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = new URL(config.database.url);
      url.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
      const pool = postgres(url.toString(), {
        ...postgresOptions(config.database, 'ecommerce-pipeline-test-reset'),
        max: 1,
      }) as unknown as Sql;
      const [{ pid }] = await pool<[{ pid: number }]>`select pg_backend_pid() as pid`;
      // The caller's next statement goes out as soon as it learns of the failure (a retry, a fallback query).
      const next = pool`select pg_sleep(30)`.catch((error: unknown) => ({
        failed: error,
        next: pool<[{ pid: number }]>`select pg_backend_pid() as pid`.catch((nextError: unknown) => nextError),
      }));
      await expect
        .poll(async () => (await admin`select state from pg_stat_activity where pid = ${pid}`)[0]?.state, { timeout: 5_000 })
        .toBe('active');
      for (const client of clients) client.resetAndDestroy();
      const outcome = await next;
      expect(outcome).toMatchObject({ failed: { code: 'ECONNRESET' } });
      const settled = await Promise.race([
        (outcome as { next: Promise<unknown> }).next,
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5_000)),
      ]);
      // Sent on the connection that had just failed: it fails too (never reached a server), or ran on a new one.
      expect(settled).toSatisfy(
        (value: unknown) => Array.isArray(value) || (value as { code?: string }).code === 'CONNECTION_CLOSED',
        String(settled),
      );
      const [{ pid: replacement }] = await pool<[{ pid: number }]>`select pg_backend_pid() as pid`;
      expect(replacement).not.toBe(pid);
      const ended = await Promise.race([
        pool.end().then(() => 'ended'),
        new Promise((resolve) => setTimeout(() => resolve('end() still waiting after 5 s'), 5_000)),
      ]);
      expect(ended).toBe('ended');
    } finally {
      proxy.close();
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'ecommerce-pipeline-test-reset'`;
    }
  });
});

describe('a pooler that lets the client in, then fails its first statement (PgBouncer’s query_wait_timeout, RDS Proxy with its database down)', () => {
  // AuthenticationOk and ReadyForQuery, then, to whatever is asked: an ErrorResponse and the connection closed
  // (what PgBouncer does when no server connection frees up in time), or the connection closed alone.
  const message = (type: string, body: Buffer) => {
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  };
  const authenticationOk = message('R', Buffer.from([0, 0, 0, 0]));
  const readyForQuery = message('Z', Buffer.from('I', 'latin1'));
  const refusal = message('E', Buffer.from('SERROR\0VERROR\0C08P01\0Mquery_wait_timeout\0\0', 'latin1'));

  it.each([
    ['refuses it, then closes', 'query'],
    ['closes without a word', 'query'],
    ['closes without a word', 'reserve'],
  ] as const)(
    'it %s (%s): the caller gets the error, and no unhandled rejection is left (the driver’s own type query would end the process)',
    async (how, use) => {
      const pooler = net.createServer((socket) => {
        let started = false;
        socket.on('data', () => {
          if (!started) {
            started = true;
            socket.write(Buffer.concat([authenticationOk, readyForQuery]));
          } else if (how === 'refuses it, then closes') socket.end(Buffer.concat([refusal, readyForQuery]));
          else socket.destroy();
        });
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => pooler.listen(0, '127.0.0.1', resolve));
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const config = parseConfig({ ...process.env, DATABASE_CONNECT_TIMEOUT_SECONDS: '1' });
        const url = new URL(config.database.url);
        url.host = `127.0.0.1:${(pooler.address() as net.AddressInfo).port}`;
        const pool = postgres(url.toString(), {
          ...postgresOptions(config.database, 'ecommerce-pipeline-test-refused'),
          max: 1,
        }) as unknown as Sql;
        pools.push(pool);
        const attempt = use === 'query' ? pool`select 1` : pool.reserve();
        const outcome = await Promise.race([
          attempt.then(
            () => 'succeeded',
            (error: unknown) => error,
          ),
          new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5_000)),
        ]);
        expect(outcome).toBeInstanceOf(Error);
        // Rejections are reported after the microtasks of the turn that made them: let a few turns pass.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
        pooler.close();
      }
    },
  );
});
