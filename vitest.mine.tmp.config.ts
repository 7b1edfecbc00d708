import { defineConfig } from 'vitest/config';
import { testEnv } from './tests/setup/test-env.js';
import { withDatabase } from './scripts/lib/env.js';
const base = testEnv();
export const env = { ...base, DATABASE_URL: withDatabase(base.DATABASE_URL!, 'shop_test_bench7'), CACHE_NAMESPACE: 'ecommerce-pipeline:test-bench7', MONGODB_DATABASE: 'shop_test_bench7', OFFLINE_HTTP_PORT: '3200', OFFLINE_LAMBDA_PORT: '3202' };
export default defineConfig({ test: { include: ['tests/**/*.test.ts'], env, globalSetup: ['vitest.mine.tmp.setup.ts'], fileParallelism: false, pool: 'forks', testTimeout: 30_000, hookTimeout: 120_000 } });
