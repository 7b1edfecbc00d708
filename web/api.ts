/**
 * The console's one way to call the API: same origin, JSON, the bearer token of the session. Every answer
 * becomes a result, never an exception: the body of a success, or the error envelope
 * (`{"error": {"code", "message", "details"}}`) with the status and, for a 503, Retry-After.
 */
export interface ApiError {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  /** Seconds, from Retry-After (503s). */
  retryAfter?: number;
}

export type ApiResult<T> = { ok: true; status: number; body: T; headers: Headers } | { ok: false; error: ApiError };

export interface RequestOptions {
  token?: string | undefined;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A product as GET /products and GET /products/{id} answer it. */
export interface Product {
  productId: number;
  name: string;
  price: string;
  stockQuantity: number;
  attributes: Record<string, unknown>;
}

/** What GET /products/top answered from (X-Cache), counted over this page's life: the cache hit ratio it saw. */
export const cacheTally: Record<'HIT' | 'MISS' | 'BYPASS', number> = { HIT: 0, MISS: 0, BYPASS: 0 };

export async function api<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResult<T>> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        Accept: 'application/json',
        ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  } catch {
    return { ok: false, error: { status: 0, code: 'NETWORK_ERROR', message: 'The API could not be reached.' } };
  }
  let text: string;
  try {
    text = await response.text();
  } catch {
    // The connection broke after the status line: the answer is lost, whatever the status said.
    return { ok: false, error: { status: 0, code: 'NETWORK_ERROR', message: 'The answer from the API was cut off.' } };
  }
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const cache = response.headers.get('x-cache');
  if (path.startsWith('/products/top') && (cache === 'HIT' || cache === 'MISS' || cache === 'BYPASS')) cacheTally[cache]++;
  if (response.ok) return { ok: true, status: response.status, body: json as T, headers: response.headers };
  const envelope = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  const retryAfter = Number(response.headers.get('retry-after'));
  return {
    ok: false,
    error: {
      status: response.status,
      code: typeof envelope?.code === 'string' ? envelope.code : `HTTP_${response.status}`,
      message: typeof envelope?.message === 'string' ? envelope.message : response.statusText || 'No message.',
      ...(envelope?.details === undefined ? {} : { details: envelope.details }),
      ...(retryAfter > 0 ? { retryAfter } : {}),
    },
  };
}

/** A fresh Idempotency-Key: 128 random bits as hex (works on any origin, secure or not). */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
