// The AWS side of a stage on a fresh account (stage param `infrastructure: create`): a VPC, Aurora PostgreSQL
// Serverless v2 behind RDS Proxy, a Cognito user pool whose confirmed users become customers, and the
// migrations applied from inside the VPC during the deploy. With `infrastructure: bring-your-own` (the
// default) every export here is empty and the stage uses the stores and identity provider you configured,
// exactly as before. serverless.yml reads these exports with `${file(./infra/fresh-account.cjs):…}`; each is
// a function so that osls resolves only what is asked (the bring-your-own database URL reads SSM, the
// fresh-account one must not). infra/fresh-account-plugin.cjs adds the two functions and the ordering.
// docs/deploy.md explains the shape and its cost. CommonJS because osls loads variable files with require().

const { createHash } = require('node:crypto');
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const DB_NAME = 'shop';
const DB_PORT = 5432;
// A current Aurora PostgreSQL 16 minor (Serverless v2 capable).
const ENGINE_VERSION = '16.6';
const CUSTOMER_ATTRIBUTE = 'customer_id';

const MODES = ['bring-your-own', 'create'];

async function settings(resolveVariable) {
  const infrastructure = String(await resolveVariable('param:infrastructure'));
  if (!MODES.includes(infrastructure)) throw new Error(`param infrastructure must be one of ${MODES.join(', ')}, not "${infrastructure}"`);
  const stage = await resolveVariable('sls:stage');
  const service = await resolveVariable('self:service');
  return { create: infrastructure === 'create', service, stage, prefix: `${service}-${stage}`, prod: stage === 'prod' };
}

/** CloudFormation's own `{{resolve:…}}` of the generated secret: the password never passes through osls or git. */
const secretField = (field) => `{{resolve:secretsmanager:\${DatabaseSecret}:SecretString:${field}}}`;

/** An SG with no default allow-all egress (a rule no packet matches replaces it), the usual CloudFormation idiom. */
const NO_EGRESS = [{ CidrIp: '255.255.255.255/32', IpProtocol: 'icmp', FromPort: 252, ToPort: 86, Description: 'no egress' }];
const tcp = (port) => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port });

