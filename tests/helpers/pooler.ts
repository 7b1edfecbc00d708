import { startPooler, stopPooler } from '../../scripts/lib/pgbouncer.js';

/**
 * A test's own PgBouncer in `dir`, listening on `port`, in front of the server of `databaseUrl`; a leftover
 * of an interrupted run in the same `dir` is stopped first, since it would hold the port.
 */
export async function startTestPooler(databaseUrl: string, pooler: { port: number; dir: string }): Promise<void> {
  const upstream = new URL(databaseUrl);
  await stopPooler(pooler);
  await startPooler({
    upstreamHost: upstream.hostname,
    upstreamPort: Number(upstream.port || 5432),
    users: [upstream.username || 'postgres'],
    listenPort: pooler.port,
    dir: pooler.dir,
  });
}
