import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Structured JSON logs (one object per line) with the Lambda request id injected per invocation.
 * Payloads, tokens and connection strings are never logged: log ids, codes and timings only.
 */
export const logger = new Logger({
  serviceName: process.env.SERVICE_NAME ?? 'ecommerce-pipeline',
  logLevel: (process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'INFO',
});

/** At most this much of a request's path is logged or echoed (a scanner's path can be kilobytes). */
export const MAX_LOGGED_PATH_LENGTH = 200;

/** `text` cut at `length` characters, marked with an ellipsis when it was. */
export function truncated<T extends string | undefined>(text: T, length: number): T {
  return (text !== undefined && text.length > length ? `${text.slice(0, length)}…` : text) as T;
}

/**
 * What may be logged about an error: its name, code, message and (for a 5xx) stack — never its other
 * enumerable properties (a driver error can carry the query parameters or the server's reply, i.e.
 * request data). An AggregateError (Node's multi-address connect failure) is described by its first cause.
 */
export function describeError(error: unknown, options: { stack?: boolean } = {}): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error).slice(0, 300) };
  const { code, errors } = error as { code?: unknown; errors?: unknown };
  const first = Array.isArray(errors) && !error.message ? errors[0] : undefined;
  if (first instanceof Error) return describeError(first, options);
  return {
    name: error.name,
    message: truncated(error.message, 300),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(options.stack && error.stack !== undefined ? { stack: error.stack } : {}),
  };
}

/**
 * The error to throw to the Lambda runtime from a function no HTTP request reaches: `error` reduced to what
 * describeError logs (name, message, code) and its stack. The runtime writes a thrown error with every
 * enumerable property into the function's log (its "Invoke Error" line, and the dead-letter message), past
 * our logger: a driver error's properties can hold the failing row or the query's parameters.
 */
export function withoutDetails(error: unknown): Error {
  const { name, message, code, stack } = describeError(error, { stack: true });
  const reduced = new Error(String(message));
  if (typeof name === 'string') reduced.name = name;
  if (code !== undefined) Object.assign(reduced, { code });
  if (typeof stack === 'string') reduced.stack = stack;
  return reduced;
}
