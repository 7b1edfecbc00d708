/** A role name that needs no quoting anywhere (a URL's user part, psql, the proxy's secret). */
export const APP_ROLE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
