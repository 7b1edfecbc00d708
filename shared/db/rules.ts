/**
 * The functions' role name: a lowercase identifier, so that it needs no quoting in a URL's user part or a
 * secret; `pg_` names are PostgreSQL's own.
 */
export const APP_ROLE_NAME_PATTERN = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/;
export const APP_ROLE_NAME_RULE = 'a lowercase identifier (letters, digits, _), not pg_…';

/**
 * 16 or more printable ASCII characters: the verifier is computed here without SASLprep, which leaves ASCII
 * unchanged, so psql and libpq (which apply it) log in with the same password as postgres.js.
 */
export const APP_ROLE_PASSWORD_PATTERN = /^[!-~]{16,}$/;
export const APP_ROLE_PASSWORD_RULE = '16 or more printable ASCII characters';

/**
 * A transaction left open by a crashed container must not hold row locks forever: sent by the functions at
 * connect, and set on their role (a pooler drops what is sent at connect).
 */
export const IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS = 10_000;