function network(prefix) {
  const az = (index) => ({ 'Fn::Select': [index, { 'Fn::GetAZs': '' }] });
  const subnet = (cidr, index) => ({
    Type: 'AWS::EC2::Subnet',
    Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: cidr, AvailabilityZone: az(index), MapPublicIpOnLaunch: false },
  });
  const association = (subnetId, table) => ({
    Type: 'AWS::EC2::SubnetRouteTableAssociation',
    Properties: { SubnetId: { Ref: subnetId }, RouteTableId: { Ref: table } },
  });
  const sg = (description, extra) => ({
    Type: 'AWS::EC2::SecurityGroup',
    Properties: { GroupDescription: description, VpcId: { Ref: 'Vpc' }, ...extra },
  });
  const rule = (type, group, other, description) => ({
    Type: `AWS::EC2::SecurityGroup${type}`,
    Properties: {
      GroupId: { Ref: group },
      ...tcp(DB_PORT),
      [type === 'Ingress' ? 'SourceSecurityGroupId' : 'DestinationSecurityGroupId']: { Ref: other },
      Description: description,
    },
  });
  return {
    Vpc: {
      Type: 'AWS::EC2::VPC',
      Properties: { CidrBlock: '10.20.0.0/16', EnableDnsSupport: true, EnableDnsHostnames: true, Tags: [{ Key: 'Name', Value: prefix }] },
    },
    // Two private subnets in two zones (RDS wants two), for the functions, the proxy and the database.
    PrivateSubnetA: subnet('10.20.1.0/24', 0),
    PrivateSubnetB: subnet('10.20.2.0/24', 1),
    // One public subnet, only for the NAT gateway: the functions' way out to Upstash, Atlas, Cognito and the
    // CloudFormation response URL. One NAT (not one per zone): ~33 USD a month instead of ~66, at the price
    // of egress depending on one zone (docs/deploy.md).
    PublicSubnet: subnet('10.20.0.0/24', 0),
    InternetGateway: { Type: 'AWS::EC2::InternetGateway', Properties: {} },
    InternetGatewayAttachment: {
      Type: 'AWS::EC2::VPCGatewayAttachment',
      Properties: { VpcId: { Ref: 'Vpc' }, InternetGatewayId: { Ref: 'InternetGateway' } },
    },
    PublicRouteTable: { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: { Ref: 'Vpc' } } },
    PublicDefaultRoute: {
      Type: 'AWS::EC2::Route',
      DependsOn: 'InternetGatewayAttachment',
      Properties: { RouteTableId: { Ref: 'PublicRouteTable' }, DestinationCidrBlock: '0.0.0.0/0', GatewayId: { Ref: 'InternetGateway' } },
    },
    PublicSubnetRoutes: association('PublicSubnet', 'PublicRouteTable'),
    NatAddress: { Type: 'AWS::EC2::EIP', DependsOn: 'InternetGatewayAttachment', Properties: { Domain: 'vpc' } },
    NatGateway: {
      Type: 'AWS::EC2::NatGateway',
      Properties: { SubnetId: { Ref: 'PublicSubnet' }, AllocationId: { 'Fn::GetAtt': ['NatAddress', 'AllocationId'] } },
    },
    PrivateRouteTable: { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: { Ref: 'Vpc' } } },
    PrivateDefaultRoute: {
      Type: 'AWS::EC2::Route',
      Properties: { RouteTableId: { Ref: 'PrivateRouteTable' }, DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: { Ref: 'NatGateway' } },
    },
    PrivateSubnetARoutes: association('PrivateSubnetA', 'PrivateRouteTable'),
    PrivateSubnetBRoutes: association('PrivateSubnetB', 'PrivateRouteTable'),

    // functions → proxy → database, on 5432 only; nothing reaches the functions. The cross-references are
    // separate rules (inline ones would make the groups depend on each other).
    FunctionsSecurityGroup: sg('ecommerce-pipeline functions: HTTPS and MongoDB out, PostgreSQL to the proxy', {
      SecurityGroupEgress: [
        { ...tcp(443), CidrIp: '0.0.0.0/0', Description: 'Upstash, Cognito, JWKS, CloudFormation response URL' },
        { ...tcp(27017), CidrIp: '0.0.0.0/0', Description: 'MongoDB Atlas' },
      ],
    }),
    ProxySecurityGroup: sg('ecommerce-pipeline RDS Proxy: from the functions, to the database', { SecurityGroupEgress: NO_EGRESS }),
    DatabaseSecurityGroup: sg('ecommerce-pipeline Aurora: from the proxy only', { SecurityGroupEgress: NO_EGRESS }),
    FunctionsToProxy: rule('Egress', 'FunctionsSecurityGroup', 'ProxySecurityGroup', 'PostgreSQL to RDS Proxy'),
    ProxyFromFunctions: rule('Ingress', 'ProxySecurityGroup', 'FunctionsSecurityGroup', 'PostgreSQL from the functions'),
    ProxyToDatabase: rule('Egress', 'ProxySecurityGroup', 'DatabaseSecurityGroup', 'PostgreSQL to Aurora'),
    DatabaseFromProxy: rule('Ingress', 'DatabaseSecurityGroup', 'ProxySecurityGroup', 'PostgreSQL from RDS Proxy'),
  };
}

