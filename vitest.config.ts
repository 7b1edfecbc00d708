import { defineConfig } from 'vitest/config';
import { TIERS } from './tests/setup/projects.js';
import { testEnv } from './tests/setup/test-env.js';

const RUNTIME_MAJOR = 24;
if (Number(process.versions.node.split('.')[0]) !== RUNTIME_MAJOR) {
  throw new Error(
    `The tests run on Node ${RUNTIME_MAJOR} (the Lambda runtime), provided by the "node" dev dependency; this is Node ${process.versions.node}. ` +
      'Run them through npm (npm test), which puts node_modules/.bin first on PATH, after npm install.',
  );
}

/** Every more specific tier's files are left out of the broader ones (an e2e file is not also an integration file). */
const others = (name: string) =>
  TIERS.filter((tier) => tier.name !== name && tier.include !== 'tests/**/*.test.ts').map((tier) => tier.include);

export default defineConfig({
  test: {
    env: testEnv(),
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: TIERS.map((tier, order) => ({
      extends: true,
      test: {
        name: tier.name,
        include: [tier.include],
        exclude: tier.include === 'tests/**/*.test.ts' ? others(tier.name) : [],
        // Tiers run one after the other; within a tier that talks to the shared stores, one file at a time.
        sequence: { groupOrder: order },
        ...(tier.needs.length === 0
          ? {}
          : { globalSetup: ['tests/setup/global-setup.ts'], fileParallelism: false, pool: 'forks' as const }),
      },
    })),
  },
});
