/** Rows of one kind deleted per statement by the hourly purge: a short statement that holds few locks. */
export const PURGE_BATCH_SIZE = 500;

/**
 * A purge batch not answered in this long is given up on: its connection stopped answering (no statement
 * timeout bounds that), and the other store still gets its turn. Well past a batch's own bounds (the
 * statement timeout, 5 s by default; a cart batch's server selection and socket timeouts, 2 s + 4 s).
 */
export const PURGE_BATCH_STALL_MS = 30_000;
