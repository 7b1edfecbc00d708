/** Rows of one kind deleted per statement by the hourly purge: a short statement that holds few locks. */
export const PURGE_BATCH_SIZE = 500;
