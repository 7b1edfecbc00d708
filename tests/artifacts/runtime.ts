import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import JSZip from 'jszip';
import { ROOT } from '../../scripts/lib/env.js';
import { ensureGoTool } from '../../scripts/lib/go-tools.js';
import { commandExists, installDebianPackages, installHint } from '../../scripts/lib/prerequisites.js';
import { portAnswers, run, waitFor } from '../../scripts/lib/process.js';

/**
 * What runs a packaged zip the way Lambda does: the AWS Lambda Runtime Interface Emulator (tools/lambda-rie,
 * built pinned from the Go module proxy) and the Node.js runtime interface client (tools/lambda-ric,
 * aws-lambda-ric from npm with its own lock file). The client compiles native code, so it is installed here
 * on first use instead of by every `npm install`.
 */
const RIC_DIR = `${ROOT}tools/lambda-ric/`;

export interface LambdaRuntime {
  /** The emulator binary. */
  rie: string;
  /** The client's entry point, run by the project's Node (the Lambda runtime's major). */
  ric: string;
}

/** Debian's packages for what compiling aws-lambda-ric runs (libtool's command is libtoolize). */
const BUILD_TOOLS = ['cmake', 'autoconf', 'automake', 'libtool', 'make', 'g++'];
const missingBuildTools = () => BUILD_TOOLS.filter((pkg) => !commandExists(pkg === 'libtool' ? 'libtoolize' : pkg));

