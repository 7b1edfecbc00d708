/**
 * Small Go programs the tests need (tools/<name>: a main package with its own go.mod and go.sum, which pin
 * every dependency), built from the Go module proxy into .cache/bin/<name> once, and again only when their
 * sources change. `go build` verifies every module against go.sum.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ROOT } from './env.js';
import { type Availability, findExecutable, installHint } from './prerequisites.js';

const BIN = `${ROOT}.cache/bin/`;

function sourcesHash(dir: string): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(dir)
    .filter((name) => /\.(go|mod|sum)$/.test(name))
    .sort())
    hash.update(file).update(readFileSync(`${dir}/${file}`));
  return hash.digest('hex');
}

/** Builds tools/<name> unless an up-to-date build exists; the binary's path, or what to install. */
export async function ensureGoTool(name: string, log: (line: string) => void): Promise<Availability> {
  const dir = `${ROOT}tools/${name}`;
  const binary = `${BIN}${name}`;
  const stamp = `${binary}.stamp`;
  const wanted = sourcesHash(dir);
  if (existsSync(binary) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return { available: true, detail: binary };
  const go = findExecutable('go', '/usr/local/go/bin/go');
  if (!go)
    return { available: false, detail: `Go is needed to build tools/${name}: ${installHint('golang-go', 'go')} (or https://go.dev/dl)` };
  mkdirSync(BIN, { recursive: true });
  log(`building tools/${name} with Go from the module proxy (once; output follows)`);
  const started = performance.now();
  const progress = setInterval(() => log(`  still building tools/${name} (${Math.round((performance.now() - started) / 1000)} s)`), 15_000);
  try {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(go, ['build', '-trimpath', '-o', `${binary}.tmp`, '.'], {
        cwd: dir,
        env: {
          ...process.env,
          GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local',
          GOFLAGS: '-mod=readonly -buildvcs=false',
          CGO_ENABLED: '0',
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.once('exit', resolve);
      child.once('error', () => resolve(-1));
    });
    if (code !== 0) return { available: false, detail: `go build of tools/${name} failed (exit ${code}); see the output above` };
  } finally {
    clearInterval(progress);
  }
  renameSync(`${binary}.tmp`, binary);
  writeFileSync(stamp, wanted);
  log(`built tools/${name} in ${Math.round((performance.now() - started) / 1000)} s`);
  return { available: true, detail: binary };
}
