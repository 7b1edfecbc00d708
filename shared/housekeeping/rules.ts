/** Rows of one kind deleted per statement by the hourly purge: a short statement that holds few locks. */
export const PURGE_BATCH_SIZE = 500;

/** purgeBatchStallMs at the default statement timeout and below. */
export const PURGE_BATCH_STALL_MIN_MS = 15_000;

/**
 * A purge batch not answered in this long is given up on: its connection stopped answering (no statement
 * timeout bounds that), and the other store still gets its turn. Past a batch's own bounds (a cart batch's
 * server selection and socket timeouts, 2 s + 4 s by default; a key batch's statement timeout, 5 s by default,
 * with 5 s to spare), and within the purge's finishing margin (20 s: functions/purgeExpired.ts).
 */
export function purgeBatchStallMs(statementTimeoutMs: number): number {
  return Math.max(PURGE_BATCH_STALL_MIN_MS, statementTimeoutMs + 5_000);
}
