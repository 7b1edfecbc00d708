import postgres from 'postgres';
import { type Config, getConfig } from '../config.js';
import { IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS } from '../db/rules.js';
import { discardAfterTimeout } from './abandon.js';
import { countingRoundTrips, roundTrips } from './round-trips.js';

/** The postgres.js client type used across shared/ (int8 parsed to number, see postgresOptions). */
export type Sql = postgres.Sql;

/**
 * postgres.js options for one Lambda container. A container serves one request at a time, so the pool
 * is tiny: Lambda scales by adding containers, and containers x max must stay below max_connections
 * (or go through a pooler: set DATABASE_PREPARE=false for PgBouncer transaction mode / RDS Proxy).
 */
/**
 * postgres.js reads dates and times as ISO text, and queries compare dates as text: a DateStyle set on the role,
 * the database or the server ('SQL, DMY' gives 07/12/2026) would change both. Every client that reads dates
 * sends this at connection.
 */
export const ISO_DATE_STYLE = { DateStyle: 'ISO, MDY' } as const;

export function postgresOptions(
  config: Config['database'],
  applicationName: string,
): postgres.Options<Record<string, postgres.PostgresType>> {
  return {
    max: config.poolMax,
    prepare: config.prepare,
    idle_timeout: config.idleTimeoutSeconds,
    // Also the bound on reconnecting to a server that accepts and hangs up at once (a proxy whose database
    // is not up): postgres.js would retry that forever (patches/postgres+3.4.9.patch).
    connect_timeout: config.connectTimeoutSeconds,
    // Recycle connections now and then so a failover or a pooler restart is picked up.
    max_lifetime: 60 * 30,
    // The wait before reconnecting after connection errors. postgres.js grows it to 20 s, so a container
    // that saw an outage would make its first requests after the server is back wait for seconds; a
    // container has at most `max` connections to reconnect, so a short, jittered wait is enough.
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 0.5) * (0.5 + Math.random() / 2),
    connection: {
      application_name: applicationName,
      ...ISO_DATE_STYLE,
      statement_timeout: config.statementTimeoutMs,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS,
    },
    types: {
      // int8 (bigint ids, counts) as JS numbers: our ids stay far below 2^53, and JSON has no bigint.
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: number | bigint) => value.toString(),
        parse: (value: string) => Number(value),
      },
    },
    onnotice: () => {},
  };
}

/**
 * PostgreSQL type ids for parameters passed as `sql.typed(value, OID.x)` / `sql.array(values, OID.x)`. A
 * statement whose every parameter type is known is sent as Parse + Bind + Execute in one round trip, also
 * without named prepared statements (behind PgBouncer or RDS Proxy); otherwise postgres.js first asks the
 * server for the parameter types, a second round trip (patches/postgres+3.4.9.patch).
 */
export const OID = { bool: 16, bytea: 17, int8: 20, int4: 23, text: 25, int4Array: 1007, numeric: 1700, jsonb: 3802 } as const;

/** An int[] parameter of known type (its text form: postgres.js only learns array types from the server). */
export function intArray(sql: Sql, values: readonly number[]) {
  if (!values.every(Number.isSafeInteger)) throw new TypeError('intArray takes integers only');
  return sql.typed(`{${values.join(',')}}` as never, OID.int4Array);
}

let sql: Sql | undefined;

export function applicationName(config: Config = getConfig()): string {
  return `${config.serviceName}-${config.stage}`;
}

/** The container's pool, created on first use and reused across warm invocations. */
export function getSql(): Sql {
  if (!sql) {
    const config = getConfig();
    const options = postgresOptions(config.database, applicationName(config));
    if (countingRoundTrips()) options.debug = () => void roundTrips.postgres++;
    sql = postgres(config.database.url, options) as unknown as Sql;
    discardAfterTimeout(discardSql);
  }
  return sql;
}

/**
 * Abandons the container's pool after an invocation gave up waiting on it (the HTTP stack's timeout
 * backstop): a connection that stopped answering — frozen, not closed — would otherwise stay in the pool
 * and make every later request in this warm container wait for its own timeout. Its connections are
 * ended without waiting; the next getSql() opens a fresh pool.
 */
export function discardSql(): void {
  const current = sql;
  sql = undefined;
  current?.end({ timeout: 0 }).catch(() => {});
}

/** Closes the container's pool (scripts and tests; Lambda simply freezes the container). */
export async function closeSql(): Promise<void> {
  const current = sql;
  sql = undefined;
  await current?.end({ timeout: 5 });
}
