// The operator's side of a stage, as CloudFormation resources (serverless.yml `resources`; osls runs this
// function through `${file(...)}`): alarms that notify an SNS topic, a dead-letter queue for the scheduled
// functions' failed runs, and a dashboard of the shop's own metrics (shared/metrics.ts) next to Lambda's
// and API Gateway's. Generated rather than written out because every function gets the same three alarms.
// CommonJS because osls loads variable files with require().

const NAMESPACE = 'ecommerce-pipeline';

/** CloudFormation logical ids as osls names functions: createOrder → CreateOrderLambdaFunction. */
const logicalId = (name) => `${name.charAt(0).toUpperCase()}${name.slice(1).replace(/[^A-Za-z0-9]/g, '')}`;

const alarm = (description, properties) => ({
  Type: 'AWS::CloudWatch::Alarm',
  Properties: {
    AlarmDescription: description,
    ActionsEnabled: true,
    AlarmActions: [{ Ref: 'AlarmTopic' }],
    OKActions: [{ Ref: 'AlarmTopic' }],
    TreatMissingData: 'notBreaching',
    ...properties,
  },
});

/**
 * A function's three alarms (errors, throttles, p99 duration near its timeout), keyed by logical id. Also
 * used by infra/fresh-account-plugin.cjs for the functions it adds after the variables are resolved.
 */
