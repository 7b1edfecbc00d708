import { describe, expect, it } from 'vitest';
import { formatDeployOutputs, formatKept, protectionCommands } from '../../scripts/lib/deploy-outputs.js';

const created = {
  HttpApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
  UserPoolId: 'eu-west-1_AbCdEf',
  UserPoolClientId: '1example23456789',
  NatPublicIp: '203.0.113.7',
  DatabaseClusterId: 'ecommerce-pipeline-prod-databasecluster-x1',
};
const where = { stage: 'prod', region: 'eu-west-1' };

describe('what npm run deploy prints at the end', () => {
  it('prints the API, the user pool, the client, the NAT address and a recipe from sign-up to a first order', () => {
    const text = formatDeployOutputs(created, where);
    expect(text).toContain('API:            https://abc123.execute-api.eu-west-1.amazonaws.com');
    expect(text).toContain('User pool:      eu-west-1_AbCdEf');
    expect(text).toContain('App client:     1example23456789');
    expect(text).toContain('203.0.113.7 (allow it in MongoDB Atlas');
    const commands = text.split('\n').filter((line) => line.startsWith('  '));
    expect(commands.map((line) => /^ {2}(\S+ \S+)/.exec(line)?.[1])).toEqual(
      expect.arrayContaining(['npm run', 'aws cognito-idp', 'curl -s']),
    );
    expect(text).toContain(`npm run invoke -- migrate '{"sampleCatalog":true}' --stage prod --region eu-west-1`);
    expect(text).toMatch(/aws cognito-idp sign-up --region eu-west-1 --client-id "\$CLIENT"/);
    expect(text).toMatch(/aws cognito-idp confirm-sign-up/);
    expect(text).toMatch(/--auth-flow USER_PASSWORD_AUTH/);
    expect(text).toMatch(/--query AuthenticationResult\.IdToken/);
    expect(text).toMatch(/admin-get-user --region eu-west-1 --user-pool-id eu-west-1_AbCdEf/);
    expect(text).toMatch(/curl -s -X POST "\$API\/orders" -H "Authorization: Bearer \$TOKEN"/);
  });

  it('prints only the API for a bring-your-own stage', () => {
    expect(formatDeployOutputs({ HttpApiUrl: 'https://x' }, where)).toBe('API:            https://x');
  });
});

describe('what npm run remove says', () => {
  it('names prod’s final snapshot, and the commands that lift its deletion protection', () => {
    expect(formatKept(created, where)).toContain('the final snapshot of ecommerce-pipeline-prod-databasecluster-x1');
    expect(protectionCommands(created, 'eu-west-1')).toEqual([
      'aws rds modify-db-cluster --region eu-west-1 --db-cluster-identifier ecommerce-pipeline-prod-databasecluster-x1 --no-deletion-protection --apply-immediately',
      'aws cognito-idp update-user-pool --region eu-west-1 --user-pool-id eu-west-1_AbCdEf --deletion-protection INACTIVE',
    ]);
  });

  it('keeps no snapshot of a dev stage, and has nothing to lift for bring-your-own', () => {
    expect(formatKept(created, { stage: 'dev', region: 'eu-west-1' })).not.toContain('snapshot');
    expect(formatKept({ HttpApiUrl: 'https://x' }, where)).toContain('bring-your-own');
    expect(protectionCommands({ HttpApiUrl: 'https://x' }, 'eu-west-1')).toEqual([]);
  });
});