function database({ prefix, prod }) {
  // prod: a snapshot when the cluster is deleted or replaced, and no deletion without first turning protection off.
  const retain = prod ? 'Snapshot' : 'Delete';
  return {
    // Generated by Secrets Manager, never rotated (the functions' DATABASE_URL is resolved at deploy time).
    // Letters and digits only: it goes into a URL.
    DatabaseSecret: {
      Type: 'AWS::SecretsManager::Secret',
      Properties: {
        Name: `${prefix}/database`,
        Description: 'Aurora master user of the shop database (used by RDS Proxy and, through it, the functions)',
        GenerateSecretString: {
          SecretStringTemplate: JSON.stringify({ username: 'shop_admin' }),
          GenerateStringKey: 'password',
          PasswordLength: 32,
          ExcludePunctuation: true,
        },
      },
    },
    DatabaseSubnetGroup: {
      Type: 'AWS::RDS::DBSubnetGroup',
      Properties: {
        DBSubnetGroupDescription: `${prefix} private subnets`,
        SubnetIds: [{ Ref: 'PrivateSubnetA' }, { Ref: 'PrivateSubnetB' }],
      },
    },
    DatabaseCluster: {
      Type: 'AWS::RDS::DBCluster',
      DeletionPolicy: retain,
      UpdateReplacePolicy: retain,
      Properties: {
        Engine: 'aurora-postgresql',
        EngineVersion: ENGINE_VERSION,
        DatabaseName: DB_NAME,
        Port: DB_PORT,
        MasterUsername: { 'Fn::Sub': secretField('username') },
        MasterUserPassword: { 'Fn::Sub': secretField('password') },
        StorageEncrypted: true,
        BackupRetentionPeriod: prod ? 14 : 1,
        CopyTagsToSnapshot: true,
        DeletionProtection: prod,
        DBSubnetGroupName: { Ref: 'DatabaseSubnetGroup' },
        VpcSecurityGroupIds: [{ Ref: 'DatabaseSecurityGroup' }],
        // 0.5 ACU, the smallest that runs. 16.6 could scale to 0 and pause, but not behind RDS Proxy (it keeps
        // connections open; AWS lists the proxy among auto-pause's incompatibilities), and the every-minute
        // reconcile would wake it anyway (docs/deploy.md).
        ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: prod ? 8 : 2 },
      },
    },
    DatabaseInstance: {
      Type: 'AWS::RDS::DBInstance',
      DeletionPolicy: 'Delete',
      Properties: {
        DBClusterIdentifier: { Ref: 'DatabaseCluster' },
        DBInstanceClass: 'db.serverless',
        Engine: 'aurora-postgresql',
        PubliclyAccessible: false,
      },
    },
    // RDS Proxy may read that one secret, nothing else.
    DatabaseProxyRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: ['rds.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
        },
        Policies: [
          {
            PolicyName: `${prefix}-proxy-reads-database-secret`,
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [{ Ref: 'DatabaseSecret' }] }],
            },
          },
        ],
      },
    },
    DatabaseProxy: {
      Type: 'AWS::RDS::DBProxy',
      Properties: {
        DBProxyName: prefix,
        EngineFamily: 'POSTGRESQL',
        RequireTLS: true,
        Auth: [{ AuthScheme: 'SECRETS', SecretArn: { Ref: 'DatabaseSecret' }, IAMAuth: 'DISABLED' }],
        RoleArn: { 'Fn::GetAtt': ['DatabaseProxyRole', 'Arn'] },
        VpcSubnetIds: [{ Ref: 'PrivateSubnetA' }, { Ref: 'PrivateSubnetB' }],
        VpcSecurityGroupIds: [{ Ref: 'ProxySecurityGroup' }],
        IdleClientTimeout: 1800,
      },
    },
    DatabaseProxyTarget: {
      Type: 'AWS::RDS::DBProxyTargetGroup',
      // The cluster has no writer to register until its instance exists.
      DependsOn: 'DatabaseInstance',
      Properties: {
        DBProxyName: { Ref: 'DatabaseProxy' },
        TargetGroupName: 'default',
        DBClusterIdentifiers: [{ Ref: 'DatabaseCluster' }],
        ConnectionPoolConfigurationInfo: { MaxConnectionsPercent: 90 },
      },
    },
  };
}

