import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { OFFLINE_LOG } from '../setup/test-env.js';
import { DEFAULT_AUTHORIZATION } from './auth.js';

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * Calls the serverless-offline started by the global setup and parses the JSON answer. Sends an admin
 * token unless `authorization` says otherwise (a header value, or null for no Authorization header).
 */
export async function api<T = any>(
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; headers?: Record<string, string>; authorization?: string | null } = {},
): Promise<JsonResponse<T>> {
  const hasBody = options.body !== undefined || options.rawBody !== undefined;
  const authorization = options.authorization === undefined ? DEFAULT_AUTHORIZATION : options.authorization;
  const response = await fetch(`${inject('offlineHttpUrl')}${path}`, {
    method,
    headers: {
      ...(hasBody ? { 'Content-Type': 'application/json' } : {}),
      ...(authorization === null ? {} : { Authorization: authorization }),
      ...options.headers,
    },
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  if (response.status >= 500) reportOfflineLog(`${method} ${path} → ${response.status} ${text.slice(0, 300)}`);
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/**
 * A 5xx through serverless-offline: print what its functions logged last (the error and its cause), so
 * a failure in CI explains itself. Fault tests expect 503s; the few lines they add are harmless.
 */
function reportOfflineLog(what: string): void {
  let tail = '';
  try {
    tail = readFileSync(OFFLINE_LOG, 'utf8').trim().split('\n').slice(-6).join('\n');
  } catch {
    // no log (a test that started its own serverless-offline)
  }
  console.warn(`[offline] ${what}\n${tail}`);
}
