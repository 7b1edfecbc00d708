/**
 * Go programs of tools/<name> (a main package, or a go.mod `tool` line, with its own go.mod and go.sum, which pin every dependency),
 * built from the Go module proxy into .cache/bin/<name> once, and again only when their sources change.
 * `go build` verifies every module against go.sum.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ROOT } from './env.js';
import { type Availability, findExecutable, installHint } from './prerequisites.js';
import { CACHE, run } from './process.js';

const sourcesHash = (dir: string) =>
  readdirSync(dir)
    .filter((name) => /\.(go|mod|sum)$/.test(name))
    .sort()
    .reduce((hash, file) => hash.update(file).update(readFileSync(`${dir}/${file}`)), createHash('sha256'))
    .digest('hex');

/** Builds tools/<name> unless an up-to-date build exists; the binary's path, or what to install. */
export async function ensureGoTool(name: string, log: (line: string) => void): Promise<Availability> {
  const dir = `${ROOT}tools/${name}`;
  const binary = `${CACHE}bin/${name}`;
  const wanted = sourcesHash(dir);
  if (existsSync(binary) && existsSync(`${binary}.stamp`) && readFileSync(`${binary}.stamp`, 'utf8') === wanted)
    return { available: true, detail: binary };
  const go = findExecutable('go', '/usr/local/go/bin/go');
  const needs = readFileSync(`${dir}/go.mod`, 'utf8').match(/^go (\S+)$/m)?.[1];
  if (!go)
    return {
      available: false,
      detail: `Go is needed to build tools/${name} (its go.mod asks for ${needs}; any Go from 1.21 on fetches that version itself from the module proxy): ${installHint('golang-go', 'go')} (or https://go.dev/dl)`,
    };
  mkdirSync(`${CACHE}bin`, { recursive: true });
  // The first build downloads and compiles for minutes: say so, and that it is still going.
  log(`building tools/${name} with Go from the module proxy (once, up to a few minutes; output follows)`);
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 1000);
  const progress = setInterval(() => log(`  still building tools/${name} (${seconds()} s)`), 15_000);
  // Another process may build the same tool at the same time: each writes its own file, renamed at the end.
  const partial = `${binary}.${process.pid}.tmp`;
  // A go.mod `tool` line names the program when the folder has no main package of its own (tools/lambda-rie).
  const target = readFileSync(`${dir}/go.mod`, 'utf8').match(/^tool (\S+)$/m)?.[1] ?? '.';
  const { code } = await run(go, ['build', '-trimpath', '-o', partial, target], {
    cwd: dir,
    // GOTOOLCHAIN left as the user has it (auto by default): a Go older than the go.mod's line downloads that
    // version through the module proxy instead of failing, as the distributions' packaged Go is often older.
    env: { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false', CGO_ENABLED: '0' },
    echo: true,
  }).finally(() => clearInterval(progress));
  if (code !== 0) return { available: false, detail: `go build of tools/${name} failed (exit ${code}); see the output above` };
  renameSync(partial, binary);
  writeFileSync(`${binary}.stamp`, wanted);
  log(`built tools/${name} in ${seconds()} s`);
  return { available: true, detail: binary };
}
