/**
 * npm run deploy packages the stage with its real secrets (your environment, else SSM of the account your AWS
 * credentials point at), checks what was packaged (no placeholder, no localhost URL, no development
 * secret, every function within its size limit, no migration the stage's own database lacks), then deploys exactly that package
 * (`sls deploy --package`). The guide is docs/deploy.md.
 *
 * npm run remove: `sls remove` for the stage. Its SSM lookups go to a local stand-in: removing a stack needs no
 * secret, and must work even when the stage's parameters are already gone. With `infrastructure: create`,
 * prod's database and user pool are protected from deletion: remove says how to lift that, and refuses
 * until it is told (--protection-lifted). It ends with what it kept.
 *
 * Both end with the stack's outputs read back (the API URL; the user pool, its client and a recipe from
 * sign-up to a first order for a stage that created them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { formatDeployOutputs, formatKept, protectionCommands, type StackOutputs } from './lib/deploy-outputs.js';
import { parseCommandLine, ROOT } from './lib/env.js';
import { formatPackageReport, packageReport } from './lib/package-report.js';
import { runSls, slsArgs, slsPackage } from './lib/sls.js';
import { migrationCheck, preflight, secretSources } from './lib/stages.js';

const USAGE = `usage: npm run deploy -- --stage <stage> [--region r] [--profile p] [--param key=value …]
       npm run remove -- --stage <stage> [--region r] [--profile p] [--protection-lifted]`;

type Options = { stage: string; region?: string | undefined; profile?: string | undefined; params: string[]; protectionLifted?: boolean };

/** serverless.yml's default region. */
const DEFAULT_REGION = 'eu-west-1';

/** The stack's outputs, or undefined when there is no such stack. */
async function stackOutputs(options: Options): Promise<StackOutputs | undefined> {
  // The profile the deploy uses (osls gets it as AWS_PROFILE): read with other credentials, another
  // account's stack would be looked for, and found missing.
  const client = new CloudFormationClient({
    region: options.region ?? DEFAULT_REGION,
    ...(options.profile ? { profile: options.profile } : {}),
  });
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: `ecommerce-pipeline-${options.stage}` }));
    return Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']));
  } catch (error) {
    if (/does not exist/.test(String((error as Error).message))) return undefined;
    throw error;
  } finally {
    client.destroy();
  }
}

async function deploy(options: Options, env: NodeJS.ProcessEnv): Promise<number> {
  const outDir = join(ROOT, '.serverless');
  console.log(`deploy: stage ${options.stage}${options.region ? `, region ${options.region}` : ''}`);
  const created = options.params.includes('infrastructure=create');
  for (const { variable, source } of secretSources(options.stage, env)) {
    // A created stage's DATABASE_URL is the stack's own RDS Proxy (infra/fresh-account.cjs).
    console.log(`  ${variable.padEnd(26)} from ${created && variable === 'DATABASE_URL' ? 'the RDS Proxy this stack creates' : source}`);
  }

  console.log('\ndeploy: packaging (secrets resolved now, into the template osls uploads)');
  const run = await slsPackage({ ...options, outDir, env, echo: true });
  if (run.code !== 0) {
    console.error(`deploy: packaging failed (exit ${run.code}); nothing was deployed`);
    return 1;
  }
  const report = await packageReport(outDir);
  console.log(`\n${formatPackageReport(report)}`);
  const template = JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'));
  const { problems, warnings } = preflight(template);
  // Its own database only (a stack that creates one migrates it itself: migrationCheck leaves it alone).
  const migrations = await migrationCheck(template);
  problems.push(...migrations.problems);
  warnings.push(...migrations.warnings);
  for (const warning of warnings) console.warn(`deploy: warning: ${warning}`);
  if (!report.ok) problems.push('a function is over its size limit (see the table above)');
  if (problems.length > 0) {
    console.error(`\ndeploy: refusing to deploy stage ${options.stage}:\n  - ${problems.join('\n  - ')}`);
    return 1;
  }

  console.log('\ndeploy: sls deploy --package .serverless');
  if ((await runSls([...slsArgs('deploy', options), '--package', outDir], { env, echo: true })).code !== 0) return 1;
  const where = { stage: options.stage, region: options.region ?? DEFAULT_REGION };
  console.log(`\ndeploy: done.\n${formatDeployOutputs((await stackOutputs(options)) ?? {}, where)}`);
  return 0;
}

async function remove(options: Options, env: NodeJS.ProcessEnv): Promise<number> {
  const region = options.region ?? DEFAULT_REGION;
  const outputs = await stackOutputs(options);
  if (!outputs) {
    console.log(`remove: there is no stack ecommerce-pipeline-${options.stage} in ${region}; nothing to remove`);
    return 0;
  }
  const protection = options.stage === 'prod' ? protectionCommands(outputs, region) : [];
  if (protection.length > 0 && !options.protectionLifted) {
    console.error(
      `remove: prod's Aurora cluster and user pool are protected from deletion. To really remove prod (its database ends in a final snapshot), run\n  ${protection.join('\n  ')}\nthen npm run remove -- --stage prod --protection-lifted`,
    );
    return 1;
  }
  const run = await runSls(slsArgs('remove', { ...options, params: [] }), { env, echo: true, fakeSsm: 'your credentials' });
  if (run.code !== 0) return 1;
  console.log(
    `\nremove: stack ecommerce-pipeline-${options.stage} deleted with everything it created.\n${formatKept(outputs, { stage: options.stage, region })}`,
  );
  return 0;
}

async function main(): Promise<number> {
  const { positionals, values } = parseCommandLine(USAGE, {
    allowPositionals: true,
    options: {
      stage: { type: 'string' },
      region: { type: 'string' },
      profile: { type: 'string' },
      param: { type: 'string', multiple: true, default: [] },
      'protection-lifted': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...extra] = positionals;
  if ((command !== 'deploy' && command !== 'remove') || extra.length > 0) {
    console.error(USAGE);
    return 2;
  }
  if (!values.stage) {
    console.error(`${command}: --stage is required (dev, prod, …): a deploy never guesses its stage\n${USAGE}`);
    return 2;
  }
  if (values.stage === 'local') {
    console.error(`${command}: "local" is serverless-offline on this machine (npm start, npm run offline), not a cloud stage`);
    return 2;
  }
  const env = { ...process.env, ...(values.profile ? { AWS_PROFILE: values.profile } : {}) };
  const options = {
    stage: values.stage,
    region: values.region,
    profile: values.profile,
    params: values.param,
    protectionLifted: values['protection-lifted'],
  };
  return command === 'deploy' ? deploy(options, env) : remove(options, env);
}

process.exitCode = await main();
