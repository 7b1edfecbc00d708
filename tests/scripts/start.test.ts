import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, withDatabase } from '../../scripts/lib/env.js';
import { portAnswers, waitFor } from '../../scripts/lib/process.js';
import { bearerFor } from '../helpers/auth.js';

/**
 * `npm start` as a person runs it, on ports of its own (so that the services it starts are its own): the
 * tour, a request shown as one line, then Ctrl-C — a real SIGINT to the process group, as a terminal
 * sends it — which must stop serverless-offline and the services it started within 10 s, and leave the
 * machine's own PostgreSQL and Redis running. A second start keeps the data of the first.
 */
const PORTS = { http: 3200, lambda: 3202, upstash: 8179, mongo: 27117 };
const env = {
  ...process.env,
  DATABASE_URL: withDatabase(process.env.DATABASE_URL!, 'shop_test_start'),
  UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${PORTS.upstash}`,
  MONGODB_URI: `mongodb://127.0.0.1:${PORTS.mongo}`,
  MONGODB_DATABASE: 'shop_test_start',
  CACHE_NAMESPACE: 'ecommerce-pipeline:test-start',
  OFFLINE_HTTP_PORT: String(PORTS.http),
  OFFLINE_LAMBDA_PORT: String(PORTS.lambda),
  LOG_LEVEL: 'INFO',
  // npm start runs in the test's environment otherwise (STAGE test, …): it sets its own stage.
  STAGE: '',
};
const running: ChildProcess[] = [];

