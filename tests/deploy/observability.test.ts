import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slsPackage } from '../../scripts/lib/sls.js';
import { METRIC } from '../../shared/metrics.js';
import { runScript } from '../benchmarks/helpers.js';
import { cleanEnv, type Resource, type Template } from './helpers.js';

/**
 * What a stage gives its operator, as packaged offline (`sls package`, SSM answered by a stand-in):
 * tracing, alarms on every function and on the API, a dead-letter queue for failed scheduled runs, a
 * dashboard of the shop's own metrics — and the permissions those need, no more.
 */
let dir: string;
let template: Template;
let functions: Record<string, { name: string; timeout?: number; events: Array<Record<string, unknown>> }>;
const EMAIL = 'ops@example.com';

const ofType = (type: string) => Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecommerce-observability-'));
  const run = await slsPackage({ stage: 'dev', outDir: dir, env: cleanEnv({ ALARM_EMAIL: EMAIL }), fakeSsm: true });
  if (run.code !== 0) throw new Error(`sls package failed:\n${run.output}`);
  template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
  functions = JSON.parse(readFileSync(join(dir, 'serverless-state.json'), 'utf8')).service.functions;
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packaged stage, for its operator', () => {
  it('traces every function with X-Ray', () => {
    const lambdas = ofType('AWS::Lambda::Function');
    expect(lambdas.length).toBe(Object.keys(functions).length);
    for (const [id, fn] of lambdas) expect(fn.Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
  });

  it('alarms on errors, throttles and a p99 duration near the timeout of every function, all to the alarm topic', () => {
    const alarms = Object.fromEntries(ofType('AWS::CloudWatch::Alarm'));
    for (const [name, fn] of Object.entries(functions)) {
      const byMetric = (metric: string) =>
        Object.values(alarms).filter(
          (alarm) => alarm.Properties.MetricName === metric && alarm.Properties.Dimensions?.[0]?.Value === fn.name,
        );
      expect(byMetric('Errors'), name).toHaveLength(1);
      expect(byMetric('Throttles'), name).toHaveLength(1);
      const [duration] = byMetric('Duration');
      expect(duration!.Properties).toMatchObject({ ExtendedStatistic: 'p99', Threshold: (fn.timeout ?? 10) * 1000 * 0.8 });
    }
    for (const [id, alarm] of Object.entries(alarms)) {
      expect(alarm.Properties.AlarmActions, id).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(alarm.Properties.AlarmDescription, id).toEqual(expect.any(String));
    }
    const rate = alarms.HttpApi5xxRateAlarm!.Properties;
    expect(JSON.stringify(rate.Metrics)).toContain('"MetricName":"5xx"');
    expect(rate.Metrics.find((m: { Id: string }) => m.Id === 'rate').Expression).toBe('IF(requests >= 20, 100 * errors / requests, 0)');
    expect(alarms.DatabaseUnavailableAlarm!.Properties).toMatchObject({
      Namespace: 'ecommerce-pipeline',
      MetricName: METRIC.databaseUnavailable,
    });
    // Three hourly purges in a row that stopped with rows still due (each run reports 0 or 1).
    expect(alarms.PurgeBacklogAlarm!.Properties).toMatchObject({
      Namespace: 'ecommerce-pipeline',
      MetricName: METRIC.purgeBacklog,
      // One run an hour, 0 or 1: the lowest of an hour is 1 only when no run of it finished its work.
      Statistic: 'Minimum',
      // A purge that did not run (a failure: its own alarm) does not count as a backlog.
      TreatMissingData: 'notBreaching',
      Dimensions: [
        { Name: 'service', Value: 'ecommerce-pipeline' },
        { Name: 'stage', Value: 'dev' },
      ],
      Period: 3600,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarms on any 500 answer and on 503s of each store, with the dimensions the functions publish them under', () => {
    // An HTTP function answers its own errors (a 500, a 503): Lambda's Errors metric never sees them, so
    // these alarms are what tell the operator that a route fails for every caller, however quiet the stage.
    const alarms = Object.fromEntries(ofType('AWS::CloudWatch::Alarm'));
    const environment = (template.Resources.CreateOrderLambdaFunction as Resource).Properties.Environment.Variables;
    const published = [
      { Name: 'service', Value: environment.SERVICE_NAME },
      { Name: 'stage', Value: environment.STAGE },
    ];
    expect(published.map(({ Value }) => Value)).toEqual(['ecommerce-pipeline', 'dev']);
    const perStage = { Namespace: 'ecommerce-pipeline', Dimensions: published, Statistic: 'Sum', Period: 300, EvaluationPeriods: 1 };
    expect(alarms.InternalErrorsAlarm!.Properties).toMatchObject({
      ...perStage,
      MetricName: METRIC.internalErrors,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarms.DatabaseUnavailableAlarm!.Properties).toMatchObject({
      ...perStage,
      MetricName: METRIC.databaseUnavailable,
      Threshold: 5,
    });
    expect(alarms.TopProductsCacheBypassAlarm!.Properties).toMatchObject({ ...perStage, MetricName: METRIC.cacheBypass, Threshold: 5 });
    expect(alarms.DatabaseBusyAlarm!.Properties).toMatchObject({ ...perStage, MetricName: METRIC.databaseBusy, Threshold: 5 });
    expect(alarms.PurgeBacklogAlarm!.Properties.Dimensions).toEqual(published);
    // The stores other than PostgreSQL: every 503 counts StoreUnavailable, PostgreSQL's also DatabaseUnavailable
    // or DatabaseBusy (their own alarms above), so the difference is the rest (MongoDB, the identity provider,
    // time run out).
    const others = alarms.OtherStoresUnavailableAlarm!.Properties;
    expect(others).toMatchObject({ EvaluationPeriods: 1, Threshold: 5, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    const stat = (id: string) => others.Metrics.find((metric: { Id: string }) => metric.Id === id).MetricStat;
    expect(stat('stores')).toEqual({
      Metric: { Namespace: 'ecommerce-pipeline', MetricName: METRIC.storeUnavailable, Dimensions: published },
      Period: 300,
      Stat: 'Sum',
    });
    expect(stat('database')).toEqual({
      Metric: { Namespace: 'ecommerce-pipeline', MetricName: METRIC.databaseUnavailable, Dimensions: published },
      Period: 300,
      Stat: 'Sum',
    });
    expect(stat('busy')).toEqual({
      Metric: { Namespace: 'ecommerce-pipeline', MetricName: METRIC.databaseBusy, Dimensions: published },
      Period: 300,
      Stat: 'Sum',
    });
    expect(others.Metrics.find((metric: { ReturnData: boolean }) => metric.ReturnData).Expression).toBe(
      'FILL(stores, 0) - FILL(database, 0) - FILL(busy, 0)',
    );
  });

  it('sends a scheduled function’s failed run to an encrypted dead-letter queue with its own alarm', () => {
    const scheduled = Object.values(functions)
      .filter((fn) => fn.events.some((event) => 'schedule' in event))
      .map((fn) => fn.name);
    expect(scheduled.length).toBeGreaterThan(0);
    const configs = ofType('AWS::Lambda::EventInvokeConfig').map(([, config]) => config.Properties);
    expect(configs).toHaveLength(scheduled.length);
    for (const config of configs)
      expect(config.DestinationConfig).toEqual({ OnFailure: { Destination: { 'Fn::GetAtt': ['ScheduledFailuresQueue', 'Arn'] } } });
    expect(template.Resources.ScheduledFailuresQueue!.Properties.SqsManagedSseEnabled).toBe(true);
    expect(template.Resources.ScheduledFailuresAlarm!.Properties.Dimensions[0].Value).toEqual({
      'Fn::GetAtt': ['ScheduledFailuresQueue', 'QueueName'],
    });
    // Encrypted with a key of the stage's own: CloudWatch cannot publish to a topic under the AWS-managed
    // alias/aws/sns key (its policy cannot grant CloudWatch the key), so every alarm's e-mail would be lost.
    expect(template.Resources.AlarmTopic!.Properties.KmsMasterKeyId).toEqual({ Ref: 'AlarmTopicKey' });
    const key = template.Resources.AlarmTopicKey as Resource;
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const grants = key.Properties.KeyPolicy.Statement as Array<{ Principal: unknown; Action: string[]; Condition?: unknown }>;
    const cloudWatch = grants.find((grant) => JSON.stringify(grant.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }));
    expect(cloudWatch?.Action.sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(cloudWatch?.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
    expect(template.Resources.AlarmEmailSubscription!.Properties).toEqual({
      TopicArn: { Ref: 'AlarmTopic' },
      Protocol: 'email',
      Endpoint: EMAIL,
    });
  });

  it('the functions may trace and use that queue, and nothing more than before', () => {
    const role = template.Resources.LambdaExecutionRole as Resource;
    const statements = role.Properties.Policies.flatMap(
      (policy: { PolicyDocument: { Statement: unknown[] } }) => policy.PolicyDocument.Statement,
    );
    expect(statements.map((statement: { Action: string[] }) => statement.Action)).toEqual([
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
      ['sqs:SendMessage'],
    ]);
    expect(statements[2].Resource).toEqual([{ 'Fn::GetAtt': ['ScheduledFailuresQueue', 'Arn'] }]);
    expect(ofType('AWS::IAM::Role')).toHaveLength(1);
  });

  it('has a dashboard of every shop metric next to Lambda’s and API Gateway’s', () => {
    const body = template.Resources.Dashboard!.Properties.DashboardBody['Fn::Sub'] as string;
    const dashboard = JSON.parse(body) as { widgets: Array<{ properties: { metrics: unknown[][] } }> };
    const names = new Set(dashboard.widgets.flatMap((widget) => widget.properties.metrics.map((metric) => metric[1])));
    for (const metric of Object.values(METRIC)) expect(names, metric).toContain(metric);
    for (const metric of ['5xx', 'Errors', 'Duration', 'Throttles']) expect(names).toContain(metric);
  });
});

describe('infra/observability.cjs', () => {
  const generate = createRequire(import.meta.url)('../../infra/observability.cjs') as (input: {
    resolveVariable: (name: string) => Promise<unknown>;
  }) => Promise<{ Resources: Record<string, Resource> }>;

  it('subscribes no one when the stage names no alarm email (the topic is still there to subscribe to)', async () => {
    const variables: Record<string, unknown> = {
      'self:service': 'shop',
      'sls:stage': 'prod',
      'self:functions': { a: { events: [{ schedule: {} }], timeout: 300 }, b: { events: [] } },
      'self:provider.timeout': 10,
      'param:alarmEmail': '',
    };
    const { Resources } = await generate({ resolveVariable: async (name) => variables[name] });
    expect(Resources.AlarmTopic).toBeDefined();
    expect(Resources.AlarmEmailSubscription).toBeUndefined();
    expect(Resources.ADurationAlarm!.Properties.Threshold).toBe(240_000);
    expect(Resources.BDurationAlarm!.Properties.Threshold).toBe(8_000);
    expect(Resources.ScheduledFailuresAlarm!.Properties.AlarmDescription).toContain('a failed');
  });
});

describe('npm run logs', () => {
  it('needs a function, and reads through osls with the caller’s AWS credentials (none here: it says so)', async () => {
    const usage = await runScript('scripts/logs.ts', []);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: npm run logs -- <function>');
    const noCredentials = await runScript(
      'scripts/logs.ts',
      ['createOrder', '--stage', 'dev', '--region', 'eu-west-1'],
      cleanEnv(),
      120_000,
    );
    expect(noCredentials.code).toBe(1);
    expect(noCredentials.stdout + noCredentials.stderr).toMatch(/credentials/i);
  }, 150_000);
});
