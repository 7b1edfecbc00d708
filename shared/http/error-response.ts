import { asServiceUnavailable } from '../clients/errors.js';
import { AppError } from '../errors.js';

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

/** A body that is not JSON: the 415 of every route with a body. */
export const unsupportedMediaType = () => new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json.');

function fromMiddyError(error: MiddyHttpError): AppError {
  switch (error.statusCode) {
    case 415:
      return unsupportedMediaType();
    case 413:
      return new AppError(413, 'PAYLOAD_TOO_LARGE', error.message);
    case 422:
      // The JSON body parser: unparsable text or a forbidden key such as __proto__.
      return new AppError(400, 'VALIDATION_ERROR', error.message, [{ field: 'body', message: error.message }]);
    default:
      return new AppError(error.statusCode, 'BAD_REQUEST', error.message);
  }
}

/**
 * The one error → HTTP mapping (with renderError): any thrown value as an AppError; an unknown error is a
 * 500 without internals (the HTTP stack logs the error itself in its one line per request).
 */
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
