/**
 * Child processes of the tools: one run to completion, or a daemon kept in the background with its pid and
 * log in a directory of ours (.cache/ by default) and stopped later only while that pid is still the
 * process we started (pids are reused).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './env.js';

export const CACHE = `${ROOT}.cache/`;

/** True when something accepts TCP connections on host:port within the timeout. */
export function portAnswers(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` until it returns true or the deadline passes; returns whether it succeeded. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

export interface RunResult {
  code: number | null;
  /** stdout and stderr as they came, interleaved (the last 200 KB). */
  output: string;
}

/** Runs a command to completion, echoing its output when asked; killed after `timeoutMs`. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; echo?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let output = '';
    const collect = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-200_000);
      if (options.echo) stream.write(chunk);
    };
    child.stdout.on('data', collect(process.stdout));
    child.stderr.on('data', collect(process.stderr));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({
        code,
        output: signal
          ? `${output}\n${command} killed by ${signal}${options.timeoutMs ? ` (timeout ${options.timeoutMs} ms)` : ''}`
          : output,
      }),
    );
  });
}

export interface DaemonOptions {
  /** Names its files: <dir><name>.pid and <dir><name>.log. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  dir?: string;
  ready: () => Promise<boolean>;
  timeoutMs?: number;
}

const files = (name: string, dir = CACHE) => ({ pidFile: `${dir}${name}.pid`, logFile: `${dir}${name}.log` });

/** The daemon's pid while that process is alive (a zombie is not) and still runs the command we started. */
export function daemonPid(name: string, dir?: string): number | undefined {
  try {
    const [pid, commandLine] = JSON.parse(readFileSync(files(name, dir).pidFile, 'utf8')) as [number, string];
    const ps = spawnSync('ps', ['-ww', '-p', String(pid), '-o', 'stat=', '-o', 'args='], { encoding: 'utf8' });
    const [, stat = 'Z', args = ''] = /^\s*(\S+)\s+(.*)$/.exec(ps.stdout.trim()) ?? [];
    return !stat.startsWith('Z') && args === commandLine ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Daemons this process has spawned and is still waiting for (see stopStartingDaemons), by pid file. */
const starting = new Map<string, ChildProcess>();

/**
 * Stops the daemons still starting (a Ctrl-C during a first start-up): they run in sessions of their own, and
 * are recorded as started only once ready, so nothing else would stop them. Each is this process's own child,
 * signalled directly (a Redis renames its process at once, so its command line no longer says what it is).
 */
export async function stopStartingDaemons(): Promise<void> {
  const children = [...starting.entries()];
  for (const [, child] of children) child.kill('SIGTERM');
  // Within npm start's own 9 s to stop, the rest of which stops what was started before.
  await waitFor(async () => children.every(([, child]) => child.exitCode !== null || child.signalCode !== null), 4_000, 100);
  for (const [pidFile, child] of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(pidFile, { force: true });
  }
}

/** Starts a daemon in a session of its own (a terminal's Ctrl-C does not reach it) and waits until it is ready. */
export async function startDaemon(options: DaemonOptions): Promise<number> {
  const { pidFile, logFile } = files(options.name, options.dir);
  mkdirSync(options.dir ?? CACHE, { recursive: true });
  const log = openSync(logFile, 'a');
  const child = spawn(options.command, options.args, { cwd: ROOT, env: options.env, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  let exited = false;
  child.once('exit', () => (exited = true)).once('error', () => (exited = true));
  writeFileSync(pidFile, JSON.stringify([child.pid, [options.command, ...options.args].join(' ')]));
  starting.set(pidFile, child);
  let ready: boolean;
  try {
    ready = await waitFor(async () => exited || (await options.ready()), options.timeoutMs ?? 30_000);
  } finally {
    starting.delete(pidFile);
  }
  if (ready && !exited) return child.pid!;
  child.kill('SIGKILL');
  rmSync(pidFile, { force: true });
  const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-20).join('\n');
  throw new Error(
    `${options.name} ${exited ? 'exited during start-up' : 'did not get ready in time'}; the end of ${relative(ROOT, logFile)}:\n${tail}`,
  );
}

/** Stops the daemon if it is still ours (SIGTERM, SIGKILL after 10 s); true when one was running. */
export async function stopDaemon(name: string, dir?: string): Promise<boolean> {
  const pid = daemonPid(name, dir);
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid!, sig);
    } catch {
      // already gone
    }
  };
  if (pid !== undefined) {
    signal('SIGTERM');
    if (!(await waitFor(async () => daemonPid(name, dir) === undefined, 10_000, 100))) signal('SIGKILL');
  }
  rmSync(files(name, dir).pidFile, { force: true });
  return pid !== undefined;
}
