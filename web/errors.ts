/**
 * Every error code the API answers with, in words (tests/console/assets.unit.test.ts checks that each code
 * thrown in shared/ is here). The server's message follows the words, for the specifics.
 */
export const ERROR_WORDS: Record<string, string> = {
  VALIDATION_ERROR: 'The request was not valid',
  BAD_REQUEST: 'The request was not understood',
  UNSUPPORTED_MEDIA_TYPE: 'The request was not sent as JSON',
  PAYLOAD_TOO_LARGE: 'The request is too large',
  UNAUTHORIZED: 'You are not signed in, or your sign-in has expired',
  FORBIDDEN: 'You may not see or change this',
  NOT_FOUND: 'There is no such page or route',
  METHOD_NOT_ALLOWED: 'This route does not take that method',
  ASSET_NOT_FOUND: 'A file of the console is missing (reload the page)',
  CUSTOMER_NOT_FOUND: 'There is no such customer',
  PRODUCT_NOT_FOUND: 'A product asked for does not exist',
  ORDER_NOT_FOUND: 'There is no such order',
  CART_NOT_FOUND: 'There is no cart',
  CART_EMPTY: 'The cart is empty',
  CART_BUSY: 'The cart is being changed by another request; try again',
  CART_NOT_ORDERABLE: 'The cart cannot be ordered as it is',
  CHECKOUT_IN_PROGRESS: 'This checkout is still being placed; try again in a moment',
  VERSION_CONFLICT: 'The cart was changed somewhere else (another tab or device)',
  INSUFFICIENT_STOCK: 'Not enough in stock',
  IDEMPOTENCY_KEY_REUSED: 'This checkout attempt was already used for a different order',
  ORDER_TOTAL_TOO_LARGE: 'The order total is too large',
  BENCHMARK_NOT_FOUND: 'No benchmark run has been stored yet',
  BENCHMARK_ALREADY_RUNNING: 'A benchmark run is already in progress',
  BENCHMARK_TOO_LARGE: 'The benchmark run would not fit in its time limit',
  BENCHMARK_DEADLINE: 'The benchmark run ran out of time',
  BENCHMARK_FAILED: 'The benchmark run failed',
  BENCHMARK_NEEDS_SESSION: 'Benchmarks need a direct database connection',
  DATABASE_UNAVAILABLE: 'The database is unavailable',
  DATABASE_BUSY: 'The database is busy',
  READ_ONLY: 'The database takes no writes (read-only, as during a failover)',
  CART_STORE_UNAVAILABLE: 'The cart store (MongoDB) is unavailable',
  AUTH_UNAVAILABLE: 'The identity provider is unavailable',
  TIMEOUT: 'The server took too long to answer',
  INTERNAL_ERROR: 'Something went wrong on the server',
  NETWORK_ERROR: 'The API could not be reached (is npm start running?)',
};

export function errorWords(code: string, status: number): string {
  return ERROR_WORDS[code] ?? (status >= 500 ? 'The server could not answer' : `The request was refused (HTTP ${status})`);
}
