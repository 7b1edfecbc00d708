import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureGoTool } from '../../scripts/lib/go-tools.js';
import { commandExists } from '../../scripts/lib/prerequisites.js';
import { CACHE, daemonPid, portAnswers, startDaemon, stopStartingDaemons, waitFor } from '../../scripts/lib/process.js';
import { ferretDbIsOurs, ferretDbStorageUrl, servicesUp, startFerretDb, stopFerretDb, stopRedis } from '../../scripts/services.js';
import { testSql } from '../helpers/db.js';

/** npm run services:down stops what it started, and nothing else that listens where that once was. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

// The native path's programs: a laptop on the Docker path may have neither (its tests of them are skipped).
const redisServer = commandExists('redis-server');
const ferretDb = (await ensureGoTool('ferretdb', (line) => console.log(`[ferretdb] ${line}`))).available;

const others: Array<() => void> = [];
afterAll(() => {
  for (const stop of others) stop();
});

/** A redis-server on a free port, answering; killed after the file's tests. */
async function redisServerOnFreePort() {
  const port = await freePort();
  const server = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  others.push(() => server.kill('SIGKILL'));
  expect(await waitFor(() => portAnswers(port), 10_000)).toBe(true);
  return { port, server };
}

describe.skipIf(!redisServer)('services:down and a Redis', () => {
  it('stops the redis-server it started (the pid it recorded answers on the port)', async () => {
    const { port, server: ours } = await redisServerOnFreePort();
    writeFileSync(`${CACHE}redis-${port}.pid`, JSON.stringify([ours.pid, `redis-server --bind 127.0.0.1 --port ${port}`]));
    await stopRedis(port, () => {});
    expect(await portAnswers(port)).toBe(false);
  });

  it('leaves running a Redis it did not start, even on the port one of its own once had (a stale record)', async () => {
    // Someone else's Redis (a system or Homebrew service), started after ours was gone.
    const { port, server: theirs } = await redisServerOnFreePort();
    // What an earlier run of ours left: the pid file of a redis-server long gone.
    writeFileSync(`${CACHE}redis-${port}.pid`, JSON.stringify([2 ** 22 + 12345, `redis-server --bind 127.0.0.1 --port ${port}`]));
    await stopRedis(port, () => {});
    expect(await portAnswers(port)).toBe(true);
    expect(theirs.exitCode).toBeNull();
  });
});

describe.skipIf(!ferretDb)('two starts of one service at once (npm start and npm test in two terminals)', () => {
  it('run one server, which the record names, so that it can be stopped', async () => {
    const port = await freePort();
    try {
      await Promise.all([startFerretDb(port, () => {}), startFerretDb(port, () => {})]);
      expect(await portAnswers(port)).toBe(true);
      expect(ferretDbIsOurs(port)).toBe(true);
    } finally {
      await stopFerretDb(port);
      const sql = testSql();
      await sql`drop database if exists ${sql(new URL(ferretDbStorageUrl(port)).pathname.slice(1))}`;
      await sql.end();
    }
    expect(await waitFor(async () => !(await portAnswers(port)), 10_000)).toBe(true);
  }, 120_000);
});

describe.skipIf(!ferretDb)('FerretDB and a DATABASE_URL with a password', () => {
  it('keeps the password off its command line (ps shows it to every local user) and out of its pid file', async () => {
    const port = await freePort();
    const saved = process.env.DATABASE_URL;
    const url = new URL(saved!);
    // DATABASE_URL's own password, or one that trust authentication accepts.
    if (!url.password) url.password = `pw-${process.pid}-${Date.now()}`;
    const password = decodeURIComponent(url.password);
    process.env.DATABASE_URL = url.href;
    const mongo = new MongoClient(`mongodb://127.0.0.1:${port}/`, { serverSelectionTimeoutMS: 10_000 });
    try {
      await startFerretDb(port, () => {});
      const pid = daemonPid(`ferretdb-${port}`)!;
      expect(pid).toBeGreaterThan(0);
      const commandLine = spawnSync('ps', ['-ww', '-p', String(pid), '-o', 'args='], { encoding: 'utf8' }).stdout;
      expect(commandLine).toContain(`127.0.0.1:${port}`);
      expect(commandLine).not.toContain(password);
      expect(readFileSync(`${CACHE}ferretdb-${port}.pid`, 'utf8')).not.toContain(password);
      // And it still reaches its PostgreSQL storage.
      const collection = mongo.db('probe').collection<{ _id: string }>('probe');
      await collection.insertOne({ _id: 'stored' });
      expect(await collection.findOne({ _id: 'stored' })).toEqual({ _id: 'stored' });
    } finally {
      process.env.DATABASE_URL = saved;
      await mongo.close();
      await stopFerretDb(port);
      const sql = testSql();
      await sql`drop database if exists ${sql(new URL(ferretDbStorageUrl(port)).pathname.slice(1))}`;
      await sql.end();
    }
  }, 120_000);
});

describe('Ctrl-C while a service is still starting', () => {
  it('stops the daemon spawned for it, which nothing has recorded yet', async () => {
    const name = `test-starting-${process.pid}`;
    const start = startDaemon({ name, command: 'sleep', args: ['60'], ready: async () => false, timeoutMs: 20_000 });
    expect(await waitFor(async () => daemonPid(name) !== undefined, 5_000)).toBe(true);
    const pid = daemonPid(name)!;
    await stopStartingDaemons();
    await expect(start).rejects.toThrow(/exited during start-up/);
    expect(daemonPid(name)).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('services:up with DATABASE_URL through the pooler', () => {
  it('says that it needs PostgreSQL’s own port, instead of taking the pooler for PostgreSQL', async () => {
    const saved = process.env.DATABASE_URL;
    const url = new URL(saved!);
    url.port = '6432';
    process.env.DATABASE_URL = url.href;
    try {
      await expect(servicesUp({ log: () => {} })).rejects.toThrow(/DATABASE_URL names 127\.0\.0\.1:6432, the pooler's port/);
    } finally {
      process.env.DATABASE_URL = saved;
    }
  });
});

describe('services:up -- --pooler with something else on the pooler’s port', () => {
  it('says so, rather than telling you to use it', async (context) => {
    const squatter = createServer((socket) => socket.destroy());
    const listening = await new Promise<boolean>((resolve) => {
      squatter.once('error', () => resolve(false));
      squatter.listen(6432, '127.0.0.1', () => resolve(true));
    });
    if (!listening) return context.skip('something already listens on 6432');
    try {
      await expect(servicesUp({ log: () => {}, pooler: true })).rejects.toThrow(/127\.0\.0\.1:6432 answers, but not as a pooler/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
