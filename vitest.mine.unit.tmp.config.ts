import { defineConfig } from 'vitest/config';
import { env } from './vitest.mine.tmp.config.js';
export default defineConfig({ test: { include: ['tests/**/*.test.ts'], env, fileParallelism: false, pool: 'forks', testTimeout: 30_000 } });
