import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeholderFor, type SlsRun, slsPackage } from '../../scripts/lib/sls.js';
import { preflight } from '../../scripts/lib/stages.js';
import { findDependencyCycle, validateAgainstSpec } from './cfn-spec.js';
import { cleanEnv, type Resource, type Template } from './helpers.js';

/**
 * The two shapes of a stage, packaged offline (`sls package --stage dev`, SSM answered by a local stand-in):
 * `infrastructure: create` (a fresh account: VPC, Aurora, RDS Proxy, Cognito, migrations during the deploy)
 * and `bring-your-own` (today's path, the default). Nothing here needs AWS.
 */
interface Packaged {
  dir: string;
  run: SlsRun;
  template: Template & { Outputs: Record<string, any> };
}

async function packageShape(params: string[]): Promise<Packaged> {
  const dir = mkdtempSync(join(tmpdir(), 'ecommerce-fresh-account-'));
  const run = await slsPackage({ stage: 'dev', outDir: dir, env: cleanEnv(), fakeSsm: true, params });
  if (run.code !== 0) throw new Error(`sls package failed:\n${run.output}`);
  return { dir, run, template: JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) };
}

let created: Packaged;
let own: Packaged;

beforeAll(async () => {
  created = await packageShape(['infrastructure=create']);
  own = await packageShape([]);
}, 480_000);

afterAll(() => {
  for (const shape of [created, own]) if (shape) rmSync(shape.dir, { recursive: true, force: true });
});

const ofType = (template: Template, type: string): Array<[string, Resource]> =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
const resource = (id: string): Resource => {
  const found = created.template.Resources[id];
  if (!found) throw new Error(`no resource ${id}`);
  return found;
};
const functions = (template: Template) => ofType(template, 'AWS::Lambda::Function');
const ref = (id: string) => ({ Ref: id });
const dependsOn = (r: Resource) => [r.DependsOn ?? []].flat();

describe('both shapes against the CloudFormation resource specification', () => {
  it('has only existing resource types, property names and attributes, and no dependency cycle', () => {
    for (const { template } of [created, own]) {
      expect(validateAgainstSpec(template)).toEqual([]);
      expect(findDependencyCycle(template)).toBeUndefined();
    }
  });
});

