import { ServiceUnavailableError } from '../errors.js';

/**
 * Recognises "the dependency is down or too slow" errors from postgres.js and the MongoDB driver by
 * their shape (code / name), so this module does not have to import either driver into every bundle.
 */
const POSTGRES_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

// SQLSTATEs meaning "not now" rather than "your request is wrong": connection exceptions (class 08),
// admin/crash shutdown, cannot connect now, too many connections, statement timeout.
const POSTGRES_UNAVAILABLE_STATES = /^(08...|57P0[1-3]|53300|57014)$/;

const MONGO_UNAVAILABLE_NAMES = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoOperationTimeoutError',
  'MongoTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
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

export function isPostgresUnavailable(error: unknown): boolean {
  const { code, errors } = shape(error);
  if (typeof code === 'string' && (POSTGRES_NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE_STATES.test(code))) {
    return true;
  }
  // Node wraps multi-address connection failures (IPv4 + IPv6) in an AggregateError.
  return Array.isArray(errors) && errors.some(isPostgresUnavailable);
}

export function isMongoUnavailable(error: unknown): boolean {
  const { name } = shape(error);
  return typeof name === 'string' && MONGO_UNAVAILABLE_NAMES.has(name);
}

/** Converts a driver's "unavailable" error into a 503 AppError; returns undefined for anything else. */
export function asServiceUnavailable(error: unknown): ServiceUnavailableError | undefined {
  if (isPostgresUnavailable(error)) {
    return new ServiceUnavailableError('DATABASE_UNAVAILABLE', 'The database is unavailable; retry shortly.');
  }
  if (isMongoUnavailable(error)) {
    return new ServiceUnavailableError('CART_STORE_UNAVAILABLE', 'The cart store is unavailable; retry shortly.');
  }
  return undefined;
}
