/**
 * upstash-gateway: a small dev-only HTTP gateway that speaks the Upstash Redis REST protocol
 * (as used by `@upstash/redis` 1.39 in its default settings) on top of a real Redis server.
 *
 * Protocol summary (what the official client sends / expects):
 *  - Every request is `POST <base>/<path>` with `Authorization: Bearer <token>`,
 *    `Content-Type: application/json`, `Upstash-Encoding: base64` (default responseEncoding),
 *    an `upstash-sync-token` header (read-your-writes; may be empty) and telemetry headers.
 *  - Single command: `POST /` body `["set","k","v","ex",10]` -> `{"result": ...}`.
 *    (With the default `enableAutoPipelining: true` the client sends even single commands
 *    through `/pipeline`.)
 *  - `POST /pipeline` and `POST /multi-exec`: body is an array of commands; response is an
 *    array of `{"result": ...}` / `{"error": "..."}`, HTTP 200 even if some commands failed.
 *  - Any non-2xx response must be JSON `{"error": "..."}`; the client throws `UpstashError`.
 *  - With `Upstash-Encoding: base64` every string in the result is base64 (UTF-8 bytes),
 *    recursively inside arrays; integers stay JSON numbers, nil stays null. The one
 *    exception is a top-level status reply "OK", which is returned unencoded (the client
 *    special-cases it). Error messages are never encoded.
 *
 * Redis replies use RESP2 semantics (HGETALL / ZRANGE WITHSCORES are flat arrays, scores are
 * strings), exactly like Upstash.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedisArgument } from 'redis';
import { createClient, ErrorReply, RESP_TYPES } from 'redis';

export interface GatewayOptions {
  port: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Bearer token clients must present. */
  token: string;
  /** e.g. redis://127.0.0.1:6379 */
  redisUrl: string;
  /**
   * Answer 504 if Redis has not replied within this many ms (protects against a hung Redis).
   * Blocking commands (BLPOP, XREAD BLOCK, ...) run on their own connection and are exempt.
   * Default 5000.
   */
  commandTimeoutMs?: number;
  /** Maximum accepted request body in bytes (default 32 MiB). */
  maxBodyBytes?: number;
  /** Per-request access log on stderr. Default: `process.env.GATEWAY_LOG === '1'`. */
  log?: boolean;
}

export interface Gateway {
  /** Base URL to give to `new Redis({ url, token })`. */
  url: string;
  close(): Promise<void>;
}

/** Minimal structural view of a node-redis client (keeps the types simple under strict TS). */
interface Sender {
  sendCommand<T = unknown>(args: ReadonlyArray<RedisArgument>, options?: { chainId?: symbol }): Promise<T>;
}

type Command = RedisArgument[];
type Entry = { result: unknown } | { error: string };

/** A Redis-level error (reply starting with `-`), reported to the client as 400 / per-command error. */
class CommandRejected extends Error {}

const JSON_HEADERS = 'application/json';
const UNAUTHORIZED = '{"error":"Unauthorized"}';
const NOT_FOUND = '{"error":"Not Found"}';
const METHOD_NOT_ALLOWED = '{"error":"Method Not Allowed"}';
const HOST_NOT_ALLOWED = '{"error":"Host not allowed: the dev gateway answers localhost, 127.0.0.1 and [::1] only"}';

/**
 * The Host names the gateway answers: this machine's loopback names, with any port. A page in a browser
 * can make requests to 127.0.0.1 under a name it controls (DNS rebinding); the browser then sends that
 * name as Host, which is refused here.
 */
