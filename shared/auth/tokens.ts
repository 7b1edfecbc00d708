import { createLocalJWKSet, createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose';
import { AppError, ServiceUnavailableError } from '../errors.js';
import { claimedIdentity } from './claims.js';
import { DEFAULT_MAX_TOKEN_AGE_SECONDS } from './rules.js';

/**
 * Bearer-token authentication with `jose`. Locally, tokens are HS256 signed with a secret from config
 * (`npm run --silent token`); in the cloud they are verified against the identity provider's JWKS
 * (e.g. Cognito). Issuer, audience, expiry and not-before are checked, with a small clock skew.
 */
export interface AuthConfig {
  /** HS256 secret for local tokens (≥ 32 chars). Ignored when jwksUrl is set. */
  secret?: string;
  /** JWKS endpoint of the identity provider (cloud). */
  jwksUrl?: string;
  issuer: string;
  audience: string;
  clockSkewSeconds: number;
  /** The scope (space-separated `scope` claim) or group (`cognito:groups`) that makes a caller admin. */
  adminScope: string;
  /**
   * The claim holding the caller's customer id (default `sub`). Cognito's `sub` is a UUID, so a Cognito
   * pool keeps the shop's id in a custom attribute such as `custom:customer_id`.
   */
  customerClaim?: string;
  /**
   * The oldest and longest-lived token accepted (default DEFAULT_MAX_TOKEN_AGE_SECONDS): no token valid for
   * longer than this from now, and — when it says when it was issued (`iat`) — none older than this or
   * issued to live longer.
   */
  maxTokenAgeSeconds?: number;
}

export interface Principal {
  subject: string;
  /** The customer this token acts for: the customer claim when it is a customer id, else null. */
  customerId: number | null;
  isAdmin: boolean;
}

export class UnauthorizedError extends AppError {
  /**
   * `reason` becomes the RFC 6750 error code of the challenge; `null` for a request that carries no bearer
   * credentials at all (no header, another scheme), which RFC 6750 §3.1 says gets a bare challenge.
   */
  constructor(message: string, reason: 'invalid_request' | 'invalid_token' | null = 'invalid_token') {
    super(401, 'UNAUTHORIZED', message, undefined, {
      'WWW-Authenticate': `Bearer realm="ecommerce-pipeline"${reason ? `, error="${reason}"` : ''}`,
    });
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You may not access this resource.') {
    super(403, 'FORBIDDEN', message);
  }
}

function principalFrom(payload: JWTPayload, config: Pick<AuthConfig, 'adminScope' | 'customerClaim'>): Principal {
  const subject = payload.sub;
  // A string (RFC 7519): a number would act as a customer id, an object would be logged as the subject.
  if (typeof subject !== 'string' || subject === '') throw new UnauthorizedError('The token has no subject, or one that is not a string.');
  return { subject, ...claimedIdentity(payload, { customerClaim: config.customerClaim ?? 'sub', adminScope: config.adminScope }) };
}

/**
 * `aud` names the API — or, for a Cognito *access* token, which has no `aud`, `client_id` names the app
 * client (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html).
 */
function audienceMatches(payload: JWTPayload, audience: string): boolean {
  if (payload.aud !== undefined) return (Array.isArray(payload.aud) ? payload.aud : [payload.aud]).includes(audience);
  return payload.token_use === 'access' && payload.client_id === audience;
}

export type TokenVerifier = (authorization: string | undefined) => Promise<Principal>;

/**
 * A token may not be valid for longer than the maximum age from now (a 100-year admin token is refused
 * outright), nor — when it carries `iat` — be older than that, issued in the future, or issued to live longer.
 */
function checkAge(payload: JWTPayload, maxAgeSeconds: number, skewSeconds: number): void {
  const now = Math.floor(Date.now() / 1000);
  const tooLong = `The token lives longer than the maximum token age (${maxAgeSeconds} s).`;
  if (payload.exp! - now > maxAgeSeconds + skewSeconds) throw new UnauthorizedError(tooLong);
  if (typeof payload.iat === 'number') {
    if (payload.iat - now > skewSeconds) throw new UnauthorizedError('The token is issued in the future.');
    if (payload.exp! - payload.iat > maxAgeSeconds) throw new UnauthorizedError(tooLong);
    if (now - payload.iat > maxAgeSeconds + skewSeconds)
      throw new UnauthorizedError(`The token is older than the maximum token age (${maxAgeSeconds} s).`);
  }
}

/**
 * Tokens already verified by this container, keyed by the whole token (signature included, so nothing
 * unsigned can hit): a client's next request skips the signature check, which is ~40 % of a warm read
 * route's own time (126 µs of 328 µs measured for GET /customers/{id}/orders). Expiry and age are checked
 * again on every use; an entry is trusted for at most `ttlMs`, so a key withdrawn from the JWKS stops
 * being honoured within that time (as API Gateway's authorizer cache does, 300 s by default).
 */
export const VERIFIED_TOKENS = { entries: 1_000, ttlMs: 300_000 } as const;

/** Bound of one JWKS fetch (the keys are then cached by jose; refetched at most every 30 s for an unknown kid). */
export const JWKS_TIMEOUT_MS = 2_000;

/** After a failed refresh of keys due for one, how long those keys serve before the provider is tried again. */
export const JWKS_RETRY_AFTER_FAILURE_MS = 30_000;

const unavailable = () => new ServiceUnavailableError('AUTH_UNAVAILABLE', 'The identity provider cannot be reached; retry shortly.');
const isKeyMismatch = (error: unknown) => {
  const code = (error as { code?: unknown }).code;
  return code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS';
};

/**
 * The provider's keys, fetched once and cached by jose, which refreshes them when they are 10 minutes old.
 * A refresh that fails (the provider down, slow or broken) is not the caller's fault: the keys already
 * fetched keep verifying, and the provider is tried again only after JWKS_RETRY_AFTER_FAILURE_MS, so
 * requests do not each wait JWKS_TIMEOUT_MS for it. With no keys yet, or for a key id they lack, an
 * unreachable provider is a 503, not a 401; an unknown key id while it answers stays the token's problem (401).
 */
function providerKeys(jwksUrl: string): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS, cooldownDuration: 30_000 });
  let fetched = false;
  // The keys fetched last, kept for while their refresh fails (built once per outage).
  let fallback: JWTVerifyGetKey | undefined;
  let retryAt = 0;
  const cached = async (...args: Parameters<JWTVerifyGetKey>) => {
    fallback ??= createLocalJWKSet(remote.jwks()!);
    try {
      return await fallback(...args);
    } catch (error) {
      // A key id the cached keys lack may be a new key the provider has (rotation): not the token's fault.
      throw isKeyMismatch(error) ? unavailable() : error;
    }
  };
  return async (...args) => {
    const due = fetched && !remote.fresh;
    if (due && Date.now() < retryAt) return cached(...args);
    try {
      const key = await remote(...args);
      fetched = true;
      fallback = undefined;
      return key;
    } catch (error) {
      if (isKeyMismatch(error)) {
        fetched = true;
        throw error;
      }
      if (!due) throw unavailable();
      retryAt = Date.now() + JWKS_RETRY_AFTER_FAILURE_MS;
      return cached(...args);
    }
  };
}

