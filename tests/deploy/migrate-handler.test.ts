import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';

// Nothing listens there: running the migrations fails at once, so an answer shows whether they ran.
process.env.DATABASE_URL = 'postgres://postgres@127.0.0.1:1/shop';
const { handler } = await import('../../functions/migrate.js');
const { MIGRATIONS_DIR, migrationsHash } = await import('../../shared/db/migrate.js');
const infra = createRequire(import.meta.url)('../../infra/fresh-account.cjs') as { migrationsHash: () => string };

const context = { getRemainingTimeInMillis: () => 300_000 } as Context;

/** Invokes the migrate function as CloudFormation does and returns what it PUT on the response URL. */
async function answerTo(requestType: 'Create' | 'Update', migrationsHashProperty: string): Promise<any> {
  let body = '';
  const server = createServer((request, response) => {
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => response.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await handler(
      {
        RequestType: requestType,
        ResponseURL: `http://127.0.0.1:${port}/presigned`,
        StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/ecommerce-pipeline-dev/1',
        RequestId: 'request-1',
        LogicalResourceId: 'Migrations',
        PhysicalResourceId: 'migrations',
        ResourceProperties: { ServiceToken: 'arn', MigrationsHash: migrationsHashProperty },
      },
      context,
    );
  } finally {
    server.close();
  }
  return JSON.parse(body);
}

describe('the migrate function as the Migrations custom resource', () => {
  it('hashes the migrations as the template does (the property CloudFormation sends is the deploy’s hash)', () => {
    expect(migrationsHash(MIGRATIONS_DIR)).toBe(infra.migrationsHash());
  });

  it('an Update naming the migrations this code carries runs them (here FAILED: the database is not there)', async () => {
    const answer = await answerTo('Update', migrationsHash(MIGRATIONS_DIR));
    expect(answer).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('an Update naming other migrations — a rollback to the previous deploy — succeeds without touching the database', async () => {
    // Migrations only go forward: there is nothing to undo, and failing here would leave the stack in
    // UPDATE_ROLLBACK_FAILED whenever the deploy failed because of the migrations themselves.
    const answer = await answerTo('Update', 'the-previous-deploys-hash');
    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'migrations', Data: { Applied: 0 } });
  });
});
