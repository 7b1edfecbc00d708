/**
 * The web console's build: esbuild bundles web/main.tsx (Preact, TSX) and web/console.css into two files
 * named by their content hash, and writes the page that loads them. Nothing is written to disk: the files
 * become the module `web-console:assets`, which the functions serving the console import (functions/
 * getConsole.ts, getConsoleAsset.ts). So the console is built wherever the functions are bundled:
 * - serverless-esbuild (`sls package`, `npm run deploy`, serverless-offline): `esbuildPlugins` below, named by
 *   custom.esbuild.plugins in serverless.yml (osls require()s this file; Node strips its types);
 * - vitest: `vitePlugin`, in vitest.config.ts.
 * Self-contained on purpose (no relative import), so that plain Node can load it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

export const MODULE_ID = 'web-console:assets';
const WEB = dirname(fileURLToPath(import.meta.url));

export interface ConsoleFile {
  body: string;
  type: string;
}

export interface ConsoleAssets {
  /** The page (GET /console): it loads only the files below, from this origin. */
  page: string;
  /** By file name (GET /console/{asset}): content-hashed, so cacheable for ever. */
  files: Record<string, ConsoleFile>;
  /** Every source file the build read (for watchers). */
  inputs: string[];
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export async function buildConsole(): Promise<ConsoleAssets> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(WEB, 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome120', 'firefox120', 'safari17'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    entryNames: 'console-[hash]',
    outdir: '/console',
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const files: Record<string, ConsoleFile> = {};
  for (const output of result.outputFiles) {
    const name = output.path.slice(output.path.lastIndexOf('/') + 1);
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (type) files[name] = { body: output.text, type };
  }
  const script = Object.keys(files).find((name) => name.endsWith('.js'));
  const style = Object.keys(files).find((name) => name.endsWith('.css'));
  if (!script || !style) throw new Error('the console build produced no script or no style sheet');
  // Named in the page, so that browsers do not ask for /favicon.ico (a 404 in the console).
  files['icon.svg'] = { body: readFileSync(join(WEB, 'icon.svg'), 'utf8'), type: 'image/svg+xml' };
  const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="light" />
    <title>ecommerce-pipeline console</title>
    <link rel="icon" href="/console/icon.svg" type="image/svg+xml" />
    <link rel="stylesheet" href="/console/${style}" />
    <script type="module" src="/console/${script}"></script>
  </head>
  <body>
    <div id="app"><p class="state">Loading the console…</p></div>
    <noscript>The console needs JavaScript; the API itself is described at <a href="/docs">/docs</a>.</noscript>
  </body>
</html>
`;
  const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.includes('node_modules'));
  return { page, files, inputs: [...inputs.map((input) => join(process.cwd(), input)), join(WEB, 'icon.svg')] };
}

/** The assets as the source of the `web-console:assets` module. */
export async function consoleModule(): Promise<{ code: string; inputs: string[] }> {
  const { inputs, ...assets } = await buildConsole();
  return { code: `export default ${JSON.stringify(assets)};\n`, inputs };
}

/** For serverless-esbuild: resolves `web-console:assets` to a fresh build of the console. */
export const esbuildPlugin: Plugin = {
  name: 'web-console',
  setup(build) {
    build.onResolve({ filter: /^web-console:assets$/ }, (args) => ({ path: args.path, namespace: 'web-console' }));
    build.onLoad({ filter: /.*/, namespace: 'web-console' }, async () => {
      const { code, inputs } = await consoleModule();
      return { contents: code, loader: 'js', watchFiles: inputs };
    });
  },
};

export default [esbuildPlugin];

/** For vitest (Vite): the same module, built once per test run. */
export function vitePlugin() {
  const resolved = `\0${MODULE_ID}`;
  let module: Promise<{ code: string }> | undefined;
  return {
    name: 'web-console',
    resolveId: (id: string) => (id === MODULE_ID ? resolved : undefined),
    load: (id: string) => (id === resolved ? (module ??= consoleModule()).then(({ code }) => code) : undefined),
  };
}
