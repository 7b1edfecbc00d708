import { asServiceUnavailable } from '../clients/errors.js';
import { AppError } from '../errors.js';
import { describeError, logger } from '../logger.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export interface HttpErrorResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Errors middy's own middlewares throw (body parser, etc.): an HTTP status and an exposable message. */
interface MiddyHttpError {
  statusCode: number;
  message: string;
  expose?: boolean;
}

function isMiddyHttpError(error: unknown): error is MiddyHttpError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as MiddyHttpError).statusCode === 'number' &&
    (error as MiddyHttpError).statusCode >= 400 &&
    (error as MiddyHttpError).statusCode < 500
  );
}

function fromMiddyError(error: MiddyHttpError): AppError {
  switch (error.statusCode) {
    case 415:
      return new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json.');
    case 413:
      return new AppError(413, 'PAYLOAD_TOO_LARGE', error.message);
    case 422:
      // The JSON body parser: unparsable text or a forbidden key such as __proto__.
      return new AppError(400, 'VALIDATION_ERROR', error.message, [{ field: 'body', message: error.message }]);
    default:
      return new AppError(error.statusCode, 'BAD_REQUEST', error.message);
  }
}

/** Classifies any thrown value as an AppError; unknown errors become a logged 500 without internals. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const unavailable = asServiceUnavailable(error);
  if (unavailable) return unavailable;
  if (isMiddyHttpError(error)) return fromMiddyError(error);
  return new AppError(500, 'INTERNAL_ERROR', 'An unexpected error occurred.');
}

/** Renders an AppError as the error envelope (no logging: the HTTP stack logs one line per request). */
export function renderError(appError: AppError): HttpErrorResponse {
  const body: ErrorBody = { error: { code: appError.code, message: appError.message } };
  if (appError.details !== undefined) body.error.details = appError.details;
  return {
    statusCode: appError.status,
    headers: { 'Content-Type': 'application/json', ...appError.headers },
    body: JSON.stringify(body),
  };
}

/**
 * The one error → HTTP mapping: `{"error":{"code","message","details"}}` with the right status, logged
 * once with its code. (The middy stack in handler.ts uses toAppError + renderError and logs the error
 * in its access-log line instead, so a failed request is still one log line.)
 */
export function errorResponse(error: unknown): HttpErrorResponse {
  const appError = toAppError(error);
  const logFields = { code: appError.code, status: appError.status };
  if (appError.status >= 500) {
    // The underlying error's name, message and stack (never the request payload), once, with its code.
    logger.error('request failed', { ...logFields, error: describeError(error, { stack: true }) });
  } else {
    logger.info('request rejected', logFields);
  }
  return renderError(appError);
}
