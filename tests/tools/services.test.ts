import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { CACHE, portAnswers, waitFor } from '../../scripts/lib/process.js';
import { stopRedis } from '../../scripts/services.js';

/** npm run services:down stops what it started, and nothing else that listens where that once was. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const others: Array<() => void> = [];
afterAll(() => {
  for (const stop of others) stop();
});

describe('services:down and a Redis', () => {
  it('stops the redis-server it started (the pid it recorded answers on the port)', async () => {
    const port = await freePort();
    const ours = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    others.push(() => ours.kill('SIGKILL'));
    expect(await waitFor(() => portAnswers(port), 10_000)).toBe(true);
    writeFileSync(`${CACHE}redis-${port}.pid`, JSON.stringify([ours.pid, `redis-server --bind 127.0.0.1 --port ${port}`]));
    await stopRedis(port, () => {});
    expect(await portAnswers(port)).toBe(false);
  });

  it('leaves running a Redis it did not start, even on the port one of its own once had (a stale record)', async () => {
    const port = await freePort();
    // Someone else's Redis (a system or Homebrew service), started after ours was gone.
    const theirs = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    others.push(() => theirs.kill('SIGKILL'));
    expect(await waitFor(() => portAnswers(port), 10_000)).toBe(true);
    // What an earlier run of ours left: the pid file of a redis-server long gone.
    writeFileSync(`${CACHE}redis-${port}.pid`, JSON.stringify([2 ** 22 + 12345, `redis-server --bind 127.0.0.1 --port ${port}`]));
    await stopRedis(port, () => {});
    expect(await portAnswers(port)).toBe(true);
    expect(theirs.exitCode).toBeNull();
  });
});
