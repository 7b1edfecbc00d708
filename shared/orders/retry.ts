import { failedBeforeSending } from '../clients/errors.js';

/**
 * Retry policy for transient transaction failures. Retried:
 * - SQLSTATEs that mean "the database aborted this transaction to keep things consistent, the same work
 *   would succeed now": 40P01 deadlock_detected, 40001 serialization_failure;
 * - once, a connection that failed before the statement was sent (refused, timed out while connecting,
 *   refused at start-up: the first request after a database restart or failover), on a fresh connection.
 * A caller with a deadline (mayRetry) starts no retry that could outlast it.
 * Never a failure after the statement was sent (reset, closed): it may have committed.
 * The order statement is a single autocommit statement, so a retry re-runs the whole transaction and
 * can never apply half an order. Backoff: exponential with full jitter, bounded in attempts and delay.
 */
export const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set(['40P01', '40001']);

export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  /** Upper bound of the first retry's delay; doubles per retry. */
  baseDelayMs: number;
  /** Upper bound of any single delay. */
  maxDelayMs: number;
}

/** 5 attempts; waits ≤ 5, 10, 20, 40 ms (≤ 75 ms in all) — lock waits here last milliseconds, not seconds. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 100 };

export function isRetryable(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
}

/** Connection failures before sending are retried at most this many times (a second failure is an outage). */
export const MAX_NOT_SENT_RETRIES = 1;

/** Full-jitter delay before retry number `retry` (1-based): uniform in [0, min(max, base·2^(retry−1))]. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * (ceiling + 1));
}

export interface RetryHooks {
  onRetry?: (info: { attempt: number; delayMs: number; code: string }) => void;
  /**
   * Whether another attempt may start after `delayMs`: `connect` when it needs a new connection (the last one
   * failed before sending), else it only runs the statement again. False gives up with the last error.
   */
  mayRetry?: (needs: 'connect' | 'statement', delayMs: number) => boolean;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `fn`, retrying retryable SQLSTATEs per `policy`; the last error (or any other error) is rethrown. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  hooks: RetryHooks = {},
): Promise<T> {
  const sleep = hooks.sleep ?? defaultSleep;
  let notSentRetries = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (
        failedBeforeSending(error) &&
        notSentRetries < MAX_NOT_SENT_RETRIES &&
        attempt < policy.maxAttempts &&
        (hooks.mayRetry?.('connect', 0) ?? true)
      ) {
        notSentRetries++;
        hooks.onRetry?.({ attempt, delayMs: 0, code: String((error as { code?: unknown }).code) });
        continue;
      }
      if (!isRetryable(error) || attempt >= policy.maxAttempts) throw error;
      const delayMs = backoffDelay(attempt, policy, hooks.random);
      if (!(hooks.mayRetry?.('statement', delayMs) ?? true)) throw error;
      hooks.onRetry?.({ attempt, delayMs, code: (error as { code: string }).code });
      await sleep(delayMs);
    }
  }
}