describe('the HTTP API stage, in both shapes', () => {
  it('throttles each route to the stage’s rate and burst, so a flood on a route cannot take all of the account’s Lambda concurrency', () => {
    for (const { template } of [created, own]) {
      const settings = template.Resources.HttpApiStage!.Properties.DefaultRouteSettings;
      expect(settings).toMatchObject({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
    }
  });
});

describe('infrastructure: bring-your-own (the default, today’s path)', () => {
  it('creates no network, database or user pool, puts no function in a VPC, and reads DATABASE_URL from SSM', () => {
    const types = new Set(Object.values(own.template.Resources).map((r) => r.Type));
    for (const type of types) expect(type).not.toMatch(/^AWS::(EC2|RDS|Cognito|SecretsManager)::/);
    expect(Object.keys(own.template.Resources)).not.toContain('Migrations');
    for (const [id, fn] of functions(own.template)) {
      expect(fn.Properties.VpcConfig, id).toBeUndefined();
      // Each function that talks to PostgreSQL (only those get DATABASE_URL: tests/deploy/package.test.ts).
      if ('DATABASE_URL' in fn.Properties.Environment.Variables) {
        expect(fn.Properties.Environment.Variables.DATABASE_URL, id).toBe(placeholderFor('/ecommerce-pipeline/dev/database-url'));
      }
      expect(fn.Properties.Environment.Variables.AUTH_ISSUER, id).toBe('ecommerce-pipeline-local');
    }
    expect(own.run.ssmRequested).toContain('/ecommerce-pipeline/dev/database-url');
    expect(own.template.Outputs.UserPoolId).toBeUndefined();
  });
});

describe('infrastructure: create (a fresh account)', () => {
  it('has a VPC with two private subnets in two zones and one public subnet holding the only NAT gateway', () => {
    expect(ofType(created.template, 'AWS::EC2::VPC')).toHaveLength(1);
    const subnets = Object.fromEntries(ofType(created.template, 'AWS::EC2::Subnet'));
    expect(Object.keys(subnets).sort()).toEqual(['PrivateSubnetA', 'PrivateSubnetB', 'PublicSubnet']);
    for (const subnet of Object.values(subnets)) expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    expect(subnets.PrivateSubnetA!.Properties.AvailabilityZone).not.toEqual(subnets.PrivateSubnetB!.Properties.AvailabilityZone);
    const nats = ofType(created.template, 'AWS::EC2::NatGateway');
    expect(nats).toHaveLength(1);
    expect(nats[0]![1].Properties.SubnetId).toEqual(ref('PublicSubnet'));
    // Only the public subnet routes to the internet gateway; the private ones leave through the NAT.
    const routes = ofType(created.template, 'AWS::EC2::Route').map(([, r]) => r.Properties);
    expect(routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ RouteTableId: ref('PublicRouteTable'), GatewayId: ref('InternetGateway') }),
        expect.objectContaining({ RouteTableId: ref('PrivateRouteTable'), NatGatewayId: ref('NatGateway') }),
      ]),
    );
    expect(routes).toHaveLength(2);
    const associations = ofType(created.template, 'AWS::EC2::SubnetRouteTableAssociation').map(([, r]) => r.Properties);
    expect(associations).toEqual(
      expect.arrayContaining([
        { SubnetId: ref('PublicSubnet'), RouteTableId: ref('PublicRouteTable') },
        { SubnetId: ref('PrivateSubnetA'), RouteTableId: ref('PrivateRouteTable') },
        { SubnetId: ref('PrivateSubnetB'), RouteTableId: ref('PrivateRouteTable') },
      ]),
    );
  });

  it('lets exactly functions → proxy → database through, on 5432 only', () => {
    const groups = ofType(created.template, 'AWS::EC2::SecurityGroup').map(([id]) => id);
    expect(groups.sort()).toEqual(['DatabaseSecurityGroup', 'FunctionsSecurityGroup', 'ProxySecurityGroup']);
    for (const id of groups) expect(resource(id).Properties.SecurityGroupIngress, id).toBeUndefined();
    const rule = (r: Resource) => ({
      group: r.Properties.GroupId.Ref,
      from: r.Properties.FromPort,
      to: r.Properties.ToPort,
      protocol: r.Properties.IpProtocol,
    });
    const ingress = ofType(created.template, 'AWS::EC2::SecurityGroupIngress').map(([, r]) => ({
      ...rule(r),
      peer: r.Properties.SourceSecurityGroupId.Ref,
    }));
    expect(ingress.sort((a, b) => a.group.localeCompare(b.group))).toEqual([
      { group: 'DatabaseSecurityGroup', peer: 'ProxySecurityGroup', from: 5432, to: 5432, protocol: 'tcp' },
      { group: 'ProxySecurityGroup', peer: 'FunctionsSecurityGroup', from: 5432, to: 5432, protocol: 'tcp' },
    ]);
    const egress = ofType(created.template, 'AWS::EC2::SecurityGroupEgress').map(([, r]) => ({
      ...rule(r),
      peer: r.Properties.DestinationSecurityGroupId.Ref,
    }));
    expect(egress.sort((a, b) => a.group.localeCompare(b.group))).toEqual([
      { group: 'FunctionsSecurityGroup', peer: 'ProxySecurityGroup', from: 5432, to: 5432, protocol: 'tcp' },
      { group: 'ProxySecurityGroup', peer: 'DatabaseSecurityGroup', from: 5432, to: 5432, protocol: 'tcp' },
    ]);
    // The proxy's and the database's own egress is a rule nothing matches (no default allow-all).
    for (const id of ['ProxySecurityGroup', 'DatabaseSecurityGroup']) {
      expect(resource(id).Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32' })]);
    }
    // The functions go out on HTTPS (Upstash, Cognito, JWKS, the CloudFormation response URL) and to Atlas.
    expect(resource('FunctionsSecurityGroup').Properties.SecurityGroupEgress.map((r: any) => [r.FromPort, r.CidrIp])).toEqual([
      [443, '0.0.0.0/0'],
      [27017, '0.0.0.0/0'],
    ]);
  });

  it('runs Aurora PostgreSQL Serverless v2 encrypted, private, backed up, with generated credentials in Secrets Manager', () => {
    const cluster = resource('DatabaseCluster');
    expect(cluster.Properties).toMatchObject({
      Engine: 'aurora-postgresql',
      EngineVersion: '16.6',
      StorageEncrypted: true,
      DatabaseName: 'shop',
      DBSubnetGroupName: ref('DatabaseSubnetGroup'),
      VpcSecurityGroupIds: [ref('DatabaseSecurityGroup')],
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 2 },
      DeletionProtection: false,
    });
    expect(cluster.Properties.BackupRetentionPeriod).toBeGreaterThanOrEqual(1);
    expect(cluster.Properties.MasterUserPassword).toEqual({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a template string
      'Fn::Sub': '{{resolve:secretsmanager:${DatabaseSecret}:SecretString:password}}',
    });
    expect(JSON.stringify(created.template)).not.toMatch(/"MasterUserPassword":"[^{]/);
    expect(resource('DatabaseSecret').Properties.GenerateSecretString).toMatchObject({
      GenerateStringKey: 'password',
      ExcludePunctuation: true,
    });
    expect(resource('DatabaseSubnetGroup').Properties.SubnetIds).toEqual([ref('PrivateSubnetA'), ref('PrivateSubnetB')]);
    expect(resource('DatabaseInstance').Properties).toMatchObject({ DBInstanceClass: 'db.serverless', PubliclyAccessible: false });
    expect(ofType(created.template, 'AWS::RDS::DBInstance')).toHaveLength(1);
  });

  it('puts RDS Proxy in front (TLS required, secret auth, private), and every function uses it with DATABASE_PREPARE=false', () => {
    expect(resource('DatabaseProxy').Properties).toMatchObject({
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      Auth: [{ AuthScheme: 'SECRETS', SecretArn: ref('DatabaseSecret'), IAMAuth: 'DISABLED' }],
      VpcSubnetIds: [ref('PrivateSubnetA'), ref('PrivateSubnetB')],
      VpcSecurityGroupIds: [ref('ProxySecurityGroup')],
    });
    expect(resource('DatabaseProxyTarget').Properties.DBClusterIdentifiers).toEqual([ref('DatabaseCluster')]);
    const withDatabase = functions(created.template).filter(([, fn]) => 'DATABASE_URL' in fn.Properties.Environment.Variables);
    expect(withDatabase.map(([id]) => id)).toEqual(
      expect.arrayContaining(['MigrateLambdaFunction', 'ConfirmCustomerLambdaFunction', 'CreateOrderLambdaFunction']),
    );
    for (const [id, fn] of withDatabase) {
      expect(fn.Properties.Environment.Variables.DATABASE_URL['Fn::Sub'], id).toMatch(
        /^postgres:\/\/\{\{resolve:secretsmanager:.*@\$\{DatabaseProxy\.Endpoint\}:5432\/shop\?sslmode=verify-full$/,
      );
    }
    for (const [id, fn] of functions(created.template)) {
      expect(fn.Properties.Environment.Variables.DATABASE_PREPARE, id).toBe('false');
      expect(fn.Properties.VpcConfig, id).toEqual({
        SecurityGroupIds: [ref('FunctionsSecurityGroup')],
        SubnetIds: [ref('PrivateSubnetA'), ref('PrivateSubnetB')],
      });
    }
    // No SSM parameter for the database: a fresh account has none.
    expect(created.run.ssmRequested).not.toContain('/ecommerce-pipeline/dev/database-url');
  });

  it('has a user pool whose app client may read but not write the customer id, and points the functions’ auth at it', () => {
    const pool = resource('UserPool').Properties;
    expect(pool.UserAttributeUpdateSettings).toEqual({ AttributesRequireVerificationBeforeUpdate: ['email'] });
    expect(pool.Schema).toEqual(expect.arrayContaining([expect.objectContaining({ Name: 'customer_id', AttributeDataType: 'String' })]));
    const client = resource('UserPoolClient').Properties;
    expect(client.UserPoolId).toEqual(ref('UserPool'));
    expect(client.GenerateSecret).toBe(false);
    expect(client.ReadAttributes).toContain('custom:customer_id');
    expect(client.WriteAttributes).toBeDefined();
    expect(client.WriteAttributes).not.toContain('custom:customer_id');
    expect(client.WriteAttributes.filter((name: string) => name.startsWith('custom:'))).toEqual([]);
    // Nor the email: a customer is found by it, so a user who changed theirs would free the old address, and
    // whoever signed up with it next would be handed the old customer (orders, cart).
    expect(client.WriteAttributes).not.toContain('email');
    for (const [id, fn] of functions(created.template)) {
      const env = fn.Properties.Environment.Variables;
      expect(env.AUTH_JWKS_URL, id).toEqual({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a template string
        'Fn::Sub': 'https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}/.well-known/jwks.json',
      });
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a template string
      expect(env.AUTH_ISSUER, id).toEqual({ 'Fn::Sub': 'https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}' });
      expect(env.AUTH_AUDIENCE, id).toEqual(ref('UserPoolClient'));
      expect(env.AUTH_CUSTOMER_CLAIM, id).toBe('custom:customer_id');
      expect(env.AUTH_JWT_SECRET, id).toBe('');
    }
  });

  it('makes every confirmed user a customer: the post-confirmation trigger, invocable by this pool only', () => {
    const trigger = resource('ConfirmCustomerLambdaFunction');
    expect(trigger.Properties.FunctionName).toBe('ecommerce-pipeline-dev-confirmCustomer');
    expect(trigger.Properties.Timeout).toBeLessThanOrEqual(5); // Cognito waits 5 s
    expect(resource('UserPool').Properties.LambdaConfig.PostConfirmation['Fn::Sub']).toMatch(
      /:function:ecommerce-pipeline-dev-confirmCustomer$/,
    );
    expect(resource('ConfirmCustomerPermission').Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': ['ConfirmCustomerLambdaFunction', 'Arn'] },
      Principal: 'cognito-idp.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': ['UserPool', 'Arn'] },
    });
  });

  it('alarms on every function it has, the two only this shape adds included (a failing sign-up trigger must not fail silently)', () => {
    const alarmed = new Set(
      ofType(created.template, 'AWS::CloudWatch::Alarm').flatMap(([, alarm]) =>
        (alarm.Properties.Dimensions ?? [])
          .filter((d: { Name: string }) => d.Name === 'FunctionName')
          .map((d: { Value: string }) => d.Value),
      ),
    );
    for (const [id, fn] of functions(created.template)) expect(alarmed, id).toContain(fn.Properties.FunctionName);
    const trigger = resource('ConfirmCustomerErrorsAlarm').Properties;
    expect(trigger).toMatchObject({ MetricName: 'Errors', AlarmActions: [ref('AlarmTopic')] });
    expect(resource('MigrateDurationAlarm').Properties.Threshold).toBe(240_000);
  });

  it('grants least privilege: the admin call on this pool to the trigger only, the secret to the proxy only, no wildcard action', () => {
    const roles = Object.fromEntries(ofType(created.template, 'AWS::IAM::Role'));
    expect(Object.keys(roles).sort()).toEqual(['ConfirmCustomerRole', 'DatabaseProxyRole', 'LambdaExecutionRole']);
    expect(ofType(created.template, 'AWS::IAM::Policy')).toEqual([]);
    const statements = (id: string) => roles[id]!.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
    for (const id of Object.keys(roles)) {
      expect(roles[id]!.Properties.ManagedPolicyArns, id).toBeUndefined();
      for (const statement of statements(id)) {
        const actions = [statement.Action].flat() as string[];
        for (const action of actions) expect(action, id).not.toMatch(/\*/);
        // "*" only where the service has no resource-level permission: X-Ray, and the VPC network interfaces.
        if ([statement.Resource].flat().includes('*'))
          expect(
            actions.every((a) => /^(xray|ec2):/.test(a)),
            `${id}: ${actions}`,
          ).toBe(true);
      }
    }
    const actionsOf = (id: string) => statements(id).flatMap((s: any) => s.Action);
    expect(actionsOf('DatabaseProxyRole')).toEqual(['secretsmanager:GetSecretValue']);
    expect(statements('DatabaseProxyRole')[0].Resource).toEqual([ref('DatabaseSecret')]);
    expect(roles.DatabaseProxyRole!.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: ['rds.amazonaws.com'] });
    const cognito = statements('ConfirmCustomerRole').filter((s: any) =>
      [s.Action].flat().some((a: string) => a.startsWith('cognito-idp:')),
    );
    expect(cognito).toEqual([
      { Effect: 'Allow', Action: ['cognito-idp:AdminUpdateUserAttributes'], Resource: [{ 'Fn::GetAtt': ['UserPool', 'Arn'] }] },
    ]);
    expect(actionsOf('LambdaExecutionRole').filter((a: string) => a.startsWith('cognito-idp:') || a.startsWith('secretsmanager:'))).toEqual(
      [],
    );
    expect(resource('ConfirmCustomerLambdaFunction').Properties.Role).toEqual({ 'Fn::GetAtt': ['ConfirmCustomerRole', 'Arn'] });
    for (const [id, fn] of functions(created.template)) {
      if (id !== 'ConfirmCustomerLambdaFunction') expect(fn.Properties.Role, id).toEqual({ 'Fn::GetAtt': ['LambdaExecutionRole', 'Arn'] });
    }
  });

  it('migrates from inside the VPC during the deploy: after the proxy and the NAT route, before the API stage', async () => {
    const migrations = resource('Migrations');
    expect(migrations.Type).toBe('Custom::Migrations');
    expect(migrations.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': ['MigrateLambdaFunction', 'Arn'] });
    expect(migrations.Properties.MigrationsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(dependsOn(migrations)).toEqual(
      expect.arrayContaining(['DatabaseProxyTarget', 'PrivateDefaultRoute', 'PrivateSubnetARoutes', 'PrivateSubnetBRoutes']),
    );
    // The first connection needs the path functions → proxy → database open: the rules are separate resources
    // that nothing else orders before it.
    expect(dependsOn(migrations)).toEqual(
      expect.arrayContaining(['FunctionsToProxy', 'ProxyFromFunctions', 'ProxyToDatabase', 'DatabaseFromProxy']),
    );
    expect(dependsOn(resource('DatabaseProxyTarget'))).toContain('DatabaseInstance');
    expect(dependsOn(resource('HttpApiStage'))).toContain('Migrations');
    // On an update too, no function gets new code (nor its schedule a first run) before the schema it needs:
    // every function waits for the migrations, but the one that runs them and the Cognito trigger (the user
    // pool, which the functions' settings name, needs it first; it writes only the first migration's table).
    for (const [id, fn] of functions(created.template)) {
      if (id === 'MigrateLambdaFunction' || id === 'ConfirmCustomerLambdaFunction') expect(dependsOn(fn), id).not.toContain('Migrations');
      else expect(dependsOn(fn), id).toContain('Migrations');
    }
    // The function answers before CloudFormation gives up on it, and CloudFormation gives up in minutes, not an hour.
    const migrate = resource('MigrateLambdaFunction').Properties;
    expect(migrate.VpcConfig.SubnetIds).toEqual([ref('PrivateSubnetA'), ref('PrivateSubnetB')]);
    expect(migrate.Timeout).toBeLessThan(migrations.Properties.ServiceTimeout);
    expect(migrations.Properties.ServiceTimeout).toBeLessThanOrEqual(900);
    // The zip carries the migration files next to the bundle.
    const zip = await JSZip.loadAsync(readFileSync(join(created.dir, 'migrate.zip')));
    const files = Object.keys(zip.files).filter((name) => !name.endsWith('/'));
    expect(files).toContain('functions/migrate.mjs');
    expect(files.filter((name) => name.startsWith('sql/'))).toContain('sql/00001_initial_schema.sql');
  });

  it('does not schedule runBenchmarks, which needs a direct session the proxy cannot give (each run would fail and alarm)', () => {
    const scheduleOf = (template: Template) =>
      ofType(template, 'AWS::Events::Rule').find(([, rule]) =>
        rule.Properties.Targets.some((target: any) => JSON.stringify(target.Arn).includes('RunBenchmarksLambdaFunction')),
      )?.[1];
    expect(scheduleOf(created.template)?.Properties.State).toBe('DISABLED');
    // Bring your own: the stage's choice (on by default outside prod).
    expect(scheduleOf(own.template)?.Properties.State).toBe('ENABLED');
  });

  it('passes npm run deploy’s preflight but for the rehearsal’s SSM placeholders (the wired values are CloudFormation’s)', () => {
    const problems = preflight(created.template).problems;
    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) expect(problem).toMatch(/is a rehearsal placeholder/);
  });

  it('outputs what the deploy prints: the API URL, the user pool and client ids, the NAT address for Atlas', () => {
    expect(Object.keys(created.template.Outputs)).toEqual(
      expect.arrayContaining(['HttpApiUrl', 'UserPoolId', 'UserPoolClientId', 'NatPublicIp', 'DatabaseProxyEndpoint']),
    );
    expect(created.template.Outputs.UserPoolClientId.Value).toEqual(ref('UserPoolClient'));
  });
});

