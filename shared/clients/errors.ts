import { ServiceUnavailableError } from '../errors.js';

/**
 * The drivers' errors, classified: "the store is down or too slow" (a 503 to the client), "failed before
 * anything was sent" (safe to retry), "duplicate key" (a lost compare-and-set). By their shape (code /
 * name), so this module does not import either driver into every bundle that maps errors.
 */
const POSTGRES_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ECONNABORTED',
  'EADDRNOTAVAIL',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

// SQLSTATEs meaning "not now" rather than "your request is wrong": connection exceptions (class 08),
// admin/crash shutdown, cannot connect now, insufficient resources (53000, 53100 disk full, 53200 out of
// memory, 53300 too many connections; not 53400, a configured limit the same request would hit again), a
// writer turned read-only by a failover (25006, until the endpoint points at the new one), statement
// timeout, and contention that outlasted our retries (serialization failure, deadlock, lock not available).
// The last four answer DATABASE_BUSY rather than DATABASE_UNAVAILABLE (POSTGRES_BUSY_STATES below). Also
// the server refusing us at start-up — credentials (class 28: a secret rotated or mistyped) or a database
// that is not there (3D000): nothing the client can change, the store is unavailable to this function.
const POSTGRES_UNAVAILABLE_STATES = /^(08...|57P0[1-3]|53[0-3]00|25006|57014|40001|40P01|55P03|28...|3D000)$/;

/**
 * Failures that happen before a statement is sent — the connection could not be opened, or the server
 * refused it at start-up (57P03 starting up / shutting down, 53300 too many connections) — so the
 * statement certainly did not run: retrying it once on a fresh connection cannot apply anything twice.
 * Anything that can happen once a statement was sent (a reset, a closed or ended connection, a timeout)
 * is not in this list: that statement may have committed.
 */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'CONNECT_TIMEOUT',
  '57P03',
  '53300',
]);

export function failedBeforeSending(error: unknown): boolean {
  const { code, errors } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; errors?: unknown };
  if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
  // Node wraps multi-address connection failures (IPv4 + IPv6) in an AggregateError.
  return Array.isArray(errors) && errors.length > 0 && errors.every(failedBeforeSending);
}

const MONGO_UNAVAILABLE_NAMES = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoOperationTimeoutError',
  'MongoTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
  'MongoPoolClearedError',
  // A subclass of MongoPoolClearedError under a name of its own: the pool cleared by a failed heartbeat, which
  // interrupts the operations in flight (on a warm Lambda, the overdue heartbeat fails first at thaw).
  'PoolClearedOnNetworkError',
  'MongoPoolClosedError',
  'MongoWaitQueueTimeoutError',
]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  errors?: unknown;
}

function shape(error: unknown): ErrorShape {
  return typeof error === 'object' && error !== null ? (error as ErrorShape) : {};
}

/**
 * "Not now" from a database that answered: a statement past statement_timeout, a lock not had in time, and
 * contention our retries did not outlast. Told apart from one that could not be reached (an outage, a
 * failover), which is what DATABASE_UNAVAILABLE and its alarm mean.
 */
const POSTGRES_BUSY_STATES = /^(57014|55P03|40001|40P01)$/;

function isPostgresBusy(error: unknown): boolean {
  const { code } = shape(error);
  return typeof code === 'string' && POSTGRES_BUSY_STATES.test(code);
}

export function isPostgresUnavailable(error: unknown): boolean {
  const { code, errors } = shape(error);
  if (typeof code === 'string' && (POSTGRES_NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE_STATES.test(code))) {
    return true;
  }
  // Node wraps multi-address connection failures (IPv4 + IPv6) in an AggregateError.
  return Array.isArray(errors) && errors.some(isPostgresUnavailable);
}

/**
 * Server answers meaning "not now": the codes the MongoDB driver itself treats as retryable (an election,
 * a shutdown, a network failure between members; its RETRYABLE_READ_ERROR_CODES), which reach us because
 * retryWrites is off.
 */
