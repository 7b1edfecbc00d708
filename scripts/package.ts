/**
 * npm run package -- [--stage dev] [--region eu-west-1] [--package .serverless] [--aws] [--param key=value …]
 *
 * `sls package` for a stage, offline by default: the CloudFormation template and one zip per function
 * (no source maps), then each function's size against the budget, and the OpenAPI document next to them.
 * Exits 1 when a function is over its size limit.
 *
 * Secrets: serverless.yml takes each from the environment, else from the stage's SSM parameter. Without
 * --aws, SSM is a local stand-in that answers placeholders naming each parameter, so the rehearsal needs
 * no account and no network (dummy credentials); with --aws, the real SSM of the account your AWS
 * credentials point at (what `npm run deploy` does).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT } from './lib/env.js';
import { formatPackageReport, packageReport } from './lib/package-report.js';
import { slsPackage } from './lib/sls.js';

export const USAGE = 'usage: npm run package -- [--stage dev] [--region eu-west-1] [--package .serverless] [--aws] [--param key=value …]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stage: { type: 'string', default: 'dev' },
      region: { type: 'string' },
      package: { type: 'string', default: '.serverless' },
      aws: { type: 'boolean', default: false },
      param: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const outDir = isAbsolute(values.package!) ? values.package! : resolve(ROOT, values.package!);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const started = performance.now();
  console.log(
    `package: stage ${values.stage}, ${values.aws ? 'SSM of your AWS account' : 'SSM stand-in (placeholders, no AWS)'} → ${relative(ROOT, outDir) || '.'}`,
  );
  const run = await slsPackage({
    stage: values.stage!,
    ...(values.region ? { region: values.region } : {}),
    outDir,
    env: process.env,
    fakeSsm: !values.aws,
    params: values.param,
    echo: true,
  });
  if (run.code !== 0) {
    console.error(`\npackage: sls package failed (exit ${run.code})`);
    return 1;
  }
  if (run.ssmRequested.length > 0) {
    console.log(`\nSSM parameters this stage reads (placeholders in this rehearsal):\n  ${run.ssmRequested.join('\n  ')}`);
  }
  const report = packageReport(outDir);
  console.log(`\n${formatPackageReport(report)}`);
  try {
    const { writeOpenApiDocument } = await import('./openapi.js');
    const path = await writeOpenApiDocument(outDir);
    console.log(`\nOpenAPI: ${relative(ROOT, path)}`);
  } catch (error) {
    console.error(`\npackage: could not write the OpenAPI document: ${(error as Error).message}`);
    return 1;
  }
  console.log(`\npackage: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (!report.ok) {
    console.error('package: a function is over its size limit (see above)');
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
