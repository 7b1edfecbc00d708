/**
 * node --import tsx bench/lib/child.ts <bench> <context.json> <output.json>
 * Runs one benchmark's exported `run(ctx)` in this (fresh) process and writes its BenchOutput.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { SuiteContext } from './context.js';
import type { BenchOutput } from './result.js';

const [name, contextFile, outputFile] = process.argv.slice(2);
if (!name || !contextFile || !outputFile) {
  console.error('usage: bench/lib/child.ts <bench> <context.json> <output.json>');
  process.exit(2);
}
// Node exits with 13 when the event loop empties while the top-level await below is still pending:
// a promise that can never settle (e.g. a driver that lost a connection without rejecting the query).
process.on('exit', (code) => {
  if (code === 13) console.error(`bench ${name}: its run() never settled (the event loop emptied while it was pending)`);
});

try {
  const ctx = JSON.parse(readFileSync(contextFile, 'utf8')) as SuiteContext;
  const mod = (await import(`../${name}.js`)) as { run: (ctx: SuiteContext) => Promise<BenchOutput> };
  const output = await mod.run(ctx);
  writeFileSync(outputFile, JSON.stringify(output));
  process.exit(0);
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  writeFileSync(outputFile, JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
  process.exit(1);
}
