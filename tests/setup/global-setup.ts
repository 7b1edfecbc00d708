import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TestProject } from 'vitest/node';
import { servicesDown, servicesUp } from '../../scripts/services.js';
import { assertPortsFree, startOffline, type Offline } from '../../scripts/lib/offline.js';
import { migrate } from '../../shared/db/migrate.js';
import { dropTestDatabases } from '../db/helpers.js';
import { OFFLINE_LOG, testEnv } from './test-env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    offlineHttpUrl: string;
    offlineLambdaEndpoint: string;
  }
}

let offline: Offline | undefined;
let startedServices: Awaited<ReturnType<typeof servicesUp>> = [];

/**
 * Once per `npm test`: bring up missing services (or say exactly what is missing), recreate and
 * migrate the test database, and start one serverless-offline for the end-to-end tests.
 */
export async function setup(project: TestProject): Promise<void> {
  const env = testEnv();
  startedServices = await servicesUp({ log: (line) => console.log(`[setup] ${line}`) });
  const ports = { httpPort: Number(env.OFFLINE_HTTP_PORT), lambdaPort: Number(env.OFFLINE_LAMBDA_PORT) };
  // Another test run holds these ports: stop here, before dropping the database it is using.
  await assertPortsFree(ports.httpPort, ports.lambdaPort);
  await dropTestDatabases(env.DATABASE_URL!);
  await migrate(env.DATABASE_URL!);
  // Its functions log WARN and up (tests run SILENT in process) into a file that tests/helpers/http.ts
  // quotes when an answer is a 5xx, so a failure through serverless-offline says what the function saw.
  mkdirSync(dirname(OFFLINE_LOG), { recursive: true });
  writeFileSync(OFFLINE_LOG, '');
  offline = await startOffline({ ...env, LOG_LEVEL: 'WARN' }, { ...ports, onOutput: (chunk) => appendFileSync(OFFLINE_LOG, chunk) });
  project.provide('offlineHttpUrl', offline.httpUrl);
  project.provide('offlineLambdaEndpoint', offline.lambdaEndpoint);
}

export async function teardown(): Promise<void> {
  await offline?.stop();
  // Leave services running between local runs unless this run started them in CI.
  if (process.env.CI && startedServices.length > 0) await servicesDown(startedServices, () => {});
}
