import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import JSZip from 'jszip';

/** Per-function budget for the zipped artifact (what Lambda downloads and unpacks at a cold start). */
export const BUDGET_BYTES = 150 * 1024;

const MONGO_REASON =
  'bundles the MongoDB driver (mongodb 7 + bson + mongodb-connection-string-url + saslprep: ~525 KB minified, ' +
  '~165 KB of the zip). A shared Lambda layer would only move those bytes: the driver is still loaded at every ' +
  'cold start, and loading it from node_modules measured slower here than from the one minified bundle.';

const exception = (ceilingKb: number, reason: string) => ({ ceilingBytes: ceilingKb * 1024, reason });
const cart = exception(240, MONGO_REASON);

/**
 * Functions allowed over the budget, each with its reason and a ceiling (measured size + ~15 %) that still
 * fails the build when it grows. Everything else must stay within BUDGET_BYTES.
 */
export const BUDGET_EXCEPTIONS: Readonly<Record<string, { ceilingBytes: number; reason: string }>> = {
  getCart: cart,
  saveCart: cart,
  deleteCart: cart,
  checkoutCart: exception(290, `${MONGO_REASON} It also carries the POST /orders code (postgres.js, Upstash client).`),
  getHealth: exception(290, `${MONGO_REASON} It checks every store, so it also carries postgres.js and the Upstash client.`),
  purgeExpired: exception(
    250,
    `${MONGO_REASON} It also purges PostgreSQL's idempotency keys (postgres.js). Scheduled hourly: no request waits for its cold start.`,
  ),
  getApiDocsAsset: exception(
    700,
    "serves the API reference page's files: Swagger UI (swagger-ui-dist, 1.7 MB of script and 0.2 MB of styles, ~620 KB zipped) " +
      'from our own origin rather than a CDN. Only GET /docs/{asset} loads it; no request of the shop does.',
  ),
};

/** The budget exceptions that carry the MongoDB driver (the others must not). */
export const MONGO_FUNCTIONS = new Set(['getCart', 'saveCart', 'deleteCart', 'checkoutCart', 'getHealth', 'purgeExpired']);

export interface FunctionArtifact {
  name: string;
  zipPath: string;
  zippedBytes: number;
  /** Sum of the uncompressed files in the zip (the minified bundle). */
  rawBytes: number;
  files: string[];
  limitBytes: number;
  exception: string | undefined;
  status: 'ok' | 'exception' | 'over';
  /** From the CloudFormation template next to the zips, when there is one. */
  memorySize?: number;
  timeout?: number;
}

/** Memory and timeout of each function in the template next to the zips (if any), by zip name. */
function templateSettings(directory: string): Map<string, { memorySize?: number; timeout?: number }> {
  const path = join(directory, 'cloudformation-template-update-stack.json');
  if (!existsSync(path)) return new Map();
  type Resource = { Type: string; Properties: { Code?: { S3Key?: string }; MemorySize?: number; Timeout?: number } };
  const resources = Object.values((JSON.parse(readFileSync(path, 'utf8')) as { Resources: Record<string, Resource> }).Resources);
  return new Map(
    resources
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Code?.S3Key)
      .map((r) => [basename(r.Properties.Code!.S3Key!, '.zip'), { memorySize: r.Properties.MemorySize, timeout: r.Properties.Timeout }]),
  );
}

export interface PackageReport {
  directory: string;
  functions: FunctionArtifact[];
  ok: boolean;
}

/** Reads every function zip in a `sls package` output directory and checks it against the budget. */
export async function packageReport(directory: string): Promise<PackageReport> {
  const settings = templateSettings(directory);
  const zips = readdirSync(directory).filter((file) => file.endsWith('.zip'));
  const functions = await Promise.all(
    zips.sort().map(async (file): Promise<FunctionArtifact> => {
      const zipPath = join(directory, file);
      const name = basename(file, '.zip');
      const entries = Object.values((await JSZip.loadAsync(readFileSync(zipPath))).files).filter((entry) => !entry.dir);
      const sizes = await Promise.all(entries.map(async (entry) => (await entry.async('uint8array')).length));
      const zippedBytes = statSync(zipPath).size;
      const exception = BUDGET_EXCEPTIONS[name];
      const limitBytes = exception?.ceilingBytes ?? BUDGET_BYTES;
      return {
        name,
        zipPath,
        zippedBytes,
        rawBytes: sizes.reduce((sum, size) => sum + size, 0),
        files: entries.map((entry) => entry.name),
        limitBytes,
        exception: exception?.reason,
        status: zippedBytes <= BUDGET_BYTES ? 'ok' : zippedBytes <= limitBytes ? 'exception' : 'over',
        ...settings.get(name),
      };
    }),
  );
  return { directory, functions, ok: functions.length > 0 && functions.every((fn) => fn.status !== 'over') };
}

export function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

/** The table `npm run package` prints. */
export function formatPackageReport(report: PackageReport): string {
  const width = Math.max(8, ...report.functions.map((fn) => fn.name.length));
  const lines = [
    `${'function'.padEnd(width)}  ${'memory'.padStart(7)}  ${'timeout'.padStart(7)}  ${'bundle'.padStart(10)}  ${'zipped'.padStart(10)}  budget ${kb(BUDGET_BYTES)}`,
  ];
  for (const fn of report.functions) {
    const verdict = {
      ok: 'ok',
      exception: `over budget — accepted exception (ceiling ${kb(fn.limitBytes)}, see below)`,
      over: `OVER ${fn.exception ? `its ceiling of ${kb(fn.limitBytes)}` : 'budget'}`,
    }[fn.status];
    const maps = fn.files.some((file) => file.endsWith('.map')) ? ' [contains .map files]' : '';
    const memory = fn.memorySize === undefined ? '' : `${fn.memorySize} MB`;
    const timeout = fn.timeout === undefined ? '' : `${fn.timeout} s`;
    const sizes = `${kb(fn.rawBytes).padStart(10)}  ${kb(fn.zippedBytes).padStart(10)}`;
    lines.push(`${fn.name.padEnd(width)}  ${memory.padStart(7)}  ${timeout.padStart(7)}  ${sizes}  ${verdict}${maps}`);
  }
  const reasons = new Map<string, string[]>();
  for (const fn of report.functions.filter((f) => f.status !== 'ok' && f.exception)) {
    reasons.set(fn.exception!, [...(reasons.get(fn.exception!) ?? []), fn.name]);
  }
  for (const [reason, names] of reasons) lines.push('', `${names.join(', ')}: ${reason}`);
  return lines.join('\n');
}
