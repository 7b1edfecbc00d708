/**
 * npm run deploy -- --stage prod [--region eu-west-1] [--profile name] [--param key=value …]
 * npm run remove -- --stage prod [--region eu-west-1] [--profile name]
 *
 * deploy: packages the stage with its real secrets (your environment, else SSM of the account your AWS
 * credentials point at), checks what was packaged (no placeholder, no localhost URL, no development
 * secret, every function within its size limit), then deploys exactly that package
 * (`sls deploy --package`). The guide is docs/deploy.md.
 *
 * remove: `sls remove` for the stage. Its SSM lookups go to a local stand-in: removing a stack needs no
 * secret, and must work even when the stage's parameters are already gone.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT } from './lib/env.js';
import { startFakeSsm } from './lib/fake-ssm.js';
import { formatPackageReport, packageReport } from './lib/package-report.js';
import { fakeSsmEnv, runSls, slsPackage } from './lib/sls.js';
import { preflight, secretSources } from './lib/stages.js';

const USAGE = `usage: npm run deploy -- --stage <stage> [--region r] [--profile p] [--param key=value …]
       npm run remove -- --stage <stage> [--region r] [--profile p]`;

async function deploy(
  stage: string,
  region: string | undefined,
  env: Record<string, string | undefined>,
  params: string[],
): Promise<number> {
  const outDir = join(ROOT, '.serverless');
  console.log(`deploy: stage ${stage}${region ? `, region ${region}` : ''}`);
  for (const { variable, source } of secretSources(stage, env)) console.log(`  ${variable.padEnd(26)} from ${source}`);

  console.log('\ndeploy: packaging (secrets resolved now, into the template osls uploads)');
  const run = await slsPackage({ stage, ...(region ? { region } : {}), outDir, env, params, echo: true });
  if (run.code !== 0) {
    console.error(`deploy: packaging failed (exit ${run.code}); nothing was deployed`);
    return 1;
  }
  const report = packageReport(outDir);
  console.log(`\n${formatPackageReport(report)}`);
  const template = JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'));
  const { problems, warnings } = preflight(template);
  for (const warning of warnings) console.warn(`deploy: warning: ${warning}`);
  if (!report.ok) problems.push('a function is over its size limit (see the table above)');
  if (problems.length > 0) {
    console.error(`\ndeploy: refusing to deploy stage ${stage}:\n  - ${problems.join('\n  - ')}`);
    return 1;
  }

  console.log('\ndeploy: sls deploy --package .serverless');
  const args = ['deploy', '--stage', stage, '--package', outDir];
  if (region) args.push('--region', region);
  for (const param of params) args.push('--param', param);
  const deployed = await runSls(args, { env, echo: true });
  if (deployed.code !== 0) return 1;
  console.log(
    `\ndeploy: done. Try: npm run invoke -- runBenchmarks '{"scale":"small"}' --stage ${stage} --region ${region ?? 'eu-west-1'}`,
  );
  return 0;
}

async function remove(stage: string, region: string | undefined, env: Record<string, string | undefined>): Promise<number> {
  const fake = await startFakeSsm();
  try {
    const args = ['remove', '--stage', stage];
    if (region) args.push('--region', region);
    const run = await runSls(args, { env: { ...env, ...fakeSsmEnv(fake.endpoint, false) }, echo: true });
    return run.code === 0 ? 0 : 1;
  } finally {
    await fake.close();
  }
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      stage: { type: 'string' },
      region: { type: 'string' },
      profile: { type: 'string' },
      param: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || (command !== 'deploy' && command !== 'remove') || positionals.length > 1) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  if (!values.stage) {
    console.error(`${command}: --stage is required (dev, prod, …): a deploy never guesses its stage\n${USAGE}`);
    return 2;
  }
  if (values.stage === 'local') {
    console.error(`${command}: "local" is serverless-offline on this machine (npm start, npm run offline), not a cloud stage`);
    return 2;
  }
  const env: Record<string, string | undefined> = { ...process.env, ...(values.profile ? { AWS_PROFILE: values.profile } : {}) };
  return command === 'deploy' ? deploy(values.stage, values.region, env, values.param ?? []) : remove(values.stage, values.region, env);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
