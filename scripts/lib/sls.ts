import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { ROOT } from './env.js';
import { startFakeSsm } from './fake-ssm.js';

export const SLS_BIN = `${ROOT}node_modules/osls/bin/serverless.js`;

export interface SlsRun {
  code: number | null;
  /** stdout and stderr, interleaved (the last 200 KB). */
  output: string;
}

/** Runs osls (`sls …`) in the project directory with exactly `env` (plus telemetry off). */
export function runSls(
  args: string[],
  options: { env: Record<string, string | undefined>; echo?: boolean; timeoutMs?: number },
): Promise<SlsRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLS_BIN, ...args], {
      cwd: ROOT,
      env: { ...options.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-200_000);
      if (options.echo) stream.write(chunk);
    };
    child.stdout.on('data', collect(process.stdout));
    child.stderr.on('data', collect(process.stderr));
    const timer = options.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`sls ${args.join(' ')} did not finish within ${options.timeoutMs} ms\n${output}`));
        }, options.timeoutMs)
      : undefined;
    child.once('error', reject);
    child.once('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export interface PackageOptions {
  stage: string;
  region?: string;
  /** Where osls writes the CloudFormation templates and the zips. */
  outDir: string;
  /** The whole environment osls sees (it does not read .env files: serverless.yml has no useDotenv). */
  env: Record<string, string | undefined>;
  /**
   * Resolve `${ssm:…}` against a local stand-in returning placeholders (no AWS account, no network, dummy
   * credentials), instead of the account the environment's credentials point at.
   */
  fakeSsm?: boolean | { values?: Record<string, string> };
  /** `--param key=value` overrides. */
  params?: string[];
  echo?: boolean;
}

export interface PackageRun extends SlsRun {
  /** SSM parameter names the fake SSM was asked for (empty without fakeSsm). */
  ssmRequested: string[];
}

let packageRuns = 0;

/** The environment that points osls' SSM lookups (and only those) at a fake SSM, with dummy credentials. */
export function fakeSsmEnv(endpoint: string, dummyCredentials: boolean): Record<string, string | undefined> {
  return {
    AWS_ENDPOINT_URL_SSM: endpoint,
    ...(dummyCredentials
      ? { AWS_ACCESS_KEY_ID: 'fake-ssm', AWS_SECRET_ACCESS_KEY: 'fake-ssm', AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined }
      : {}),
  };
}

/**
 * `sls package` for deployment: no source maps in the zips (BUNDLE_SOURCEMAPS=false) and a private
 * esbuild work folder, because serverless-esbuild deletes its work folder afterwards and the default one
 * (.esbuild) is what a running serverless-offline serves from.
 */
export async function slsPackage(options: PackageOptions): Promise<PackageRun> {
  packageRuns += 1;
  const workFolder = `.cache/esbuild-package-${process.pid}-${packageRuns}`;
  const fake = options.fakeSsm ? await startFakeSsm(typeof options.fakeSsm === 'object' ? options.fakeSsm : {}) : undefined;
  const env: Record<string, string | undefined> = {
    ...options.env,
    BUNDLE_SOURCEMAPS: 'false',
    ESBUILD_WORK_FOLDER: workFolder,
    ...(fake ? fakeSsmEnv(fake.endpoint, true) : {}),
  };
  const args = ['package', '--stage', options.stage, '--package', options.outDir];
  if (options.region) args.push('--region', options.region);
  for (const param of options.params ?? []) args.push('--param', param);
  try {
    const run = await runSls(args, { env, echo: options.echo, timeoutMs: 300_000 });
    return { ...run, ssmRequested: fake ? [...fake.requested] : [] };
  } finally {
    await fake?.close();
    rmSync(`${ROOT}${workFolder}`, { recursive: true, force: true });
  }
}