function functionAlarms(prefix, name, timeoutSeconds) {
  const fn = `${prefix}-${name}`;
  const timeoutMs = Number(timeoutSeconds) * 1000;
  const dimensions = [{ Name: 'FunctionName', Value: fn }];
  const id = logicalId(name);
  const resources = {};
  for (const [metric, description] of [
    ['Errors', `${fn} failed (errors or timeouts) in the last 5 minutes.`],
    ['Throttles', `${fn} was throttled (the account's or the function's concurrency limit).`],
  ]) {
    resources[`${id}${metric}Alarm`] = alarm(description, {
      Namespace: 'AWS/Lambda',
      MetricName: metric,
      Dimensions: dimensions,
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  }
  resources[`${id}DurationAlarm`] = alarm(`${fn}'s p99 duration is above 80 % of its ${timeoutMs / 1000} s timeout.`, {
    Namespace: 'AWS/Lambda',
    MetricName: 'Duration',
    Dimensions: dimensions,
    ExtendedStatistic: 'p99',
    Period: 300,
    EvaluationPeriods: 3,
    DatapointsToAlarm: 2,
    Threshold: Math.round(timeoutMs * 0.8),
    ComparisonOperator: 'GreaterThanThreshold',
  });
  return resources;
}

module.exports = async ({ resolveVariable }) => {
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const functions = await resolveVariable('self:functions');
  const defaultTimeout = Number(await resolveVariable('self:provider.timeout'));
  const alarmEmail = String((await resolveVariable('param:alarmEmail')) ?? '').trim();
  const prefix = `${service}-${stage}`;
  const names = Object.keys(functions);
  const scheduled = names.filter((name) => (functions[name].events ?? []).some((event) => event.schedule));
  // The dimensions shared/metrics.ts records every value under: the functions' SERVICE_NAME and STAGE
  // (serverless.yml's provider environment), read back by tests/deploy/observability.test.ts.
  const perStage = [
    { Name: 'service', Value: service },
    { Name: 'stage', Value: stage },
  ];
  /** An alarm on one of the shop's own metrics (shared/metrics.ts), as recorded per stage. */
  const shopAlarm = (description, metricName, properties) =>
    alarm(description, { Namespace: NAMESPACE, MetricName: metricName, Dimensions: perStage, ...properties });
  /** At least 5 in 5 minutes: an outage, not one request that met a blip. */
  const fivePerFiveMinutes = {
    Statistic: 'Sum',
    Period: 300,
    EvaluationPeriods: 1,
    Threshold: 5,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  };
  const shopSum = (id, metricName) => ({
    Id: id,
    ReturnData: false,
    MetricStat: { Metric: { Namespace: NAMESPACE, MetricName: metricName, Dimensions: perStage }, Period: 300, Stat: 'Sum' },
  });

  const resources = {
    // The topic's key is the stage's own (a customer-managed key: docs/deploy.md's costs): CloudWatch publishes to an encrypted topic only
    // with kms:GenerateDataKey* and kms:Decrypt on its key, which the AWS-managed alias/aws/sns key's policy
    // cannot grant — under it every alarm notification is dropped (AWS SNS developer guide, "Enable
    // compatibility between event sources from AWS services and encrypted topics").
    AlarmTopicKey: {
      Type: 'AWS::KMS::Key',
      Properties: {
        Description: `Encrypts the ${prefix}-alarms topic; CloudWatch alarms of this account may use it to publish`,
        EnableKeyRotation: true,
        KeyPolicy: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'TheAccountAdministersTheKey',
              Effect: 'Allow',
              Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
              Action: 'kms:*',
              Resource: '*',
            },
            {
              Sid: 'CloudWatchAlarmsPublishToTheTopic',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Resource: '*',
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
      },
    },
    AlarmTopic: {
      Type: 'AWS::SNS::Topic',
      Properties: { TopicName: `${prefix}-alarms`, KmsMasterKeyId: { Ref: 'AlarmTopicKey' } },
    },
    // EventBridge invokes the scheduled functions asynchronously: a run that still fails after Lambda's
    // retries lands here (with the event and the error) instead of vanishing.
    ScheduledFailuresQueue: {
      Type: 'AWS::SQS::Queue',
      Properties: { QueueName: `${prefix}-scheduled-failures`, MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true },
    },
    ScheduledFailuresAlarm: alarm(`A scheduled run of ${scheduled.join(' or ')} failed (see the ${prefix}-scheduled-failures queue).`, {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['ScheduledFailuresQueue', 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    }),
    // The hourly purge stops at its deadline with rows still due when expired rows come faster than it deletes
    // them; once, it catches up next hour; three runs in a row, the tables and the carts keep growing.
    PurgeBacklogAlarm: shopAlarm(
      'Three hourly runs of purgeExpired in a row stopped at their deadline with expired rows still due.',
      'PurgeBacklog',
      {
        Statistic: 'Minimum',
        Period: 3600,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      },
    ),
    // 5xx answers as a share of all answers over 5 minutes, once there is enough traffic to speak of a rate.
    HttpApi5xxRateAlarm: alarm('More than 5 % of the HTTP API answers were 5xx over 5 minutes (at least 20 requests).', {
      Metrics: [
        {
          Id: 'errors',
          ReturnData: false,
          MetricStat: {
            Metric: { Namespace: 'AWS/ApiGateway', MetricName: '5xx', Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }] },
            Period: 300,
            Stat: 'Sum',
          },
        },
        {
          Id: 'requests',
          ReturnData: false,
          MetricStat: {
            Metric: { Namespace: 'AWS/ApiGateway', MetricName: 'Count', Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }] },
            Period: 300,
            Stat: 'Sum',
          },
        },
        { Id: 'rate', Label: '5xx %', Expression: 'IF(requests >= 20, 100 * errors / requests, 0)', ReturnData: true },
      ],
      EvaluationPeriods: 1,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
    }),
    // The functions' own count of answers given because PostgreSQL (through RDS Proxy or a pooler) could
    // not be reached: connection refused, reset or timed out, our credentials refused, or a writer read-only in a
    // failover (shared/clients/errors.ts);
    // not a statement past its timeout or a lock waited on (DATABASE_BUSY: the database answered).
    DatabaseUnavailableAlarm: shopAlarm(
      'Requests answered 503 because PostgreSQL could not be reached, refused our credentials or took no writes (DatabaseUnavailable).',
      'DatabaseUnavailable',
      fivePerFiveMinutes,
    ),
    // The HTTP functions answer their own errors, so Lambda's Errors metric (the per-function alarms) never
    // counts a 500 or a 503: these read the functions' own counts, whatever the traffic. A 500 is a defect
    // to look at, even once.
    InternalErrorsAlarm: shopAlarm('A request was answered 500 INTERNAL_ERROR (a defect: see the "5xx answers" query).', 'InternalErrors', {
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    }),
    // PostgreSQL answered, but statements or lock waits ran past their timeouts: a slow query, a long lock (a
    // migration, VACUUM FULL), contention. Not an outage, and not what DatabaseUnavailableAlarm says.
    DatabaseBusyAlarm: shopAlarm(
      'Requests answered 503 DATABASE_BUSY: PostgreSQL answered, but statements or lock waits ran past their timeouts (DatabaseBusy).',
      'DatabaseBusy',
      fivePerFiveMinutes,
    ),
    // Every 503 counts StoreUnavailable and PostgreSQL's also DatabaseUnavailable or DatabaseBusy (their own
    // alarms above): the difference is the other stores (MongoDB, the identity provider) and requests that ran
    // out of time.
    OtherStoresUnavailableAlarm: alarm(
      'Requests answered 503 because MongoDB or the identity provider could not answer, or they ran out of time (StoreUnavailable less DatabaseUnavailable and DatabaseBusy).',
      {
        Metrics: [
          shopSum('stores', 'StoreUnavailable'),
          shopSum('database', 'DatabaseUnavailable'),
          shopSum('busy', 'DatabaseBusy'),
          {
            Id: 'others',
            Label: '503s of other stores',
            Expression: 'FILL(stores, 0) - FILL(database, 0) - FILL(busy, 0)',
            ReturnData: true,
          },
        ],
        EvaluationPeriods: 1,
        Threshold: 5,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
    ),
    // Redis unusable does not fail a request (PostgreSQL answers the top products) but moves every read onto it.
    TopProductsCacheBypassAlarm: shopAlarm(
      'The top products were served from PostgreSQL because Redis (Upstash) was unusable (TopProductsCacheBypass).',
      'TopProductsCacheBypass',
      fivePerFiveMinutes,
    ),
  };

  if (alarmEmail) {
    resources.AlarmEmailSubscription = {
      Type: 'AWS::SNS::Subscription',
      Properties: { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: alarmEmail },
    };
  }

  for (const name of names) Object.assign(resources, functionAlarms(prefix, name, functions[name].timeout ?? defaultTimeout));

  const shop = (metric, label) => [NAMESPACE, metric, 'service', service, 'stage', stage, { label, stat: 'Sum' }];
  const perFunction = (metric, stat) =>
    names.map((name) => ['AWS/Lambda', metric, 'FunctionName', `${prefix}-${name}`, { label: name, stat }]);
  const widget = (title, metrics, extra = {}) => ({
    type: 'metric',
    width: 12,
    height: 6,
    properties: { title, region: '${AWS::Region}', view: 'timeSeries', period: 300, metrics, ...extra },
  });
  const dashboard = {
    widgets: [
      widget('Orders', [
        shop('OrdersPlaced', 'placed'),
        shop('IdempotentReplays', 'replays'),
        shop('OutOfStockRejections', 'out of stock'),
      ]),
      widget('Carts and the top-products cache', [
        shop('CartConflicts', 'cart conflicts (409/412)'),
        shop('TopProductsCacheHit', 'cache hit'),
        shop('TopProductsCacheMiss', 'cache miss'),
        shop('TopProductsCacheBypass', 'cache bypassed (Redis unusable)'),
      ]),
      widget('Failed answers: 503 (a store) and 500 (a defect)', [
        shop('StoreUnavailable', 'any store'),
        shop('DatabaseUnavailable', 'PostgreSQL unreachable'),
        shop('DatabaseBusy', 'PostgreSQL busy'),
        shop('InternalErrors', '500 internal error'),
      ]),
      widget('HTTP API', [
        ['AWS/ApiGateway', 'Count', 'ApiId', '${HttpApi}', { stat: 'Sum', label: 'requests' }],
        ['AWS/ApiGateway', '4xx', 'ApiId', '${HttpApi}', { stat: 'Sum', label: '4xx' }],
        ['AWS/ApiGateway', '5xx', 'ApiId', '${HttpApi}', { stat: 'Sum', label: '5xx' }],
      ]),
      widget('Function errors', perFunction('Errors', 'Sum')),
      widget('Function duration, p99 (ms)', perFunction('Duration', 'p99')),
      widget('Throttles and concurrency', [
        ...perFunction('Throttles', 'Sum'),
        ['AWS/Lambda', 'ConcurrentExecutions', { stat: 'Maximum' }],
      ]),
      widget('Scheduled runs: benchmark duration, rows purged, failed runs', [
        [NAMESPACE, 'BenchmarkRunDuration', 'service', service, 'stage', stage, { stat: 'Maximum', label: 'runBenchmarks duration (ms)' }],
        [NAMESPACE, 'ExpiredRowsPurged', 'service', service, 'stage', stage, { stat: 'Sum', label: 'expired rows purged' }],
        [NAMESPACE, 'PurgeBacklog', 'service', service, 'stage', stage, { stat: 'Maximum', label: 'purge left rows due', yAxis: 'right' }],
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', `${prefix}-scheduled-failures`, { stat: 'Maximum', yAxis: 'right' }],
      ]),
    ],
  };
  resources.Dashboard = {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: { DashboardName: prefix, DashboardBody: { 'Fn::Sub': JSON.stringify(dashboard) } },
  };
  return { Resources: resources };
};

module.exports.functionAlarms = functionAlarms;
