import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from '../../scripts/lib/env.js';
import type { SuiteContext } from './context.js';
import type { BenchOutput } from './result.js';

/** The benches running now, so an interrupted suite can stop them. */
export const running = new Set<ChildProcess>();

/**
 * Runs `<module>:<export>(ctx, arg)` of bench/ in a fresh Node process (bench/lib/child.ts): fresh module
 * singletons (configuration, pools), its own environment, and a crash or a leaked handle cannot take the
 * suite down. Its output goes to `log` line by line as it comes; what it returns comes back through a file.
 */
export async function runChild<T = BenchOutput>(target: string, ctx: SuiteContext, log: (line: string) => void, arg?: string): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `bench-${target.replace(/\W/g, '-')}-`));
  const [contextFile, outputFile] = [path.join(dir, 'context.json'), path.join(dir, 'output.json')];
  writeFileSync(contextFile, JSON.stringify(ctx));
  try {
    const args = ['--import', 'tsx', path.join(ROOT, 'bench/lib/child.ts'), target, contextFile, outputFile, ...(arg ? [arg] : [])];
    // Benchmarks measure; the handlers' access logs would be part of what they measure.
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', LOG_LEVEL: 'ERROR' } });
    running.add(child);
    for (const input of [child.stdout, child.stderr]) createInterface({ input }).on('line', log);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    running.delete(child);
    const output = existsSync(outputFile) ? (JSON.parse(readFileSync(outputFile, 'utf8')) as T & { error?: string }) : undefined;
    if (code !== 0 || !output || output.error) throw new Error(output?.error ?? `exited with code ${code}`);
    return output;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
