// A local osls plugin (serverless.yml `plugins`) for the `infrastructure: create` shape (infra/fresh-account.cjs):
// puts the functions in the VPC, adds the two functions that exist only there, and the two things a resources file cannot say about the
// resources osls generates. A plugin because a variable cannot resolve to "no function".
const { FUNCTIONS_VPC, VPC_ACCESS } = require('./fresh-account.cjs');
const { functionAlarms } = require('./observability.cjs');

module.exports = class FreshAccount {
  constructor(serverless) {
    const service = serverless.service;
    const created = () => service.custom?.infrastructure === true;
    this.hooks = {
      // After the variables are resolved (service.custom.infrastructure is the stage's choice), before packaging.
      initialize: () => {
        if (!created()) return;
        const prefix = `${service.service}-${serverless.getProvider('aws').getStage()}`;
        // Here rather than in serverless.yml: its schema wants subnets whenever `vpc` is there at all.
        service.provider.vpc = FUNCTIONS_VPC;
        service.functions.migrate = {
          name: `${prefix}-migrate`,
          handler: 'functions/migrate.handler',
          description:
            'Applies the pending migrations of sql/ from inside the VPC; invoked by the deploy (the Migrations custom resource).',
          // The deploy waits for it; the migrations take seconds, the rest is room for a slow first connection.
          timeout: 300,
          // The migration files, next to the bundle (postgres-shift reads a folder).
          package: { patterns: ['sql/*.sql'] },
          environment: { ...service.custom.secrets.postgres },
          events: [],
        };
        service.functions.confirmCustomer = {
          name: `${prefix}-confirmCustomer`,
          handler: 'functions/confirmCustomer.handler',
          description: 'Cognito post-confirmation: creates the customers row and records its id on the user.',
          // Cognito waits 5 s for a trigger.
          timeout: 5,
          role: 'ConfirmCustomerRole',
          environment: { ...service.custom.secrets.postgres },
          events: [],
        };
      },
      // After serverless.yml's resources are merged into the template, before it is saved.
      'before:aws:package:finalize:saveServiceState': () => {
        if (!created()) return;
        const resources = service.provider.compiledCloudFormationTemplate.Resources;
        // infra/observability.cjs made every function's alarms from serverless.yml's functions, before these
        // two were added: theirs are added here, so that a failing sign-up trigger does not fail silently.
        const prefix = `${service.service}-${serverless.getProvider('aws').getStage()}`;
        for (const name of ['migrate', 'confirmCustomer']) {
          Object.assign(resources, functionAlarms(prefix, name, service.functions[name].timeout ?? service.provider.timeout));
        }
        // Lambda checks at creation that a function's role may manage its network interfaces.
        resources.LambdaExecutionRole.Properties.Policies[0].PolicyDocument.Statement.push(VPC_ACCESS);
        // No route answers before the schema exists, and on an update no function gets its new code (nor a
        // schedule its first run) before the migrations that code needs: CloudFormation updates everything
        // else in parallel. Not the function that runs them, nor the Cognito trigger, which the user pool
        // needs, which the functions' settings name (a cycle); it writes only the first migration's table.
        const waitForMigrations = (resource) => {
          resource.DependsOn = [...[resource.DependsOn ?? []].flat(), 'Migrations'];
        };
        waitForMigrations(resources.HttpApiStage);
        for (const [id, resource] of Object.entries(resources)) {
          if (resource.Type !== 'AWS::Lambda::Function') continue;
          if (id === 'MigrateLambdaFunction' || id === 'ConfirmCustomerLambdaFunction') continue;
          waitForMigrations(resource);
        }
      },
    };
  }
};
