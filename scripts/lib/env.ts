import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs, parseEnv } from 'node:util';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A path typed on a script's command line, as the user meant it: from the folder `npm run` was typed in.
 * npm runs every script from the project root and says where it was called from in INIT_CWD.
 */
export function pathFromCommandLine(value: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), value);
}

/** The variables of an env file in the project root; none when it does not exist. */
export function readEnvFile(name: string): Record<string, string> {
  const path = `${ROOT}${name}`;
  return existsSync(path) ? (parseEnv(readFileSync(path, 'utf8')) as Record<string, string>) : {};
}

/**
 * The local environment: `.env.example` (committed local defaults) overlaid by `.env` (yours, ignored
 * by git), overlaid by the real process environment. Scripts pass this to the processes they start.
 */
export function localEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { ...readEnvFile('.env.example'), ...readEnvFile('.env') };
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return { ...env, ...overrides };
}

/** The same URL with another database name (tests use their own database next to the dev one). */
export function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** The URL without its password, for messages. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Ends a CLI: `message` on stderr, then exit `code` (2: a usage error; 1: a failure). */
export function exit(code: number, message: unknown): never {
  console.error(message);
  process.exit(code);
}

/**
 * parseArgs (strict) for a script's command line: a usage error is one line and the usage, exit 2, not a
 * stack trace; a `help` option, when declared and given, prints the usage.
 */
export function parseCommandLine<const T extends ParseArgsConfig>(usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    const parsed = parseArgs(config);
    if ((parsed.values as { help?: boolean }).help) {
      console.log(usage);
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    const { message } = error as Error;
    exit(2, `error: ${message.charAt(0).toLowerCase()}${message.slice(1)}\n${usage}`);
  }
}
