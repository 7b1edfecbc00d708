/**
 * osls (`sls`): run it, package with it, serve with it (serverless-offline), and answer its SSM lookups
 * locally for rehearsals. osls reads no .env file (serverless.yml has no useDotenv): every run gets its
 * whole environment from the caller, so that a local .env can never leak into a cloud deploy.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT } from './env.js';
import { portAnswers, type RunResult, run, waitFor } from './process.js';

export const SLS_BIN = `${ROOT}node_modules/osls/bin/serverless.js`;
const QUIET = { SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' };

type Env = Record<string, string | undefined>;

export interface SlsRun extends RunResult {
  /** SSM parameter names the fake SSM was asked for (empty without fakeSsm). */
  ssmRequested: string[];
}

/**
 * Runs osls (`sls …`) in the project directory with exactly `env` (plus telemetry off). `fakeSsm` points its
 * SSM lookups (and only those) at a fake SSM for the run (startFakeSsm), either with dummy credentials (a
 * rehearsal: no account, no network) or with the caller's (what needs the account but no secret: logs, remove).
 */
export async function runSls(
  args: string[],
  options: { env: Env; echo?: boolean; timeoutMs?: number; fakeSsm?: 'dummy credentials' | 'your credentials' },
): Promise<SlsRun> {
  const fake = options.fakeSsm ? await startFakeSsm() : undefined;
  const dummy = { AWS_ACCESS_KEY_ID: 'fake-ssm', AWS_SECRET_ACCESS_KEY: 'fake-ssm', AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined };
  const ssm = fake && { AWS_ENDPOINT_URL_SSM: fake.endpoint, ...(options.fakeSsm === 'dummy credentials' ? dummy : {}) };
  try {
    const result = await run(process.execPath, [SLS_BIN, ...args], { ...options, env: { ...options.env, ...ssm, ...QUIET } });
    return { ...result, ssmRequested: fake ? [...fake.requested] : [] };
  } finally {
    await fake?.close();
  }
}

/** `--stage`, `--region` and `--param` arguments of a deploy-like command. */
export function slsArgs(command: string, options: { stage: string; region?: string | undefined; params?: string[] }): string[] {
  const args = [command, '--stage', options.stage];
  if (options.region) args.push('--region', options.region);
  for (const param of options.params ?? []) args.push('--param', param);
  return args;
}

/** The value a rehearsal puts where a secret would go: visibly fake, and naming the parameter. */
export const placeholderFor = (name: string): string => `placeholder-from-fake-ssm:${name}`;

/**
 * A local stand-in for SSM Parameter Store's GetParameter (the only call osls makes for `${ssm:…}`): a
 * cloud stage's SSM references resolve to placeholders naming each parameter, with no network and no account.
 * Its `endpoint` is for AWS_ENDPOINT_URL_SSM (the AWS SDK v3, and so osls, then asks this server); `requested`
 * lists every parameter name asked for, in order.
 */
async function startFakeSsm() {
  const requested: string[] = [];
  const server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const target = String(request.headers['x-amz-target']);
    const name = (JSON.parse(body || '{}') as { Name?: string }).Name;
    response.setHeader('Content-Type', 'application/x-amz-json-1.1');
    if (target !== 'AmazonSSM.GetParameter' || !name) {
      response.statusCode = 400;
      response.end(JSON.stringify({ __type: 'InvalidAction', message: `the fake SSM only answers GetParameter (${target})` }));
      return;
    }
    requested.push(name);
    response.end(JSON.stringify({ Parameter: { Name: name, Type: 'SecureString', Value: placeholderFor(name), Version: 1 } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requested,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface PackageOptions {
  stage: string;
  region?: string;
  /** Where osls writes the CloudFormation templates and the zips. */
  outDir: string;
  /** The whole environment osls sees. */
  env: Env;
  /** Resolve `${ssm:…}` against a local stand-in (placeholders, dummy credentials) instead of your account's SSM. */
  fakeSsm?: boolean;
  /** `--param key=value` overrides. */
  params?: string[];
  echo?: boolean;
}

let packageRuns = 0;

/**
 * `sls package` for deployment: no source maps in the zips (BUNDLE_SOURCEMAPS=false) and a private
 * esbuild work folder, because serverless-esbuild deletes its work folder afterwards and the default one
 * (.esbuild) is what a running serverless-offline serves from.
 */
export async function slsPackage(options: PackageOptions): Promise<SlsRun> {
  const workFolder = `.cache/esbuild-package-${process.pid}-${++packageRuns}`;
  try {
    return await runSls([...slsArgs('package', options), '--package', options.outDir], {
      env: { ...options.env, BUNDLE_SOURCEMAPS: 'false', ESBUILD_WORK_FOLDER: workFolder },
      echo: options.echo,
      timeoutMs: 300_000,
      ...(options.fakeSsm && { fakeSsm: 'dummy credentials' }),
    });
  } finally {
    rmSync(`${ROOT}${workFolder}`, { recursive: true, force: true });
  }
}

export interface Offline {
  httpUrl: string;
  lambdaEndpoint: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Throws when something (usually another serverless-offline, e.g. another test run) holds a port; `hint`
 * says what the caller's user can do about it.
 */
export async function assertPortsFree(ports: number[], hint = 'is another serverless-offline running?'): Promise<void> {
  for (const port of ports) {
    if (await portAnswers(port)) throw new Error(`port ${port} is already in use (${hint})`);
  }
}

/**
 * Starts `sls offline start` (osls + serverless-esbuild + serverless-offline) and waits until both its
 * HTTP and Lambda ports answer. The child gets `env` as its whole environment.
 */
export async function startOffline(
  env: Env,
  options: {
    httpPort?: number;
    lambdaPort?: number;
    stage?: string;
    cwd?: string;
    onOutput?: (chunk: string) => void;
    /** Given the stop of the process as soon as it is spawned: a signal during the start-up stops it too. */
    onSpawn?: (stop: () => Promise<void>) => void;
  } = {},
): Promise<Offline> {
  const { httpPort = 3000, lambdaPort = 3002 } = options;
  await assertPortsFree([httpPort, lambdaPort]);
  const args = ['offline', 'start', '--stage', options.stage ?? 'dev', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort)];
  const child = spawn(process.execPath, [SLS_BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    // A build folder of its own: serverless-esbuild deletes its folder when it stops, which must never be
    // the folder another serverless-offline (the tests', the benchmarks', npm start's) is serving from.
    env: { ...env, ...QUIET, BUNDLE_SOURCEMAPS: 'true', ESBUILD_WORK_FOLDER: `.cache/esbuild-offline-${httpPort}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    options.onOutput?.(chunk.toString());
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
  };
  options.onSpawn?.(stop);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const ready = await waitFor(async () => exited() || ((await portAnswers(httpPort)) && (await portAnswers(lambdaPort))), 90_000, 250);
  if (!ready || exited()) {
    await stop();
    throw new Error(`serverless-offline did not start:\n${output}`);
  }
  return { httpUrl: `http://127.0.0.1:${httpPort}`, lambdaEndpoint: `http://127.0.0.1:${lambdaPort}`, process: child, stop };
}
