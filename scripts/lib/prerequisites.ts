/**
 * System packages some tests and tools need beyond `npm install` (PgBouncer, and whatever a later tool adds),
 * installed by the project itself so that the README's two commands work on a fresh machine: with apt-get
 * when this process is root or may use sudo without a password, otherwise not at all — then the answer says
 * exactly what to install, and the callers skip what cannot run instead of crashing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';

export interface Availability {
  available: boolean;
  /** Where it is when available; what to install, and how, when not. */
  detail: string;
}

/** Available at `path` when there is one; else not, and `missing` says what to do. */
const availability = (path: string | undefined, missing: string): Availability =>
  path ? { available: true, detail: path } : { available: false, detail: missing };

export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** The first of `candidates` that is on PATH or is an existing file. */
export function findExecutable(...candidates: string[]): string | undefined {
  return candidates.find((candidate) => (candidate.includes('/') ? existsSync(candidate) : commandExists(candidate)));
}

/** How to run a command as root here: directly, through passwordless sudo, or not at all. */
function asRoot(): string[] | undefined {
  if (userInfo().uid === 0) return [];
  return commandExists('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? ['sudo', '-n'] : undefined;
}

/** Runs `command` as root (see asRoot); false when it fails or cannot run. */
function rootRun(command: string[], stdio: 'ignore' | 'inherit', env?: NodeJS.ProcessEnv): boolean {
  const [program, ...args] = [...(asRoot() ?? []), ...command];
  return spawnSync(program!, args, { stdio: ['ignore', stdio, stdio], env }).status === 0;
}

let aptUpdated = false;

/**
 * Installs Debian packages with apt-get, printing apt's progress as it goes. Returns false (having done
 * nothing) when this machine cannot: not Debian/Ubuntu, or neither root nor passwordless sudo.
 */
export function installDebianPackages(packages: string[], log: (line: string) => void): boolean {
  if (!commandExists('apt-get') || !asRoot()) return false;
  const apt = (...args: string[]) => rootRun(['apt-get', ...args], 'inherit', { ...process.env, DEBIAN_FRONTEND: 'noninteractive' });
  log(`installing ${packages.join(', ')} with apt-get (once per machine; apt's progress follows)`);
  if (!aptUpdated) aptUpdated = apt('update', '-q');
  return apt('install', '-y', '-q', '--no-install-recommends', ...packages);
}

/** What to tell someone whose machine cannot install `debianPackage` by itself. */
export function installHint(debianPackage: string, brewPackage = debianPackage): string {
  return `install ${debianPackage} (Debian/Ubuntu: sudo apt-get install ${debianPackage}; macOS: brew install ${brewPackage}), then run again`;
}

/** The pgbouncer binary: on PATH, or where the Debian package puts it (/usr/sbin, not on a user's PATH). */
const pgbouncerBinary = () =>
  findExecutable('pgbouncer', '/usr/sbin/pgbouncer', '/usr/local/sbin/pgbouncer', '/opt/homebrew/bin/pgbouncer');

/**
 * PgBouncer, installed from Debian's package when missing. The package enables a system service on port
 * 6432; the project starts its own instances (scripts/lib/pgbouncer.ts), so that service is stopped again.
 */
export function ensurePgbouncer(log: (line: string) => void): Availability {
  if (!pgbouncerBinary() && installDebianPackages(['pgbouncer'], log)) {
    if (!rootRun(['systemctl', 'disable', '--now', 'pgbouncer'], 'ignore')) rootRun(['service', 'pgbouncer', 'stop'], 'ignore');
  }
  return availability(pgbouncerBinary(), `PgBouncer is missing: ${installHint('pgbouncer')}`);
}

/** Debian's Chromium (`chromium`), or a Chrome/Chromium already on PATH: its absolute path (a browser launcher needs one). */
function chromiumBinary(): string | undefined {
  const found = findExecutable('/usr/bin/chromium', 'chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome');
  if (!found || found.includes('/')) return found;
  return spawnSync('sh', ['-c', `command -v ${found}`], { encoding: 'utf8' }).stdout.trim() || undefined;
}

/**
 * The browser the console's tests drive (playwright-core, which brings none of its own): Debian's
 * `chromium` package, installed like PgBouncer when missing. CHROMIUM_PATH picks another binary.
 */
export function ensureChromium(log: (line: string) => void): Availability {
  const chosen = process.env.CHROMIUM_PATH;
  if (chosen) return availability(existsSync(chosen) ? chosen : undefined, `CHROMIUM_PATH=${chosen} does not exist`);
  if (!chromiumBinary()) installDebianPackages(['chromium'], log);
  return availability(chromiumBinary(), `Chromium is missing: ${installHint('chromium', '--cask chromium')}`);
}
