/**
 * Bundle-size shim. The MongoDB driver parses connection strings with `mongodb-connection-string-url`,
 * which imports `URL` from the `whatwg-url` package — ~275 KB minified (tr46's Unicode tables) that
 * duplicate what Node already has: its built-in URL is the same WHATWG URL Standard implementation.
 * serverless.yml aliases `whatwg-url` to this file for the Lambda bundles only.
 */
export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;
