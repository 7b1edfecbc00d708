import { defineConfig } from 'vitest/config';
import { TIERS } from './tests/setup/projects.js';
import { testEnv } from './tests/setup/test-env.js';
import { vitePlugin as webConsole } from './web/build.js';

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

/**
 * `import x from '…' with { type: 'text' }` (a file's text, as esbuild bundles it for Lambda) in the tests
 * too: Vite knows the same thing as the `?raw` suffix.
 */
const textImports = {
  name: 'text-imports',
  enforce: 'pre' as const,
  transform(code: string, id: string) {
    if (id.includes('/node_modules/') || !code.includes("type: 'text'")) return undefined;
    return code.replace(/(from\s+'[^']+)'\s+with\s+\{\s*type:\s*'text'\s*\}/g, "$1?raw'");
  },
};

export default defineConfig({
  // `web-console:assets`: the console built as the functions' bundles get it (web/build.ts).
  plugins: [textImports, webConsole()],
  test: {
    env: testEnv(),
    // Style sheets are real files here (the API reference serves one), not stubbed out as vitest does by default.
    css: { include: [/\.css/] },
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
        // A page fills in as its requests answer, each through serverless-offline on a busy machine: seconds,
        // not expect.poll's default of one.
        ...(tier.name === 'browser' ? { expect: { poll: { timeout: 15_000 } } } : {}),
      },
    })),
  },
});