afterAll(async () => {
  // A test that failed half-way leaves an npm start running: Ctrl-C first, so that it stops the services it
  // started (a killed one leaves them listening on the next run's ports), then the hard way.
  for (const child of running) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    await interrupt(child).catch(() => {});
    try {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}, 40_000);

/** Spawns `npm start` in a process group of its own, collecting what it prints. */
function spawnNpmStart(): { child: ChildProcess; output: () => string } {
  const child = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/** Until `npm start` has printed `text` (it fails if npm start exits first or takes longer than `ms`). */
async function printed(started: { child: ChildProcess; output: () => string }, text: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!started.output().includes(text)) {
    if (started.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`npm start did not print "${text}":\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts `npm start` and waits for the end of its tour. */
async function npmStart(): Promise<{ child: ChildProcess; output: () => string }> {
  const started = spawnNpmStart();
  await printed(started, 'pipeline running', 150_000);
  return started;
}

/** Ctrl-C: SIGINT to the whole process group; the time until npm start has exited. */
async function interrupt(child: ChildProcess): Promise<number> {
  const started = performance.now();
  const exited = once(child, 'exit');
  process.kill(-child.pid!, 'SIGINT');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  return performance.now() - started;
}

describe('npm start', () => {
  it('shows requests as one line each; Ctrl-C stops it and the services it started within 10 s; a restart keeps the data', async () => {
    const first = await npmStart();
    expect(first.output()).toMatch(/seeded 1000 customers/);
    for (const port of [PORTS.http, PORTS.lambda, PORTS.upstash, PORTS.mongo]) expect(await portAnswers(port), `port ${port}`).toBe(true);

    const response = await fetch(`http://127.0.0.1:${PORTS.http}/orders`, {
      method: 'POST',
      headers: { Authorization: await bearerFor(1), 'Content-Type': 'application/json' },
      body: JSON.stringify({ customerId: 1, items: [{ productId: 2, quantity: 1 }] }),
    });
    expect(response.status).toBe(201);
    const { orderId } = (await response.json()) as { orderId: number };
    await expect.poll(() => first.output(), { timeout: 5_000 }).toMatch(/POST\s+\/orders\s+201\s+\d+ ms\s+createOrder/);

    const stopMs = await interrupt(first.child);
    expect(first.child.exitCode !== null || first.child.signalCode !== null, first.output()).toBe(true);
    expect(stopMs).toBeLessThan(10_000);
    for (const port of [PORTS.http, PORTS.lambda, PORTS.upstash, PORTS.mongo])
      expect(await portAnswers(port), `port ${port} after Ctrl-C`).toBe(false);
    // …and none is still recorded as running (services:status would claim it was started by us).
    const recorded = JSON.parse(readFileSync(`${ROOT}.cache/services.json`, 'utf8')) as { started: Array<{ port: number }> };
    expect(recorded.started.filter((entry) => [PORTS.upstash, PORTS.mongo].includes(entry.port))).toEqual([]);
    // The machine's own services were there before and stay.
    expect(await portAnswers(Number(new URL(process.env.DATABASE_URL!).port || 5432))).toBe(true);
    expect(await portAnswers(Number(new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379))).toBe(true);

    const sql = postgres(env.DATABASE_URL, { max: 1, onnotice: () => {} });
    const stock = async () =>
      Object.fromEntries(
        (
          await sql<
            Array<{ id: number; stock: number }>
          >`select product_id as id, stock_quantity as stock from products order by product_id`
        ).map((row) => [row.id, row.stock]),
      );
    try {
      const stockBefore = await stock();
      const second = await npmStart();
      expect(second.output()).toMatch(/your data is kept/);
      expect(await sql`select order_id from orders where order_id = ${orderId}`).toHaveLength(1);
      // The tour's orders are placed with keys of their own: a restart replays them, so restarting does not
      // sell the sample shop's stock away (the README's examples order the same products).
      expect(await stock()).toEqual(stockBefore);
      expect(second.output()).toMatch(/replayed/);
      // …and the cart it saved before its replayed checkout is not left full.
      const cart = await fetch(`http://127.0.0.1:${PORTS.http}/carts/42`, { headers: { Authorization: await bearerFor(42) } });
      expect(cart.status).toBe(404);
      expect(second.output()).not.toMatch(/seeded/);
      expect(await interrupt(second.child)).toBeLessThan(10_000);
      for (const port of [PORTS.http, PORTS.lambda, PORTS.upstash, PORTS.mongo])
        expect(await portAnswers(port), `port ${port} after the second Ctrl-C`).toBe(false);
    } finally {
      await sql.end();
    }
  }, 420_000);

  it('stopped with SIGTERM to npm alone (a process manager, an IDE’s stop button) while serverless-offline starts: nothing is left running', async () => {
    // What it finds running is not its own to stop.
    const before = { upstash: await portAnswers(PORTS.upstash), mongo: await portAnswers(PORTS.mongo) };
    const started = spawnNpmStart();
    const { child, output } = started;
    await printed(started, '▸ serverless-offline', 120_000);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    expect(child.exitCode !== null || child.signalCode !== null, output()).toBe(true);
    // serverless-offline, still building when the signal came, may have opened its ports since.
    expect(await waitFor(async () => !(await portAnswers(PORTS.http)) && !(await portAnswers(PORTS.lambda)), 10_000), output()).toBe(true);
    // A serverless-offline orphaned while still building would open its ports seconds later: look again then.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    for (const [name, port] of [
      ['upstash', PORTS.upstash],
      ['mongo', PORTS.mongo],
    ] as const)
      expect(await portAnswers(port), `port ${port}\n${output()}`).toBe(before[name]);
    expect(spawnSync('pgrep', ['-f', '--', `--httpPort ${PORTS.http}`]).status, 'a serverless-offline still running').toBe(1);
  }, 180_000);

  it('with its HTTP port taken, it stops at once, names the setting, and starts no service', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(PORTS.http, '127.0.0.1', resolve));
    try {
      const started = spawnNpmStart();
      const [code] = (await Promise.race([
        once(started.child, 'exit'),
        new Promise((resolve) => setTimeout(() => resolve(['timeout']), 30_000)),
      ])) as [unknown];
      const output = started.output();
      expect(code, output).not.toBe(0);
      expect(code, output).not.toBe('timeout');
      expect(output).toMatch(new RegExp(`port ${PORTS.http} is already in use.*OFFLINE_HTTP_PORT`, 's'));
      expect(output).not.toMatch(/starting/);
      for (const port of [PORTS.upstash, PORTS.mongo]) expect(await portAnswers(port), `port ${port}`).toBe(false);
    } finally {
      squatter.close();
    }
  });
});
