import { type ChildProcess, spawn } from 'node:child_process';
import { ROOT } from './env.js';
import { portAnswers, waitFor } from './probe.js';

export interface Offline {
  httpUrl: string;
  lambdaEndpoint: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `sls offline start` (osls + serverless-esbuild + serverless-offline) and waits until both its
 * HTTP and Lambda ports answer. The child gets `env` as its whole environment.
 */
/** Throws when something (usually another serverless-offline, e.g. another test run) holds a port. */
export async function assertPortsFree(...ports: number[]): Promise<void> {
  for (const port of ports) {
    if (await portAnswers(port)) {
      throw new Error(`port ${port} is already in use (is another serverless-offline running?)`);
    }
  }
}

export async function startOffline(
  env: Record<string, string>,
  options: { httpPort?: number; lambdaPort?: number; stage?: string; onOutput?: (chunk: string) => void } = {},
): Promise<Offline> {
  const httpPort = options.httpPort ?? 3000;
  const lambdaPort = options.lambdaPort ?? 3002;
  await assertPortsFree(httpPort, lambdaPort);
  const args = [
    `${ROOT}node_modules/osls/bin/serverless.js`,
    'offline',
    'start',
    '--stage',
    options.stage ?? 'dev',
    '--httpPort',
    String(httpPort),
    '--lambdaPort',
    String(lambdaPort),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    // A build folder of its own: serverless-esbuild deletes its folder when it stops, which must never be
    // the folder another serverless-offline (the tests', the benchmarks', npm start's) is serving from.
    env: { ...env, ESBUILD_WORK_FOLDER: `.cache/esbuild-offline-${httpPort}`, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-20_000);
    options.onOutput?.(text);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  const stop = async () => {
    if (exited) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  };

  const ready = await waitFor(async () => exited || ((await portAnswers(httpPort)) && (await portAnswers(lambdaPort))), 90_000, 250);
  if (!ready || exited) {
    await stop();
    throw new Error(`serverless-offline did not start:\n${output}`);
  }
  return {
    httpUrl: `http://127.0.0.1:${httpPort}`,
    lambdaEndpoint: `http://127.0.0.1:${lambdaPort}`,
    process: child,
    stop,
  };
}
