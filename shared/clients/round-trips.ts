/**
 * Round trips per store, for the performance suite (bench/round-trips.ts). Counting is installed only
 * when COUNT_ROUND_TRIPS=1 at client creation; otherwise no hook exists and nothing is counted, so the
 * warm path pays nothing for it. Counts: Postgres statements sent (postgres.js `debug` hook), Upstash
 * REST requests (one HTTP request each, pipelines and MULTI/EXEC included) and the Redis commands in them
 * (what Upstash bills), MongoDB commands.
 */
export const roundTrips = { postgres: 0, redis: 0, redisCommands: 0, mongo: 0 };

export function countingRoundTrips(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.COUNT_ROUND_TRIPS === '1';
}