const MONGO_NOT_NOW_CODES = new Set([6, 7, 89, 91, 134, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/**
 * The server refused our login (a secret rotated or mistyped), as PostgreSQL's class 28: 18 AuthenticationFailed
 * from MongoDB and FerretDB; Atlas answers 8000 AtlasError "bad auth : authentication failed" (8000 is also its
 * code for other refusals, a permission the user lacks, which are not an outage).
 */
function isMongoLoginRefused(code: unknown, message: unknown): boolean {
  return code === 18 || (code === 8000 && typeof message === 'string' && /\bauthentication failed\b/i.test(message));
}

/**
 * A write the replica set did not confirm as asked (64 WriteConcernFailed: the wait timed out; 100
 * UnsatisfiableWriteConcern: too few members up): the store cannot vouch for writes right now. The write may
 * still stand, as after a connection lost once it was sent.
 */
const MONGO_WRITE_CONCERN_CODES = new Set([64, 100]);

/**
 * FerretDB answers 1 InternalError for any failure of its PostgreSQL storage, with the storage's own error
 * in the message: its SQLSTATE, or pgx's "failed to connect to" when the server is not there (FerretDB
 * 1.24, measured with its PostgreSQL stopped).
 */
function isFerretStorageUnavailable(code: unknown, message: unknown): boolean {
  if (code !== 1 || typeof message !== 'string') return false;
  const state = /\(SQLSTATE (\w{5})\)/.exec(message)?.[1];
  return (state !== undefined && POSTGRES_UNAVAILABLE_STATES.test(state)) || message.includes('failed to connect to');
}

export function isMongoUnavailable(error: unknown): boolean {
  const { name, code } = shape(error);
  if (typeof name === 'string' && MONGO_UNAVAILABLE_NAMES.has(name)) return true;
  // A mongodb+srv URI's DNS lookup (SRV and TXT records), whose resolver error the driver passes on as is.
  const { syscall } = (error ?? {}) as { syscall?: unknown };
  if (syscall === 'querySrv' || syscall === 'queryTxt') return true;
  const { message } = (error ?? {}) as { message?: unknown };
  if (typeof code === 'number' && MONGO_NOT_NOW_CODES.has(code)) return true;
  if (isMongoLoginRefused(code, message)) return true;
  if (name === 'MongoWriteConcernError' && typeof code === 'number' && MONGO_WRITE_CONCERN_CODES.has(code)) return true;
  return isFerretStorageUnavailable(code, message);
}

/**
 * A command the server gave up on because of our maxTimeMS: MongoDB answers 50 MaxTimeMSExpired, FerretDB
 * v1 answers 1 InternalError "… context deadline exceeded". Either way the store is too slow right now,
 * which is a 503 (retry later), not a 500. Nothing was written: the server aborted the command.
 */
export function isMongoServerTimeout(error: unknown): boolean {
  const { code, codeName, message } = (error ?? {}) as { code?: unknown; codeName?: unknown; message?: unknown };
  if (code === 50 || codeName === 'MaxTimeMSExpired') return true;
  return code === 1 && typeof message === 'string' && message.includes('context deadline exceeded');
}

/** E11000: an insert lost to an existing document with the same unique key (the compare-and-set failed). */
export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 11000;
}

/** The server does not implement an option (FerretDB v1 and TTL indexes: 238 NotImplemented). */
export function isNotImplemented(error: unknown): boolean {
  const { code, codeName } = (error ?? {}) as { code?: unknown; codeName?: unknown };
  return code === 238 || codeName === 'NotImplemented';
}

/** Converts a driver's "unavailable" error into a 503 AppError; returns undefined for anything else. */
export function asServiceUnavailable(error: unknown): ServiceUnavailableError | undefined {
  // The cart store first: a mongodb+srv lookup fails with the same network codes as a database connection.
  if (isMongoUnavailable(error) || isMongoServerTimeout(error)) {
    return new ServiceUnavailableError('CART_STORE_UNAVAILABLE', 'The cart store is unavailable; retry shortly.');
  }
  if (isPostgresBusy(error)) {
    return new ServiceUnavailableError(
      'DATABASE_BUSY',
      'The database is busy (a statement ran out of time or waited on a lock); retry shortly.',
    );
  }
  if (isPostgresUnavailable(error)) {
    return new ServiceUnavailableError('DATABASE_UNAVAILABLE', 'The database is unavailable; retry shortly.');
  }
  return undefined;
}
