/** A role name that needs no quoting anywhere (a URL's user part, psql, the proxy's secret). */
export const APP_ROLE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * 16 or more printable ASCII characters: the verifier is computed here without SASLprep, which leaves ASCII
 * unchanged, so psql and libpq (which apply it) log in with the same password as postgres.js.
 */
export const APP_ROLE_PASSWORD_PATTERN = /^[!-~]{16,}$/;