describe('infrastructure: create on prod (infra/fresh-account.cjs as osls calls it)', () => {
  const infra = createRequire(import.meta.url)('../../infra/fresh-account.cjs');
  const resolveFor = (stage: string) => async (name: string) =>
    ({ 'param:infrastructure': 'create', 'sls:stage': stage, 'self:service': 'ecommerce-pipeline' })[name];

  it('keeps a final snapshot, protects the cluster and the pool from deletion, and has room to grow', async () => {
    const { Resources } = await infra.resources({ resolveVariable: resolveFor('prod') });
    expect(Resources.DatabaseCluster.DeletionPolicy).toBe('Snapshot');
    expect(Resources.DatabaseCluster.UpdateReplacePolicy).toBe('Snapshot');
    expect(Resources.DatabaseCluster.Properties.DeletionProtection).toBe(true);
    expect(Resources.DatabaseCluster.Properties.BackupRetentionPeriod).toBe(14);
    expect(Resources.DatabaseCluster.Properties.ServerlessV2ScalingConfiguration).toEqual({ MinCapacity: 0.5, MaxCapacity: 8 });
    expect(Resources.UserPool.Properties.DeletionProtection).toBe('ACTIVE');
    // The functions it references are osls's; stand-ins here, their problems left out.
    const standIn = { Type: 'AWS::Lambda::Function', Properties: {} };
    const problems = validateAgainstSpec({
      Resources: { ...Resources, MigrateLambdaFunction: standIn, ConfirmCustomerLambdaFunction: standIn },
    });
    expect(problems.filter((problem) => !/^\w+LambdaFunction\./.test(problem))).toEqual([]);
  });

  it('deletes everything of a dev stage on removal (no snapshot, no protection)', async () => {
    const { Resources } = await infra.resources({ resolveVariable: resolveFor('dev') });
    expect(Resources.DatabaseCluster.DeletionPolicy).toBe('Delete');
    expect(Resources.DatabaseCluster.Properties.DeletionProtection).toBe(false);
    expect(Resources.UserPool.Properties.DeletionProtection).toBe('INACTIVE');
  });

  it('refuses an unknown shape', async () => {
    const resolveVariable = async (name: string) => (name === 'param:infrastructure' ? 'crate' : 'dev');
    await expect(infra.resources({ resolveVariable })).rejects.toThrow(/must be one of bring-your-own, create/);
  });
});

describe('scheduled functions', () => {
  it('a failed benchmark run is not retried (each try rebuilds its fixtures for up to 15 minutes); it goes to the failure queue', () => {
    for (const shape of [created, own]) {
      const configs = ofType(shape.template, 'AWS::Lambda::EventInvokeConfig').map(([, config]) => config.Properties);
      const runBenchmarks = configs.find((config) => JSON.stringify(config.FunctionName).includes('RunBenchmarks'));
      expect(runBenchmarks, JSON.stringify(configs)).toMatchObject({ MaximumRetryAttempts: 0 });
      expect(JSON.stringify(runBenchmarks?.DestinationConfig)).toContain('ScheduledFailuresQueue');
    }
  });
});
