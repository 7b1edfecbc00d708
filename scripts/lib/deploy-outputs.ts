/**
 * What `npm run deploy` and `npm run remove` tell you at the end, from the stack's outputs
 * (infra/fresh-account.cjs adds the user pool, its client and the NAT address to osls' HttpApiUrl).
 */
export type StackOutputs = Record<string, string>;

interface Where {
  stage: string;
  region: string;
}

/** The API, and with `infrastructure: create` the user pool and a recipe from sign-up to a first order. */
export function formatDeployOutputs(outputs: StackOutputs, { stage, region }: Where): string {
  const api = outputs.HttpApiUrl ?? '<the HttpApiUrl output>';
  const lines = [`API:            ${api}`];
  if (!outputs.UserPoolId) return lines.join('\n');
  const pool = outputs.UserPoolId;
  const client = outputs.UserPoolClientId ?? '<the UserPoolClientId output>';
  lines.push(
    `User pool:      ${pool}`,
    `App client:     ${client}`,
    `NAT address:    ${outputs.NatPublicIp ?? '?'} (allow it in MongoDB Atlas → Network Access)`,
    '',
    'A first order (AWS CLI v2; the confirmation code comes by email):',
    '',
    `  npm run invoke -- migrate '{"sampleCatalog":true}' --stage ${stage} --region ${region}   # 3 products in an empty catalog`,
    `  export API=${api} CLIENT=${client} EMAIL=you@example.com PASSWORD='Choose-a-l0ng-passphrase'`,
    `  aws cognito-idp sign-up --region ${region} --client-id "$CLIENT" --username "$EMAIL" --password "$PASSWORD" --user-attributes Name=name,Value='First Customer'`,
    `  aws cognito-idp confirm-sign-up --region ${region} --client-id "$CLIENT" --username "$EMAIL" --confirmation-code <the code>`,
    `  TOKEN=$(aws cognito-idp initiate-auth --region ${region} --client-id "$CLIENT" --auth-flow USER_PASSWORD_AUTH \\`,
    `          --auth-parameters USERNAME="$EMAIL",PASSWORD="$PASSWORD" --query AuthenticationResult.IdToken --output text)`,
    `  CUSTOMER=$(aws cognito-idp admin-get-user --region ${region} --user-pool-id ${pool} --username "$EMAIL" \\`,
    `          --query "UserAttributes[?Name=='custom:customer_id'].Value" --output text)`,
    `  curl -s "$API/products?limit=3"`,
    `  curl -s -X POST "$API/orders" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
    `       -d "{\\"customerId\\": $CUSTOMER, \\"items\\": [{\\"productId\\": 1, \\"quantity\\": 1}]}"`,
  );
  return lines.join('\n');
}

/** What a removal leaves behind, by shape and stage (prod's cluster ends in a snapshot: DeletionPolicy Snapshot). */
export function formatKept(outputs: StackOutputs, { stage, region }: Where): string {
  const kept = [`the SSM parameters /ecommerce-pipeline/${stage}/* (yours: aws ssm delete-parameters … to drop them)`];
  if (outputs.DatabaseClusterId && stage === 'prod') {
    kept.push(
      `the final snapshot of ${outputs.DatabaseClusterId} (aws rds describe-db-cluster-snapshots --region ${region} --db-cluster-identifier ${outputs.DatabaseClusterId}; it costs storage until you delete it)`,
    );
  }
  if (!outputs.DatabaseClusterId) kept.push('your PostgreSQL, Redis, MongoDB and identity provider (bring-your-own: not this stack’s)');
  else kept.push('your Upstash Redis and MongoDB Atlas (external)');
  return `Kept:\n  - ${kept.join('\n  - ')}`;
}

/**
 * prod's Aurora cluster and user pool refuse deletion while their protection is on (infra/fresh-account.cjs):
 * the commands that lift it, for whoever really means to remove prod.
 */
export function protectionCommands(outputs: StackOutputs, region: string): string[] {
  if (!outputs.DatabaseClusterId) return [];
  return [
    `aws rds modify-db-cluster --region ${region} --db-cluster-identifier ${outputs.DatabaseClusterId} --no-deletion-protection --apply-immediately`,
    // update-user-pool resets what it is not given; the pool is about to be deleted, so that does not matter.
    `aws cognito-idp update-user-pool --region ${region} --user-pool-id ${outputs.UserPoolId} --deletion-protection INACTIVE`,
  ];
}