const LOOPBACK_HOST = /^(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/i;

/** Commands that would change the state of the shared connection (or break its reply stream). */
const FORBIDDEN = new Set([
  'multi',
  'exec',
  'discard',
  'watch',
  'unwatch',
  'select',
  'auth',
  'hello',
  'reset',
  'quit',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'monitor',
  'sync',
  'psync',
  'replconf',
  'shutdown',
]);
/**
 * Administrative commands: Upstash refuses them over REST, and so does the gateway (a web page that
 * reached it could otherwise rewrite the server's configuration, flush it or shut it down).
 */
const ADMINISTRATIVE = new Set([
  'config',
  'save',
  'bgsave',
  'bgrewriteaof',
  'flushall',
  'flushdb',
  'debug',
  'module',
  'replicaof',
  'slaveof',
  'acl',
  'migrate',
  'failover',
  'latency',
  'monitor',
  'cluster',
  'swapdb',
]);
/** CLIENT subcommands that are harmless on a shared connection. */
const CLIENT_ALLOWED = new Set(['id', 'info', 'list', 'getname', 'no-evict', 'no-touch']);
/** Commands that may block the connection; they get a dedicated short-lived connection. */
const BLOCKING = new Set(['blpop', 'brpop', 'brpoplpush', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop', 'wait', 'waitaof']);
/** Path-form URLs that name Upstash streaming endpoints this gateway does not implement. */
const STREAMING = new Set(['subscribe', 'psubscribe', 'monitor']);

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function lowerName(arg: RedisArgument): string {
  return (typeof arg === 'string' ? arg : arg.toString('utf8')).toLowerCase();
}

/**
 * Validates one JSON command and normalises it in place to strings (numbers / booleans are
 * stringified like Upstash does). Returns an error message if invalid.
 */
function normalize(cmd: unknown): string | undefined {
  if (!Array.isArray(cmd) || cmd.length === 0) return 'ERR command must be a non-empty JSON array';
  for (let i = 0; i < cmd.length; i++) {
    const a: unknown = cmd[i];
    if (typeof a === 'string') continue;
    if (i > 0 && Buffer.isBuffer(a)) continue; // path-form POST body (raw bytes)
    if (i > 0 && (typeof a === 'number' || typeof a === 'boolean')) {
      cmd[i] = String(a);
      continue;
    }
    return i === 0 ? 'ERR command name must be a string' : `ERR invalid argument at position ${i}: expected string, number or boolean`;
  }
  return undefined;
}

/** Returns an error message if the command is not allowed over REST; undefined otherwise. */
function forbidden(cmd: Command, name: string): string | undefined {
  if (ADMINISTRATIVE.has(name)) return `ERR Command is not available: '${name}'`;
  if (FORBIDDEN.has(name)) return `ERR command '${name}' is not allowed by upstash-gateway`;
  if (name === 'client') {
    const sub = cmd.length > 1 ? lowerName(cmd[1]!) : '';
    if (!CLIENT_ALLOWED.has(sub)) return `ERR command 'client ${sub}' is not allowed by upstash-gateway`;
  }
  return undefined;
}

function isBlocking(cmd: Command, name: string): boolean {
  if (BLOCKING.has(name)) return true;
  if (name === 'xread' || name === 'xreadgroup') {
    for (let i = 1; i < cmd.length; i++) if (lowerName(cmd[i]!) === 'block') return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Reply encoding
// ---------------------------------------------------------------------------------------------

/** Upstash base64 response encoding. `top` marks a whole command result (only there "OK" stays). */
function encodeBase64(v: unknown, top: boolean): unknown {
  if (v === null || typeof v === 'number') return v;
  if (Buffer.isBuffer(v)) return v.toString('base64'); // bulk string: exact bytes
  if (typeof v === 'string') return top && v === 'OK' ? v : Buffer.from(v, 'utf8').toString('base64');
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = encodeBase64(v[i], false);
    return out;
  }
  if (v instanceof ErrorReply) return Buffer.from(v.message, 'utf8').toString('base64');
  if (typeof v === 'bigint') return Number(v);
  return v ?? null;
}

function encodePlain(v: unknown): unknown {
  if (v === null || typeof v === 'number' || typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = encodePlain(v[i]);
    return out;
  }
  if (v instanceof ErrorReply) return v.message;
  if (typeof v === 'bigint') return Number(v);
  return v ?? null;
}

// ---------------------------------------------------------------------------------------------

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  if (typeof opts.token !== 'string' || opts.token.length === 0) {
    throw new Error('upstash-gateway: token must be a non-empty string');
  }
  const host = opts.host ?? '127.0.0.1';
  const commandTimeoutMs = opts.commandTimeoutMs ?? 5000;
  const maxBodyBytes = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  const log = opts.log ?? process.env.GATEWAY_LOG === '1';
  const expectedAuth = sha256(`Bearer ${opts.token}`);

  // ---- Redis --------------------------------------------------------------------------------
  let everReady = false;
  let reportedDown = false;
  const socketBase = { connectTimeout: 3000, noDelay: true, keepAlive: true } as const;
  // Bulk strings as Buffers: binary safe, and distinguishes bulk strings from status replies.
  const commandOptions = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } };
  const redis = createClient({
    url: opts.redisUrl,
    RESP: 2,
    // Fail fast while disconnected instead of queueing (-> HTTP 503).
    disableOfflineQueue: true,
    commandsQueueMaxLength: 100_000,
    socket: {
      ...socketBase,
      // Before the first successful connection: give up (startGateway rejects).
      // Afterwards: keep reconnecting in the background; requests get 503 meanwhile.
      reconnectStrategy: (retries: number, cause: Error) => (everReady ? Math.min(50 * 2 ** retries, 2000) : cause),
    },
    commandOptions,
  });
  redis.on('error', (err: unknown) => {
    if (everReady && !reportedDown) {
      reportedDown = true;
      console.error(`upstash-gateway: redis connection error: ${(err as Error)?.message ?? String(err)}`);
    }
  });
  redis.on('ready', () => {
    if (reportedDown) console.error('upstash-gateway: redis connection restored');
    reportedDown = false;
  });
  await redis.connect();
  everReady = true;
  const shared: Sender = redis;

  // Known command names, so that unknown path-form URLs can be answered with 404.
  let knownCommands: Set<string> | undefined;
  try {
    const list = await shared.sendCommand<unknown[]>(['COMMAND', 'LIST']);
    knownCommands = new Set(list.map((c) => String(c).toLowerCase()));
  } catch {
    knownCommands = undefined; // older Redis: no path-form validation
  }

  /** Dedicated connections for blocking commands (closed when done or when the HTTP client goes away). */
  const dedicated = new Set<{ destroy(): void }>();
  async function withDedicated<T>(res: http.ServerResponse, fn: (c: Sender) => Promise<T>): Promise<T> {
    const conn = createClient({
      url: opts.redisUrl,
      RESP: 2,
      disableOfflineQueue: true,
      socket: { ...socketBase, reconnectStrategy: false },
      commandOptions,
    });
    conn.on('error', () => {});
    const handle = {
      destroy: () => {
        if (conn.isOpen) conn.destroy();
      },
    };
    dedicated.add(handle);
    res.once('close', handle.destroy);
    try {
      await conn.connect();
      return await fn(conn);
    } finally {
      res.off('close', handle.destroy);
      dedicated.delete(handle);
      handle.destroy();
    }
  }

  // ---- Execution ------------------------------------------------------------------------------

  function runSingle(cmd: Command, res: http.ServerResponse): Promise<unknown> {
    const name = lowerName(cmd[0]!);
    const bad = forbidden(cmd, name);
    if (bad !== undefined) return Promise.reject(new CommandRejected(bad));
    if (isBlocking(cmd, name)) return withDedicated(res, (c) => c.sendCommand(cmd));
    return shared.sendCommand(cmd);
  }

  interface PreparedPipeline {
    out: Entry[];
    /** undefined where the command was rejected before execution (error already in `out`). */
    toRun: Array<Command | undefined>;
    blocking: boolean;
  }

  /** Validates and normalises every pipeline command; invalid ones get a per-command error. */
  function preparePipeline(cmds: unknown[]): PreparedPipeline {
    const n = cmds.length;
    const out = new Array<Entry>(n);
    const toRun = new Array<Command | undefined>(n);
    let blocking = false;
    for (let i = 0; i < n; i++) {
      const cmd = cmds[i];
      const invalid = normalize(cmd);
      if (invalid !== undefined) {
        out[i] = { error: invalid };
        continue;
      }
      const c = cmd as Command;
      const name = lowerName(c[0]!);
      const bad = forbidden(c, name);
      if (bad !== undefined) {
        out[i] = { error: bad };
        continue;
      }
      if (!blocking && isBlocking(c, name)) blocking = true;
      toRun[i] = c;
    }
    return { out, toRun, blocking };
  }

  /** Non-atomic pipeline: per-command results/errors, in order, on one connection. */
  async function runPipeline(p: PreparedPipeline, res: http.ServerResponse, base64: boolean): Promise<Entry[]> {
    const { out, toRun } = p;
    const n = toRun.length;
    const exec = (conn: Sender): Promise<void> => {
      const promises = new Array<Promise<unknown> | undefined>(n);
      for (let i = 0; i < n; i++) {
        const c = toRun[i];
        if (c !== undefined) promises[i] = conn.sendCommand(c);
      }
      return Promise.allSettled(promises).then((settled) => {
        let fatal: unknown;
        for (let i = 0; i < n; i++) {
          if (toRun[i] === undefined) continue;
          const s = settled[i]!;
          if (s.status === 'fulfilled') {
            out[i] = { result: base64 ? encodeBase64(s.value, true) : encodePlain(s.value) };
          } else if (s.reason instanceof ErrorReply) {
            out[i] = { error: s.reason.message };
          } else if (fatal === undefined) {
            fatal = s.reason; // connection-level failure -> whole request 5xx
          }
        }
        if (fatal !== undefined) throw fatal;
      });
    };
    // A pipeline containing a blocking command runs entirely on a dedicated connection, so that
    // command order is preserved without stalling everybody else.
    await (p.blocking ? withDedicated(res, exec) : exec(shared));
    return out;
  }

  /** Atomic MULTI/EXEC. Queue-time errors discard the whole transaction (400, like Redis' EXECABORT). */
  async function runMulti(cmds: unknown[], base64: boolean): Promise<Entry[]> {
    const n = cmds.length;
    for (let i = 0; i < n; i++) {
      const cmd = cmds[i];
      const invalid = normalize(cmd);
      if (invalid !== undefined) throw new CommandRejected(`${invalid} (command ${i + 1})`);
      const c = cmd as Command;
      const bad = forbidden(c, lowerName(c[0]!));
      if (bad !== undefined) throw new CommandRejected(bad);
    }
    // All commands are queued synchronously with one chain id, so node-redis writes
    // MULTI ... EXEC contiguously on the shared connection (same technique as its own .multi()).
    const chainId = Symbol('multi-exec');
    const chain = { chainId };
    const promises: Array<Promise<unknown>> = new Array(n + 2);
    promises[0] = shared.sendCommand(['MULTI'], chain);
    for (let i = 0; i < n; i++) promises[i + 1] = shared.sendCommand(cmds[i] as Command, chain);
    promises[n + 1] = shared.sendCommand(['EXEC'], chain);
    const settled = await Promise.allSettled(promises);
    const exec = settled[n + 1]!;
    if (exec.status === 'rejected') {
      const reason: unknown = exec.reason;
      if (!(reason instanceof ErrorReply)) throw reason; // connection problem -> 5xx
      // EXECABORT: report the first queue-time error as the cause.
      for (let i = 1; i <= n; i++) {
        const s = settled[i]!;
        if (s.status === 'rejected' && s.reason instanceof ErrorReply) {
          throw new CommandRejected(`${reason.message.replace(/\.$/, '')}: ${s.reason.message} (command ${i})`);
        }
      }
      throw new CommandRejected(reason.message);
    }
    const replies = exec.value;
    if (!Array.isArray(replies)) throw new CommandRejected('ERR transaction aborted');
    const out = new Array<Entry>(replies.length);
    for (let i = 0; i < replies.length; i++) {
      const r: unknown = replies[i];
      out[i] = r instanceof ErrorReply ? { error: r.message } : { result: base64 ? encodeBase64(r, true) : encodePlain(r) };
    }
    return out;
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  interface Pending {
    res: http.ServerResponse;
    deadline: number;
    done: boolean;
  }
  const pending = new Set<Pending>();
  const sweepEvery = Math.max(25, Math.min(1000, Math.floor(commandTimeoutMs / 4)));
  const sweeper = setInterval(() => {
    if (pending.size === 0) return;
    const now = Date.now();
    for (const p of pending) {
      if (p.deadline <= now) {
        pending.delete(p);
        if (!p.done) {
          p.done = true;
          send(p.res, 504, JSON.stringify({ error: `ERR upstash-gateway: redis did not answer within ${commandTimeoutMs}ms` }));
        }
      }
    }
  }, sweepEvery);
  sweeper.unref();

  function send(res: http.ServerResponse, status: number, body: string): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, ['Content-Type', JSON_HEADERS, 'Content-Length', String(Buffer.byteLength(body))]);
    res.end(body);
  }

  function fail(res: http.ServerResponse, err: unknown): void {
    if (err instanceof CommandRejected) {
      send(res, 400, JSON.stringify({ error: err.message }));
      return;
    }
    if (err instanceof ErrorReply) {
      send(res, 400, JSON.stringify({ error: err.message }));
      return;
    }
    const e = err as Error | undefined;
    const detail = e?.name ? `${e.name}: ${e.message}` : String(err);
    if (log) console.error(`upstash-gateway: ${detail}`);
    send(res, 503, JSON.stringify({ error: `ERR upstash-gateway: redis unavailable (${detail})` }));
  }

  function authorized(header: string | undefined): boolean {
    if (header === undefined) return false;
    return timingSafeEqual(sha256(header), expectedAuth);
  }

  function readBody(req: http.IncomingMessage, res: http.ServerResponse, cb: (body: Buffer) => void): void {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        tooLarge = true;
        res.setHeader('Connection', 'close');
        send(res, 413, JSON.stringify({ error: `ERR request body exceeds ${maxBodyBytes} bytes` }));
        return;
      }
      if (first === undefined) first = chunk;
      else (chunks ??= [first]).push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) return;
      cb(chunks !== undefined ? Buffer.concat(chunks, size) : (first ?? Buffer.alloc(0)));
    });
    req.on('error', () => {
      /* client went away */
    });
  }

  /** Runs `work`, guarding it with the command timeout, and writes the JSON response. */
  function respond(res: http.ServerResponse, work: Promise<unknown>, wrap: boolean, guard: boolean): void {
    let p: Pending | undefined;
    if (guard) {
      p = { res, deadline: Date.now() + commandTimeoutMs, done: false };
      pending.add(p);
    }
    work.then(
      (value) => {
        if (p !== undefined) {
          if (p.done) return;
          p.done = true;
          pending.delete(p);
        }
        send(res, 200, JSON.stringify(wrap ? { result: value } : value));
      },
      (err: unknown) => {
        if (p !== undefined) {
          if (p.done) return;
          p.done = true;
          pending.delete(p);
        }
        fail(res, err);
      },
    );
  }

  function parseJson(body: Buffer, res: http.ServerResponse): unknown {
    try {
      return JSON.parse(body.toString('utf8'));
    } catch (err) {
      send(res, 400, JSON.stringify({ error: `ERR failed to parse request body as JSON: ${(err as Error).message}` }));
      return undefined;
    }
  }

  function handleSingle(res: http.ServerResponse, cmd: unknown, base64: boolean): void {
    const invalid = normalize(cmd);
    if (invalid !== undefined) {
      send(res, 400, JSON.stringify({ error: invalid }));
      return;
    }
    const c = cmd as Command;
    const blocking = isBlocking(c, lowerName(c[0]!));
    const work = runSingle(c, res).then((v) => (base64 ? encodeBase64(v, true) : encodePlain(v)));
    respond(res, work, true, !blocking);
  }

  function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (log) {
      const start = process.hrtime.bigint();
      res.once('finish', () => {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        console.error(`upstash-gateway: ${req.method} ${req.url} -> ${res.statusCode} ${ms.toFixed(2)}ms`);
      });
    }
    if (!LOOPBACK_HOST.test(req.headers.host ?? '')) {
      send(res, 403, HOST_NOT_ALLOWED);
      return;
    }
    if (!authorized(req.headers.authorization)) {
      send(res, 401, UNAUTHORIZED);
      return;
    }
    const method = req.method;
    if (method !== 'POST' && method !== 'GET' && method !== 'PUT') {
      send(res, 405, METHOD_NOT_ALLOWED);
      return;
    }
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const enc = req.headers['upstash-encoding'];
    const base64 = typeof enc === 'string' && enc.toLowerCase() === 'base64';

    if (path === '/pipeline' || path === '/multi-exec') {
      if (method === 'GET') {
        send(res, 405, METHOD_NOT_ALLOWED);
        return;
      }
      readBody(req, res, (body) => {
        const parsed = parseJson(body, res);
        if (parsed === undefined) return;
        if (!Array.isArray(parsed) || parsed.length === 0) {
          send(res, 400, JSON.stringify({ error: 'ERR request body must be a non-empty JSON array of commands' }));
          return;
        }
        if (path === '/pipeline') {
          const prepared = preparePipeline(parsed);
          respond(res, runPipeline(prepared, res, base64), false, !prepared.blocking);
        } else {
          respond(res, runMulti(parsed, base64), false, true);
        }
      });
      return;
    }

    if (path === '/' || path === '') {
      if (method === 'GET') {
        send(res, 400, JSON.stringify({ error: 'ERR no command given' }));
        return;
      }
      readBody(req, res, (body) => {
        const parsed = parseJson(body, res);
        if (parsed === undefined) return;
        handleSingle(res, parsed, base64);
      });
      return;
    }

    // Path form: /set/key/value[?EX=100] ; a POST body is appended as the last argument.
    const segments = path.split('/');
    let args: Command;
    try {
      args = [];
      for (let i = 1; i < segments.length; i++) args.push(decodeURIComponent(segments[i]!));
    } catch {
      send(res, 400, JSON.stringify({ error: 'ERR malformed URL encoding' }));
      return;
    }
    const name = (args[0] as string).toLowerCase();
    if (name === '' || STREAMING.has(name) || (knownCommands !== undefined && !knownCommands.has(name))) {
      send(
        res,
        404,
        STREAMING.has(name) ? JSON.stringify({ error: `ERR /${name} (streaming) is not supported by upstash-gateway` }) : NOT_FOUND,
      );
      return;
    }
    readBody(req, res, (body) => {
      if (body.length > 0) args.push(body);
      if (q !== -1) {
        for (const [k, v] of new URLSearchParams(rawUrl.slice(q + 1))) {
          if (k === '_token') continue;
          args.push(k);
          if (v !== '') args.push(v);
        }
      }
      handleSingle(res, args, base64);
    });
  }

  const server = http.createServer(handler);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    clearInterval(sweeper);
    redis.destroy();
    throw err;
  }

  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' || host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${addr.port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(sweeper);
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Give in-flight requests a moment, then cut remaining keep-alive connections.
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      force.unref();
      await serverClosed;
      clearTimeout(force);
      for (const d of dedicated) d.destroy();
      // Let in-flight Redis replies arrive, but don't wait forever for a hung server.
      const graceful = redis.close().catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 1000);
        timer.unref();
      });
      await Promise.race([graceful, timedOut]);
      clearTimeout(timer);
      if (redis.isOpen) redis.destroy();
    })();
    return closing;
  };

  return { url, close };
}