/** Builds and installs both on first use; the runtime, or what to install when this machine cannot. */
export async function ensureLambdaRuntime(log: (line: string) => void): Promise<LambdaRuntime | string> {
  // aws-lambda-ric builds and runs on Linux only, as Lambda does.
  if (process.platform !== 'linux')
    return `the Lambda runtime interface client (aws-lambda-ric) runs on Linux only, not ${process.platform}`;
  const rie = await ensureGoTool('lambda-rie', log);
  if (!rie.available) return rie.detail;
  const ric = `${RIC_DIR}node_modules/aws-lambda-ric/index.mjs`;
  const stamp = `${RIC_DIR}node_modules/.lock-hash`;
  const wanted = createHash('sha256')
    .update(readFileSync(`${RIC_DIR}package-lock.json`))
    .digest('hex');
  if (existsSync(ric) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return { rie: rie.detail, ric };
  if (missingBuildTools().length > 0) installDebianPackages(missingBuildTools(), log);
  const missing = missingBuildTools().join(' ');
  if (missing) return `aws-lambda-ric (tools/lambda-ric) compiles native code: ${installHint(missing)}`;
  log('installing tools/lambda-ric (aws-lambda-ric, compiled once, 3 to 5 minutes on 2 cores; output follows)');
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 1000);
  const progress = setInterval(() => log(`  still building aws-lambda-ric (${seconds()} s)`), 15_000);
  // npm and the native build run on this Node, so the addon matches the Node that will load it.
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` };
  const { code } = await run('npm', ['ci', '--loglevel=warn'], { cwd: RIC_DIR, env, echo: true }).finally(() => clearInterval(progress));
  if (code !== 0 || !existsSync(ric)) return `npm ci in tools/lambda-ric failed (exit ${code}); see the output above`;
  writeFileSync(stamp, wanted);
  log(`installed tools/lambda-ric in ${seconds()} s`);
  return { rie: rie.detail, ric };
}

/** The emulator's invoke API and the Runtime API it serves the client, next to the test run's other ports. */
const INVOKE_PORT = 3180;
const RUNTIME_API_PORT = 3181;

export interface ArtifactRun {
  name: string;
  /** The function answered (an HTTP answer below 500, or a result without `errorType`). */
  ok: boolean;
  /** What Lambda would hand API Gateway or the caller. */
  result: any;
  /** The emulator's own measure of the function's init phase. */
  initMs?: number;
  /** The error the runtime reported, or what went wrong around it. */
  error?: string;
  /** Everything the emulator, the client and the function printed. */
  log: string;
}

/** Unzips a function's zip as Lambda does into its task root. */
export async function unpack(zipFile: string, taskRoot: string): Promise<void> {
  const zip = await JSZip.loadAsync(readFileSync(zipFile));
  mkdirSync(taskRoot, { recursive: true });
  for (const entry of Object.values(zip.files).filter((file) => !file.dir)) {
    mkdirSync(dirname(join(taskRoot, entry.name)), { recursive: true });
    writeFileSync(join(taskRoot, entry.name), await entry.async('nodebuffer'));
  }
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || !child.pid ? resolve() : child.once('exit', () => resolve())));

/**
 * One cold invocation of an unzipped function: the emulator starts the Node.js runtime interface client
 * (on this Node, the Lambda runtime's major) in `taskRoot` with `handler`, `event` goes through the
 * emulator's invoke API, then both stop.
 */
export async function invokeInRuntime(
  runtime: LambdaRuntime,
  options: { name: string; taskRoot: string; handler: string; env: Record<string, string>; event: unknown; timeoutMs?: number },
): Promise<ArtifactRun> {
  const child = spawn(
    runtime.rie,
    [
      `--runtime-interface-emulator-address=127.0.0.1:${INVOKE_PORT}`,
      `--runtime-api-address=127.0.0.1:${RUNTIME_API_PORT}`,
      // Else the emulator reads LOG_LEVEL, which is the function's setting.
      '--log-level=info',
      process.execPath,
      runtime.ric,
      options.handler,
    ],
    {
      cwd: options.taskRoot,
      // Only what the function's configuration and Lambda itself set: nothing of this shell leaks in.
      env: {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        TZ: ':UTC',
        AWS_REGION: 'eu-west-1',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        AWS_LAMBDA_FUNCTION_NAME: options.name,
        LAMBDA_TASK_ROOT: options.taskRoot,
        _HANDLER: options.handler,
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout!.on('data', (chunk) => (log += chunk));
  child.stderr!.on('data', (chunk) => (log += chunk));
  child.once('error', (error) => (log += String(error)));
  const finish = async (run: Omit<ArtifactRun, 'name' | 'log' | 'initMs'>): Promise<ArtifactRun> => {
    child.kill('SIGTERM');
    await exited(child);
    // The first init report is the cold start; a failed init is retried (and reported again) on invoke.
    const init = /INIT REPORT\(durationMs: ([\d.]+)\)/.exec(log)?.[1];
    return { name: options.name, ...run, ...(init ? { initMs: Number(init) } : {}), log };
  };
  await waitFor(async () => child.exitCode !== null || (await portAnswers(INVOKE_PORT)), 10_000);
  if (!(await portAnswers(INVOKE_PORT)))
    return finish({ ok: false, result: undefined, error: `the emulator did not start on ${INVOKE_PORT}` });
  try {
    const response = await fetch(`http://127.0.0.1:${INVOKE_PORT}/2015-03-31/functions/function/invocations`, {
      method: 'POST',
      body: JSON.stringify(options.event),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const text = await response.text();
    const result = text ? JSON.parse(text) : null;
    if (result?.errorType) return finish({ ok: false, result, error: `${result.errorType}: ${result.errorMessage}` });
    const status = result?.statusCode;
    return finish({
      ok: status === undefined || status < 500,
      result,
      ...(status >= 500 ? { error: `HTTP ${status}: ${result.body}` } : {}),
    });
  } catch (error) {
    return finish({ ok: false, result: undefined, error: String(error) });
  }
}

/** Per function, the median module-init wall time of the newest stored cold-start benchmark run, if any. */
export function storedColdStart(resultsDir: string): { file: string; initMs: Record<string, number> } | undefined {
  if (!existsSync(resultsDir)) return undefined;
  for (const file of readdirSync(resultsDir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .reverse()) {
    const suite = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'));
    const bench = suite.benches?.find((b: any) => b.name === 'cold-start' && b.status === 'ok');
    const functions: Array<{ name: string; initMs?: { median: number } }> = bench?.details?.functions ?? [];
    const initMs = Object.fromEntries(functions.filter((f) => f.initMs).map((f) => [f.name, f.initMs!.median]));
    if (Object.keys(initMs).length > 0) return { file, initMs };
  }
  return undefined;
}