function identity({ prefix, prod }) {
  const customerAttribute = `custom:${CUSTOMER_ATTRIBUTE}`;
  return {
    UserPool: {
      Type: 'AWS::Cognito::UserPool',
      Properties: {
        UserPoolName: `${prefix}-customers`,
        UsernameAttributes: ['email'],
        AutoVerifiedAttributes: ['email'],
        // A new email takes effect once its code is entered: the user signs in with, and is found by, a
        // verified address only (an unverified change would squat someone else's address).
        UserAttributeUpdateSettings: { AttributesRequireVerificationBeforeUpdate: ['email'] },
        AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] },
        Policies: { PasswordPolicy: { MinimumLength: 12, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true } },
        Schema: [
          { Name: 'name', AttributeDataType: 'String', Mutable: true, Required: false },
          // Written by the post-confirmation trigger through the admin API only (the client may not write it).
          {
            Name: CUSTOMER_ATTRIBUTE,
            AttributeDataType: 'String',
            Mutable: true,
            StringAttributeConstraints: { MinLength: '1', MaxLength: '20' },
          },
        ],
        // By its name rather than Fn::GetAtt: the trigger's environment (AUTH_*) and role name this pool, so
        // the pool naming the function resource would make the two depend on each other.
        LambdaConfig: {
          PostConfirmation: {
            'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${prefix}-confirmCustomer`,
          },
        },
        DeletionProtection: prod ? 'ACTIVE' : 'INACTIVE',
      },
    },
    UserPoolClient: {
      Type: 'AWS::Cognito::UserPoolClient',
      Properties: {
        ClientName: `${prefix}-shop`,
        UserPoolId: { Ref: 'UserPool' },
        GenerateSecret: false,
        // USER_PASSWORD_AUTH for the CLI recipe in docs/deploy.md; SRP for browsers.
        ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
        PreventUserExistenceErrors: 'ENABLED',
        ReadAttributes: ['email', 'email_verified', 'name', customerAttribute],
        // The customer id is not here: a user who could write it could act as any customer. Nor the email: a
        // customer is found by it (confirmCustomer), so a user who changed theirs would free the old address,
        // and whoever signed up with it next would be handed the old customer. An operator changes an email
        // (admin API) together with the customers row.
        WriteAttributes: ['name'],
        IdTokenValidity: 60,
        AccessTokenValidity: 60,
        RefreshTokenValidity: 30,
        TokenValidityUnits: { IdToken: 'minutes', AccessToken: 'minutes', RefreshToken: 'days' },
      },
    },
    ConfirmCustomerPermission: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': ['ConfirmCustomerLambdaFunction', 'Arn'] },
        Principal: 'cognito-idp.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': ['UserPool', 'Arn'] },
      },
    },
    // The trigger's own role: its log group, its network interfaces, and one admin call on this pool.
    ConfirmCustomerRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
        },
        Policies: [
          {
            PolicyName: `${prefix}-confirm-customer`,
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                  Resource: [
                    {
                      'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${prefix}-confirmCustomer:*`,
                    },
                  ],
                },
                { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
                VPC_ACCESS,
                { Effect: 'Allow', Action: ['cognito-idp:AdminUpdateUserAttributes'], Resource: [{ 'Fn::GetAtt': ['UserPool', 'Arn'] }] },
              ],
            },
          },
        ],
      },
    },
  };
}

/**
 * Changes when a file of sql/ is added or edited: that is what makes CloudFormation send the migrate function an
 * Update. The same as shared/db/migrate.ts migrationsHash, which the function compares it with (a rollback names
 * the previous deploy's); tests/deploy/migrate-handler.test.ts keeps the two equal.
 */
function migrationsHash() {
  const dir = join(__dirname, '..', 'sql');
  const hash = createHash('sha256');
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith('.sql'))
    .sort())
    hash.update(file).update(readFileSync(join(dir, file)));
  return hash.digest('hex');
}

/**
 * The migrations, applied during the deploy from inside the VPC: CloudFormation invokes the migrate function
 * (functions/migrate.ts) once the proxy has its target and the private subnets their way out (the answer goes
 * to an S3 URL), and a FAILED answer fails and rolls back the deploy. The HTTP API's stage waits for it
 * (infra/fresh-account-plugin.cjs). ServiceTimeout: CloudFormation gives up after 10 minutes, not 1 hour.
 */
const migrations = () => ({
  Migrations: {
    Type: 'Custom::Migrations',
    // The path it connects over: the proxy's target, the NAT route for its answer to CloudFormation, and the
    // security group rules (separate resources, which nothing else orders before it).
    DependsOn: [
      'DatabaseProxyTarget',
      'PrivateDefaultRoute',
      'PrivateSubnetARoutes',
      'PrivateSubnetBRoutes',
      'FunctionsToProxy',
      'ProxyFromFunctions',
      'ProxyToDatabase',
      'DatabaseFromProxy',
    ],
    Properties: {
      ServiceToken: { 'Fn::GetAtt': ['MigrateLambdaFunction', 'Arn'] },
      ServiceTimeout: 600,
      MigrationsHash: migrationsHash(),
    },
  },
});

/**
 * What Lambda needs to put a function in a VPC (the managed AWSLambdaVPCAccessExecutionRole, without its
 * logs:* on every group). EC2 takes no resource-level permission for these: "*" is the only resource.
 */
const VPC_ACCESS = {
  Effect: 'Allow',
  Action: [
    'ec2:CreateNetworkInterface',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeSubnets',
    'ec2:DeleteNetworkInterface',
    'ec2:AssignPrivateIpAddresses',
    'ec2:UnassignPrivateIpAddresses',
  ],
  Resource: '*',
};

