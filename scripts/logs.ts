/**
 * npm run logs: a deployed function's CloudWatch logs, through osls (`sls logs`, your AWS credentials). Reading logs
 * needs no secret: the stage's SSM lookups are answered by a local stand-in, as for `npm run remove`.
 * For questions across functions, the Logs Insights queries in docs/observability.md.
 */
import { exit, parseCommandLine } from './lib/env.js';
import { runSls, slsArgs } from './lib/sls.js';

const USAGE = 'usage: npm run logs -- <function> [--stage dev] [--region r] [--tail] [--since 1h] [--filter text]';

const { positionals, values } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: {
    stage: { type: 'string', default: 'dev' },
    region: { type: 'string' },
    tail: { type: 'boolean', default: false },
    since: { type: 'string', default: '1h' },
    filter: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (positionals.length !== 1) exit(2, USAGE);

const args = [
  ...slsArgs('logs', { stage: values.stage, region: values.region }),
  '--function',
  positionals[0]!,
  '--startTime',
  values.since,
  ...(values.tail ? ['--tail'] : []),
  ...(values.filter ? ['--filter', values.filter] : []),
];
const run = await runSls(args, { env: process.env, echo: true, fakeSsm: 'your credentials' });
process.exitCode = run.code === 0 ? 0 : 1;
