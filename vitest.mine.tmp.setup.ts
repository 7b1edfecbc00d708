import type { TestProject } from 'vitest/node';
import { startOffline, type Offline } from './scripts/lib/offline.js';
import { migrate } from './shared/db/migrate.js';
import { env } from './vitest.mine.tmp.config.js';
let offline: Offline | undefined;
export async function setup(project: TestProject) {
  await migrate(env.DATABASE_URL!);
  offline = await startOffline(env, { httpPort: 3200, lambdaPort: 3202 });
  project.provide('offlineHttpUrl', offline.httpUrl);
  project.provide('offlineLambdaEndpoint', offline.lambdaEndpoint);
}
export async function teardown() { await offline?.stop(); }
