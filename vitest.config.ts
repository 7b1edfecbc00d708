import { defineConfig } from 'vitest/config';
import { testEnv } from './tests/setup/test-env.js';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/setup/global-setup.ts'],
    env: testEnv(),
    // Integration tests share one Postgres, Redis and Mongo: run files one at a time (2-core machines).
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
