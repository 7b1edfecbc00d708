// A local osls plugin (serverless.yml `plugins`): the web console's sign-in on this machine
// (functions/devSignIn.ts: GET /dev/customers, POST /dev/tokens) is added to the service only when the
// command is `offline` (serverless-offline). `sls package`, `deploy` and `print` never see it, so the function
// and its routes are in no zip and no template (tests/deploy/package.test.ts checks the template).
// A plugin rather than a `${file()}` in `functions`: a variable cannot resolve to "no function".
module.exports = class OfflineOnly {
  constructor(serverless) {
    if (serverless.processedInput?.commands?.[0] !== 'offline') return;
    const service = serverless.service;
    service.functions.devSignIn = {
      handler: 'functions/devSignIn.handler',
      description: 'Local only: the web console’s customer picker and its tokens (the development secret).',
      events: [{ httpApi: { method: 'GET', path: '/dev/customers' } }, { httpApi: { method: 'POST', path: '/dev/tokens' } }],
    };
    this.hooks = {
      // It reads the customers table; the secrets are resolved by now (custom.secrets in serverless.yml).
      initialize: () => {
        service.functions.devSignIn.environment = { ...service.custom.secrets.postgres };
      },
    };
  }
};
