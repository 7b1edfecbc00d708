import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type Availability, ensureChromium, ensurePgbouncer } from '../../scripts/lib/prerequisites.js';
import { assertPortsFree, type Offline, startOffline } from '../../scripts/lib/sls.js';
import { ServiceError, servicesDown, servicesUp } from '../../scripts/services.js';
import { migrate } from '../../shared/db/migrate.js';
import { dropTestDatabases } from '../db/helpers.js';
import { type Need, PROJECT_NEEDS, TIERS } from './projects.js';
import { OFFLINE_LOG, testEnv } from './test-env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    offlineHttpUrl: string;
    offlineLambdaEndpoint: string;
    /** Tools a project needs beyond the stores: whether this machine has them, and if not, what to install. */
    prerequisites: Record<string, Availability>;
  }
}

/**
 * Once per `vitest run`, for the projects that have selected files (vitest runs no global setup for the
 * others): start what they need and nothing more. Every project's setup runs before any test, in the main
 * process, so what one project started is shared with the next through this run's state.
 */
interface RunState {
  users: number;
  startedServices: Awaited<ReturnType<typeof servicesUp>>;
  stores?: Promise<void>;
  offline?: Promise<Offline>;
  prerequisites: Record<string, Availability>;
}

const state: RunState = ((globalThis as { __ecommerceTestRun?: RunState }).__ecommerceTestRun ??= {
  users: 0,
  startedServices: [],
  prerequisites: {},
});

const log = (line: string) => console.log(`[setup] ${line}`);

async function bringUpStores(): Promise<void> {
  const env = testEnv();
  state.startedServices = await servicesUp({ log, user: 'npm test' });
  // Another test run holds these ports: stop here, before dropping the database it is using.
  await assertPortsFree([Number(env.OFFLINE_HTTP_PORT), Number(env.OFFLINE_LAMBDA_PORT)]);
  await dropTestDatabases(env.DATABASE_URL!);
  await migrate(env.DATABASE_URL!);
}

async function bringUpOffline(): Promise<Offline> {
  const env = testEnv();
  // Its functions log WARN and up (tests run SILENT in process) into a file that tests/helpers/http.ts
  // quotes when an answer is a 5xx, so a failure through serverless-offline says what the function saw.
  mkdirSync(dirname(OFFLINE_LOG), { recursive: true });
  writeFileSync(OFFLINE_LOG, '');
  log('starting serverless-offline for the end-to-end tests');
  return startOffline(
    // A cache call over 150 ms answers BYPASS, correctly, and a shared 2-core CI box makes some: the e2e tests
    // check what is served and cached, the 150 ms bound itself is tested in process (tests/products/degradation.test.ts).
    { ...env, LOG_LEVEL: 'WARN', CACHE_TIMEOUT_MS: '1000' },
    {
      httpPort: Number(env.OFFLINE_HTTP_PORT),
      lambdaPort: Number(env.OFFLINE_LAMBDA_PORT),
      onOutput: (chunk) => appendFileSync(OFFLINE_LOG, chunk),
    },
  );
}

const PREREQUISITES: Partial<Record<Need, () => Availability>> = {
  pgbouncer: () => ensurePgbouncer(log),
  chromium: () => ensureChromium(log),
};

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  state.users++;
  const needs = PROJECT_NEEDS[project.name] ?? [];
  for (const need of needs) {
    const check = PREREQUISITES[need];
    if (check && !state.prerequisites[need]) {
      state.prerequisites[need] = check();
      if (!state.prerequisites[need].available) {
        log(`cannot run the "${project.name}" tests on this machine: ${state.prerequisites[need].detail}`);
      }
    }
  }
  if (needs.includes('stores')) {
    try {
      await (state.stores ??= bringUpStores());
    } catch (error) {
      // One readable line instead of a stack: which tests cannot run, and what would let them.
      const tiers = TIERS.filter((tier) => tier.needs.includes('stores')).map((tier) => tier.name);
      const reason = error instanceof ServiceError ? error.message : String(error);
      throw new Error(`cannot run the ${tiers.join(', ')} tests (npm run test:unit needs nothing): ${reason}`);
    }
  }
  project.provide('prerequisites', state.prerequisites);
  if (needs.includes('offline')) {
    const offline = await (state.offline ??= bringUpOffline());
    project.provide('offlineHttpUrl', offline.httpUrl);
    project.provide('offlineLambdaEndpoint', offline.lambdaEndpoint);
  }
  return async () => {
    if (--state.users > 0) return;
    await (await state.offline)?.stop();
    // Leave services running between local runs (the next starts in seconds) unless this run started them in CI.
    if (state.startedServices.length === 0) return;
    if (process.env.CI) await servicesDown(state.startedServices, () => {});
    else
      console.info(
        `[setup] left running for the next run: ${state.startedServices.map(({ name, port, by }) => `${name} on ${port} (${by})`).join(', ')}; npm run services:down stops them`,
      );
  };
}
