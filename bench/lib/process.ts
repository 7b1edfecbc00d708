/**
 * Child processes of the suite: one helper for every program a bench runs (a bench in a fresh Node
 * process, pgbench, a fresh `node` importing a bundle), so output, exit codes and interruption are handled once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/env.js';
import type { SuiteContext } from './context.js';
import type { BenchOutput } from './result.js';

/** The processes running now, so an interrupted suite can stop them. */
export const running = new Set<ChildProcess>();

export function runProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; onLine?: (line: string) => void } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const out = { stdout: '', stderr: '' };
    let pending = '';
    const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      out[stream] += chunk.toString();
      if (!options.onLine) return;
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onLine(line.replace(/\r/g, ''));
    };
    child.stdout.on('data', collect('stdout'));
    child.stderr.on('data', collect('stderr'));
    child.on('close', (code) => {
      running.delete(child);
      if (pending) options.onLine?.(pending);
      resolve({ code, ...out });
    });
  });
}

/**
 * Runs `<module>:<export>(ctx, arg)` of bench/ in a fresh Node process (bench/lib/child.ts): fresh module
 * singletons (configuration, pools), its own environment, and a crash or a leaked handle cannot take the
 * suite down. Its output is streamed to `log`; its BenchOutput comes back through a file.
 */
export async function runChild<T = BenchOutput>(target: string, ctx: SuiteContext, log: (line: string) => void, arg?: string): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `bench-${target.replace(/\W/g, '-')}-`));
  const [contextFile, outputFile] = [path.join(dir, 'context.json'), path.join(dir, 'output.json')];
  writeFileSync(contextFile, JSON.stringify(ctx));
  try {
    const args = ['--import', 'tsx', path.join(ROOT, 'bench/lib/child.ts'), target, contextFile, outputFile, ...(arg ? [arg] : [])];
    // Benchmarks measure; the handlers' access logs would be part of what they measure.
    const env = { ...process.env, FORCE_COLOR: '0', LOG_LEVEL: 'ERROR' };
    const { code } = await runProcess(process.execPath, args, { env, onLine: log });
    const output = existsSync(outputFile) ? (JSON.parse(readFileSync(outputFile, 'utf8')) as T & { error?: string }) : undefined;
    if (code !== 0 || !output || output.error) throw new Error(output?.error ?? `exited with code ${code}`);
    return output;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
