/** The oldest and longest-lived token accepted by default: a day (Cognito's longest access/ID token validity). */
export const DEFAULT_MAX_TOKEN_AGE_SECONDS = 86_400;

/** This machine's names, with any port: what a page of this machine sends as Host, and a URL's host here. */
export const LOOPBACK_HOST = /^(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/i;
