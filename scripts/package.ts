/**
 * npm run package: `sls package` for a stage, offline by default: the CloudFormation template and one zip per function
 * (no source maps), then each function's size against the budget, and the OpenAPI document next to them.
 * Exits 1 when a function is over its size limit.
 *
 * Secrets: serverless.yml takes each from the environment, else from the stage's SSM parameter. Without
 * --aws, SSM is a local stand-in that answers placeholders naming each parameter, so the rehearsal needs
 * no account and no network (dummy credentials); with --aws, the real SSM of the account your AWS
 * credentials point at (what `npm run deploy` does).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { openApiDocument } from '../shared/http/routes.js';
import { exit, parseCommandLine, pathFromCommandLine, ROOT } from './lib/env.js';
import { formatPackageReport, packageReport } from './lib/package-report.js';
import { slsPackage } from './lib/sls.js';

const USAGE = 'usage: npm run package -- [--stage dev] [--region eu-west-1] [--package .serverless] [--aws] [--param key=value …]';
const { values } = parseCommandLine(USAGE, {
  options: {
    stage: { type: 'string', default: 'dev' },
    region: { type: 'string' },
    package: { type: 'string' },
    aws: { type: 'boolean', default: false },
    param: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
// The project's .serverless from any folder; a folder typed on the command line from where it was typed.
const outDir = values.package === undefined ? join(ROOT, '.serverless') : pathFromCommandLine(values.package);
// The folder is emptied first: it may only be a new or empty one, or one an earlier package wrote.
const checkout = resolve(ROOT);
if (checkout === outDir || checkout.startsWith(`${outDir}${sep}`)) {
  exit(1, `package: --package ${values.package} is the checkout or a folder holding it; give a folder of its own (default .serverless)`);
}
if (existsSync(outDir) && readdirSync(outDir).length > 0 && !existsSync(join(outDir, 'serverless-state.json'))) {
  exit(
    1,
    `package: ${outDir} is not a package folder (no serverless-state.json) and not empty, and it would be emptied; give a new or empty folder`,
  );
}
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const started = performance.now();
console.log(
  `package: stage ${values.stage}, ${values.aws ? 'SSM of your AWS account' : 'SSM stand-in (placeholders, no AWS)'} → ${relative(ROOT, outDir) || '.'}`,
);
const run = await slsPackage({
  stage: values.stage,
  region: values.region,
  outDir,
  env: process.env,
  fakeSsm: !values.aws,
  params: values.param,
  echo: true,
});
if (run.code !== 0) exit(1, `\npackage: sls package failed (exit ${run.code})`);
if (run.ssmRequested.length > 0)
  console.log(`\nSSM parameters this stage reads (placeholders in this rehearsal):\n  ${run.ssmRequested.join('\n  ')}`);
const report = await packageReport(outDir);
console.log(`\n${formatPackageReport(report)}`);
writeFileSync(join(outDir, 'openapi.json'), `${JSON.stringify(openApiDocument(), null, 2)}\n`);
console.log(`\nOpenAPI: ${relative(ROOT, join(outDir, 'openapi.json'))}`);
console.log(`\npackage: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (!report.ok) exit(1, 'package: a function is over its size limit (see above)');
