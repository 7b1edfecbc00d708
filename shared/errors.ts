/**
 * The application's named errors. Domain code (shared/<domain>) throws these; the HTTP layer maps
 * them to responses in exactly one place (shared/http/error-response.ts). They carry no Lambda or HTTP
 * types beyond a status hint, so domain code stays testable without HTTP.
 */
export interface ErrorDetail {
  field?: string;
  message: string;
  [key: string]: unknown;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details: ErrorDetail[] = []) {
    super(400, 'VALIDATION_ERROR', message, details);
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string, details?: unknown) {
    super(404, code, message, details);
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string, details?: unknown) {
    super(409, code, message, details);
  }
}

/** The Retry-After of a 503: a dependency's outage is usually over, or its pool replaced, within seconds. */
export const RETRY_AFTER_SECONDS = 2;

/** A dependency (database, cache, document store) is unreachable or timed out: the client may retry. */
export class ServiceUnavailableError extends AppError {
  constructor(code: string, message: string, retryAfterSeconds = RETRY_AFTER_SECONDS, details?: unknown) {
    super(503, code, message, details, { 'Retry-After': String(retryAfterSeconds) });
  }
}
