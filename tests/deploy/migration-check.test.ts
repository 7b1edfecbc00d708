import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from '../../scripts/lib/env.js';
import { migrationCheck } from '../../scripts/lib/stages.js';
import { connect, testDatabaseUrl } from '../db/helpers.js';
import type { Template } from './helpers.js';

/**
 * npm run deploy on a stage that brings its own database: that database gets its migrations from
 * `npm run db:migrate`, not from the deploy. A version that needs a migration the database lacks would
 * fail its requests, so the deploy looks first.
 */
const UNMIGRATED = 'shop_test_unmigrated';
const admin = connect(withDatabase(testDatabaseUrl(), 'postgres'));

const stage = (databaseUrl: unknown): Template => ({
  Resources: {
    StaticPage: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: { STAGE: 'prod' } } } },
    Orders: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: { DATABASE_URL: databaseUrl } } } },
  },
});

beforeAll(async () => {
  await admin.unsafe(`drop database if exists ${UNMIGRATED} with (force)`);
  await admin.unsafe(`create database ${UNMIGRATED}`);
});

afterAll(async () => {
  await admin.unsafe(`drop database if exists ${UNMIGRATED} with (force)`);
  await admin.end({ timeout: 5 });
});

describe('npm run deploy: the migrations of a bring-your-own database', () => {
  it('refuses a database without the migrations this version needs, naming them and what to run', async () => {
    const { problems, warnings } = await migrationCheck(stage(withDatabase(testDatabaseUrl(), UNMIGRATED)));
    expect(warnings).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/00001_\w+\.sql, .*00007_place_order\.sql/);
    expect(problems[0]).toMatch(/npm run db:migrate/);
    expect(problems[0]).not.toContain(UNMIGRATED); // no URL (it may hold a password)
  });

  it('lets a migrated database through', async () => {
    expect(await migrationCheck(stage(testDatabaseUrl()))).toEqual({ problems: [], warnings: [] });
  });

  it('warns, without refusing, when the database cannot be reached from here (a private network)', async () => {
    const { problems, warnings } = await migrationCheck(stage('postgres://app:secret@127.0.0.1:1/shop'), { connectTimeoutSeconds: 2 });
    expect(problems).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not check .*ECONNREFUSED.*npm run db:migrate/);
    expect(warnings[0]).not.toContain('secret');
  });

  it('leaves a stage that creates its database alone: the stack applies the migrations itself', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a template string
    const created = stage({ 'Fn::Sub': 'postgres://${DatabaseProxy.Endpoint}:5432/shop' });
    expect(await migrationCheck(created)).toEqual({ problems: [], warnings: [] });
  });
});