const outputs = (prefix) => ({
  UserPoolId: { Description: 'Cognito user pool of the shop’s customers', Value: { Ref: 'UserPool' } },
  UserPoolClientId: { Description: 'App client id (the tokens’ audience)', Value: { Ref: 'UserPoolClient' } },
  DatabaseProxyEndpoint: {
    Description: 'RDS Proxy endpoint (the functions’ DATABASE_URL host)',
    Value: { 'Fn::GetAtt': ['DatabaseProxy', 'Endpoint'] },
  },
  DatabaseClusterId: { Description: `Aurora cluster of ${prefix}`, Value: { Ref: 'DatabaseCluster' } },
  NatPublicIp: { Description: 'The functions’ public address: allow it in MongoDB Atlas', Value: { Ref: 'NatAddress' } },
});

const issuer = 'https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}';

/** provider.vpc of the created shape (set by infra/fresh-account-plugin.cjs): every function in the private subnets. */
const FUNCTIONS_VPC = {
  securityGroupIds: [{ Ref: 'FunctionsSecurityGroup' }],
  subnetIds: [{ Ref: 'PrivateSubnetA' }, { Ref: 'PrivateSubnetB' }],
};

module.exports = {
  migrationsHash,
  VPC_ACCESS,
  FUNCTIONS_VPC,
  CUSTOMER_ATTRIBUTE,
  infrastructure: async ({ resolveVariable }) => (await settings(resolveVariable)).create,

  /** The resources and outputs (serverless.yml `resources`); none for bring-your-own. */
  resources: async ({ resolveVariable }) => {
    const s = await settings(resolveVariable);
    if (!s.create) return { Resources: {} };
    return { Resources: { ...network(s.prefix), ...database(s), ...migrations(), ...identity(s) }, Outputs: outputs(s.prefix) };
  },

  /**
   * params.default.databaseUrl. osls resolves params.default eagerly, so a plain `${env:…, ssm:…}` there would
   * read an SSM parameter a fresh account does not have; here it is read only for bring-your-own.
   */
  bringYourOwnDatabaseUrl: async ({ resolveVariable }) => {
    const s = await settings(resolveVariable);
    return s.create ? '' : resolveVariable(`env:DATABASE_URL, ssm:/${s.service}/${s.stage}/database-url`);
  },

  // The functions' environment. Created: wired to what this template creates. Bring your own: the stage params.
  // verify-full: the proxy's certificate (from ACM, under a root Node already trusts) and its name are checked;
  // postgres.js reads `require` as "encrypt, but accept any certificate", which a man in the middle can present.
  databaseUrl: async ({ resolveVariable }) =>
    (await settings(resolveVariable)).create
      ? {
          'Fn::Sub': `postgres://${secretField('username')}:${secretField('password')}@\${DatabaseProxy.Endpoint}:${DB_PORT}/${DB_NAME}?sslmode=verify-full`,
        }
      : resolveVariable('param:databaseUrl'),
  // RDS Proxy is a transaction-level pooler for our purposes: no named prepared statements.
  databasePrepare: async ({ resolveVariable }) =>
    (await settings(resolveVariable)).create ? 'false' : resolveVariable('param:databasePrepare'),
  authJwksUrl: async ({ resolveVariable }) =>
    (await settings(resolveVariable)).create ? { 'Fn::Sub': `${issuer}/.well-known/jwks.json` } : resolveVariable('param:authJwksUrl'),
  authIssuer: async ({ resolveVariable }) =>
    (await settings(resolveVariable)).create ? { 'Fn::Sub': issuer } : resolveVariable('param:authIssuer'),
  authAudience: async ({ resolveVariable }) =>
    (await settings(resolveVariable)).create ? { Ref: 'UserPoolClient' } : resolveVariable('param:authAudience'),
  // runBenchmarks needs a session of its own, which the proxy does not give, and the database admits only the
  // proxy: scheduled here without BENCHMARK_DATABASE_URL, every run would fail, land in the dead-letter queue
  // and raise its alarm. Bring your own: the stage's choice.
  benchmarkScheduleEnabled: async ({ resolveVariable }) => {
    const s = await settings(resolveVariable);
    const enabled = await resolveVariable('param:benchmarkScheduleEnabled');
    if (!s.create) return enabled;
    return Boolean(String((await resolveVariable('param:benchmarkDatabaseUrl')) ?? '').trim()) && enabled;
  },
  authCustomerClaim: async ({ resolveVariable }) =>
    (await settings(resolveVariable)).create ? `custom:${CUSTOMER_ATTRIBUTE}` : resolveVariable('param:authCustomerClaim'),
};
