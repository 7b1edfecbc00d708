/**
 * Cold-start shim. @middy/util imports `STATUS_CODES` from `node:http` as an ES module, and importing a
 * built-in as an ES module evaluates every export it has: node:http's WebSocket, CloseEvent and
 * MessageEvent getters load undici — about 30 ms of module-init CPU per function (measured) for a table
 * of status texts that middy reads only to word an error it creates. Here node:http is loaded (as a
 * CommonJS module, its getters left alone) the first time a status text is read. serverless.yml aliases
 * `node:http` to this file for the Lambda bundles; a bundled module that needs more of node:http fails the
 * build here instead of at run time.
 */
export const STATUS_CODES: Record<string, string | undefined> = new Proxy(
  {},
  { get: (_target, code) => (typeof code === 'string' ? process.getBuiltinModule('node:http').STATUS_CODES[code] : undefined) },
);