/** Builds the verifier once per container (the JWKS is fetched lazily and cached by jose). */
export function createTokenVerifier(config: AuthConfig): TokenVerifier {
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  if (config.jwksUrl) {
    key = providerKeys(config.jwksUrl);
    algorithms = ['RS256', 'ES256'];
  } else if (config.secret) {
    key = new TextEncoder().encode(config.secret);
    algorithms = ['HS256'];
  } else {
    throw new Error('auth needs AUTH_JWKS_URL or AUTH_JWT_SECRET');
  }
  const maxAgeSeconds = config.maxTokenAgeSeconds ?? DEFAULT_MAX_TOKEN_AGE_SECONDS;
  const verified = new Map<string, { payload: JWTPayload; principal: Principal; until: number }>();
  return async (authorization) => {
    // Scheme names are case-insensitive (RFC 9110 §11.1): clients copy OAuth's `token_type: "bearer"`.
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i.exec(authorization?.trim() ?? '');
    if (!authorization || !/^\s*Bearer(\s|$)/i.test(authorization)) throw new UnauthorizedError('A bearer token is required.', null);
    if (!match) throw new UnauthorizedError('The Authorization header must be "Bearer <JWT>".', 'invalid_request');
    const token = match[1]!;
    const known = verified.get(token);
    if (known && known.until > Date.now()) {
      if (Date.now() / 1000 > known.payload.exp! + config.clockSkewSeconds) {
        verified.delete(token);
        throw new UnauthorizedError('The token has expired.');
      }
      checkAge(known.payload, maxAgeSeconds, config.clockSkewSeconds);
      return known.principal;
    }
    try {
      const { payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms,
        issuer: config.issuer,
        clockTolerance: config.clockSkewSeconds,
        requiredClaims: ['exp', 'sub'],
      });
      if (!audienceMatches(payload, config.audience)) throw new UnauthorizedError('The token is not meant for this API.');
      checkAge(payload, maxAgeSeconds, config.clockSkewSeconds);
      const principal = principalFrom(payload, config);
      verified.delete(token);
      if (verified.size >= VERIFIED_TOKENS.entries) verified.delete(verified.keys().next().value!);
      verified.set(token, { payload, principal, until: Date.now() + VERIFIED_TOKENS.ttlMs });
      return principal;
    } catch (error) {
      if (error instanceof AppError) throw error;
      const code = (error as { code?: string }).code;
      throw new UnauthorizedError(code === 'ERR_JWT_EXPIRED' ? 'The token has expired.' : 'The token is invalid.');
    }
  };
}

/** Signs a local HS256 token (development and tests only; the cloud uses the identity provider). */
export async function signLocalToken(
  config: Pick<AuthConfig, 'secret' | 'issuer' | 'audience' | 'adminScope' | 'maxTokenAgeSeconds'>,
  claims: { sub: string; admin?: boolean; ttlSeconds?: number },
): Promise<string> {
  if (!config.secret) throw new Error('AUTH_JWT_SECRET is not set');
  const maximum = config.maxTokenAgeSeconds ?? DEFAULT_MAX_TOKEN_AGE_SECONDS;
  if ((claims.ttlSeconds ?? 3600) > maximum) {
    throw new Error(`a token may live at most the maximum token age, ${maximum} s (AUTH_MAX_TOKEN_AGE_SECONDS)`);
  }
  // One reading of the clock for both: two could fall on either side of a second, and a token living its
  // ttl plus one second would be refused for outliving the maximum token age.
  const issuedAt = Math.floor(Date.now() / 1000);
  return new SignJWT(claims.admin ? { scope: config.adminScope } : {})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + (claims.ttlSeconds ?? 3600))
    .sign(new TextEncoder().encode(config.secret));
}
