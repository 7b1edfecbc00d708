/**
 * upstash-gateway: a dev-only HTTP gateway that speaks the Upstash Redis REST protocol, as `@upstash/redis`
 * 1.39 uses it in its default settings, over a real Redis server. No maintained emulator runs without Docker.
 *
 *   UPSTASH_REDIS_REST_TOKEN=… npx tsx tools/upstash-gateway/gateway.ts [--port 8079] [--host 127.0.0.1] [--redis-url URL]
 *
 * - `POST /` with one command (`["set","k","v","ex",10]`) answers `{"result": …}`; `POST /pipeline` and
 *   `POST /multi-exec` take an array of commands and answer an array of `{"result"}` / `{"error"}` entries,
 *   HTTP 200 even when some failed. Any other status carries `{"error": "…"}` (the client throws UpstashError).
 * - With `Upstash-Encoding: base64` (the client's default) every string of a result is the base64 of its
 *   bytes, recursively; integers and nil stay as they are, and so does a whole result "OK" (the client
 *   special-cases it). Replies have RESP2 shapes (HGETALL flat, scores as strings), as on Upstash.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createClient, ErrorReply, RESP_TYPES, type RedisArgument } from 'redis';
import { exit, redactUrl } from '../../scripts/lib/env.js';
// The Host names answered: a web page can reach 127.0.0.1 under a name it controls (DNS rebinding); the
// browser then sends that name as Host, which is refused.
import { LOOPBACK_HOST } from '../../shared/auth/rules.js';

export interface GatewayOptions {
  port: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Bearer token clients must present. */
  token: string;
  redisUrl: string;
}

export interface Gateway {
  /** Base URL to give to `new Redis({ url, token })`. */
  url: string;
  close(): Promise<void>;
}

type Entry = { result: unknown } | { error: string };

/** A command refused before it reaches Redis: a 400, or that command's error entry. */
class CommandRejected extends Error {}

const words = (text: string) => new Set(text.split(' '));
/** Commands that would change the state of the shared connection (or break its reply stream). */
const FORBIDDEN = words(
  'multi exec discard watch unwatch select auth hello reset quit subscribe psubscribe ssubscribe unsubscribe punsubscribe sunsubscribe monitor sync psync replconf shutdown',
);
/** Upstash refuses these over REST, and so does the gateway: a web page could otherwise reconfigure, flush or stop the server. */
const ADMINISTRATIVE = words(
  'config save bgsave bgrewriteaof flushall flushdb debug module replicaof slaveof acl migrate failover latency monitor cluster swapdb',
);
/** CLIENT subcommands that are harmless on a shared connection. */
const CLIENT_ALLOWED = words('id info list getname no-evict no-touch');

/** A hung Redis: 504 after this long without its reply. */
const COMMAND_TIMEOUT_MS = 5000;
const MAX_BODY_BYTES = 32 * 1024 * 1024;

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** A JSON command checked for what may run, with numbers and booleans as strings (as Upstash takes them). */
function command(cmd: unknown): RedisArgument[] {
  if (!Array.isArray(cmd) || cmd.length === 0) throw new CommandRejected('ERR command must be a non-empty JSON array');
  if (typeof cmd[0] !== 'string') throw new CommandRejected('ERR command name must be a string');
  const name = cmd[0].toLowerCase();
  if (ADMINISTRATIVE.has(name)) throw new CommandRejected(`ERR Command is not available: '${name}'`);
  if (FORBIDDEN.has(name)) throw new CommandRejected(`ERR command '${name}' is not allowed by upstash-gateway`);
  const sub = String(cmd[1] ?? '').toLowerCase();
  if (name === 'client' && !CLIENT_ALLOWED.has(sub))
    throw new CommandRejected(`ERR command 'client ${sub}' is not allowed by upstash-gateway`);
  return cmd.map((arg: unknown, i) => {
    if (typeof arg === 'string' || typeof arg === 'number' || typeof arg === 'boolean') return String(arg);
    throw new CommandRejected(`ERR invalid argument at position ${i}: expected string, number or boolean`);
  });
}

/** A reply as JSON; with base64, strings (bulk bytes exactly) are encoded, except a whole result "OK". */
function encode(reply: unknown, base64: boolean, top = true): unknown {
  if (Array.isArray(reply)) return reply.map((item) => encode(item, base64, false));
  const value = reply instanceof ErrorReply ? reply.message : reply;
  if (Buffer.isBuffer(value)) return value.toString(base64 ? 'base64' : 'utf8');
  if (typeof value === 'string') return base64 && !(top && value === 'OK') ? Buffer.from(value).toString('base64') : value;
  return typeof value === 'bigint' ? Number(value) : (value ?? null);
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  if (typeof opts.token !== 'string' || opts.token.length === 0) throw new Error('upstash-gateway: token must be a non-empty string');
  const host = opts.host ?? '127.0.0.1';
  const log = process.env.GATEWAY_LOG === '1'; // requests and connection failures on stderr
  const expectedAuth = sha256(`Bearer ${opts.token}`);

  let everReady = false;
  let reportedDown = false;
  const redis = createClient({
    url: opts.redisUrl,
    RESP: 2,
    // While disconnected, fail at once (a 503) instead of queueing.
    disableOfflineQueue: true,
    commandsQueueMaxLength: 100_000,
    socket: {
      connectTimeout: 3000,
      noDelay: true,
      keepAlive: true,
      // Before the first connection: give up (startGateway rejects). Afterwards: keep reconnecting; requests get 503 meanwhile.
      reconnectStrategy: (retries: number, cause: Error) => (everReady ? Math.min(50 * 2 ** retries, 2000) : cause),
    },
    // Bulk strings as Buffers: binary safe, and told apart from status replies (only a status "OK" stays unencoded).
    commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
  });
  redis.on('error', (err: Error) => {
    if (everReady && !reportedDown) console.error(`upstash-gateway: redis connection error: ${err.message}`);
    reportedDown ||= everReady;
  });
  redis.on('ready', () => {
    if (reportedDown) console.error('upstash-gateway: redis connection restored');
    reportedDown = false;
  });
  await redis.connect();
  everReady = true;

  /** Every command in order on the shared connection; a lost connection fails the whole request. */
  async function pipeline(cmds: unknown[], base64: boolean): Promise<Entry[]> {
    const settled = await Promise.allSettled(cmds.map(async (cmd) => redis.sendCommand(command(cmd))));
    return settled.map((s) => {
      if (s.status === 'fulfilled') return { result: encode(s.value, base64) };
      if (s.reason instanceof ErrorReply || s.reason instanceof CommandRejected) return { error: s.reason.message };
      throw s.reason;
    });
  }

  /** MULTI/EXEC: a queue-time error discards the whole transaction (400, like Redis' EXECABORT). */
  async function multiExec(cmds: unknown[], base64: boolean): Promise<Entry[]> {
    const commands = cmds.map((cmd, i) => {
      try {
        return command(cmd);
      } catch (error) {
        throw new CommandRejected(`${(error as Error).message} (command ${i + 1})`);
      }
    });
    // Sent in one go with one chain id, node-redis writes MULTI … EXEC contiguously (as its own .multi() does).
    const chain = { chainId: Symbol('multi-exec') };
    const settled = await Promise.allSettled([['MULTI'], ...commands, ['EXEC']].map((c) => redis.sendCommand(c, chain)));
    const exec = settled.at(-1)!;
    if (exec.status === 'rejected') {
      if (!(exec.reason instanceof ErrorReply)) throw exec.reason;
      const cause = settled.findIndex((s, i) => i > 0 && i < settled.length - 1 && s.status === 'rejected');
      const why = cause > 0 ? `: ${(settled[cause] as PromiseRejectedResult).reason.message} (command ${cause})` : '';
      throw new CommandRejected(`${exec.reason.message.replace(/\.$/, '')}${why}`);
    }
    if (!Array.isArray(exec.value)) throw new CommandRejected('ERR transaction aborted');
    return exec.value.map((r) => (r instanceof ErrorReply ? { error: r.message } : { result: encode(r, base64) }));
  }

  function send(res: http.ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  function fail(res: http.ServerResponse, err: unknown): void {
    const rejected = err instanceof CommandRejected || err instanceof ErrorReply;
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    if (log && !rejected) console.error(`upstash-gateway: ${detail}`);
    send(res, rejected ? 400 : 503, { error: rejected ? err.message : `ERR upstash-gateway: redis unavailable (${detail})` });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (log) res.once('finish', () => console.error(`upstash-gateway: ${req.method} ${req.url} -> ${res.statusCode}`));
    if (!LOOPBACK_HOST.test(req.headers.host ?? ''))
      return send(res, 403, { error: 'Host not allowed: the dev gateway answers localhost, 127.0.0.1 and [::1] only' });
    if (!timingSafeEqual(sha256(req.headers.authorization ?? ''), expectedAuth)) return send(res, 401, { error: 'Unauthorized' });
    const path = req.url?.split('?')[0];
    if (path !== '/' && path !== '/pipeline' && path !== '/multi-exec') return send(res, 404, { error: 'Not Found' });
    if (req.method !== 'POST' && req.method !== 'PUT') return send(res, 405, { error: 'Method Not Allowed' });
    // Read to the end even when too large, so that the 413 reaches the client.
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    }
    if (size > MAX_BODY_BYTES) return send(res, 413, { error: `ERR request body exceeds ${MAX_BODY_BYTES} bytes` });
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch (err) {
      return send(res, 400, { error: `ERR failed to parse request body as JSON: ${(err as Error).message}` });
    }
    if (path !== '/' && (!Array.isArray(body) || body.length === 0))
      return send(res, 400, { error: 'ERR request body must be a non-empty JSON array of commands' });
    const base64 = String(req.headers['upstash-encoding']).toLowerCase() === 'base64';
    const timer = setTimeout(
      () => send(res, 504, { error: `ERR upstash-gateway: redis did not answer within ${COMMAND_TIMEOUT_MS}ms` }),
      COMMAND_TIMEOUT_MS,
    );
    try {
      if (path === '/') send(res, 200, { result: encode(await redis.sendCommand(command(body)), base64) });
      else send(res, 200, await (path === '/pipeline' ? pipeline : multiExec)(body as unknown[], base64));
    } catch (err) {
      fail(res, err);
    } finally {
      clearTimeout(timer);
    }
  }

  const server = http.createServer((req, res) => void handle(req, res).catch((err: unknown) => fail(res, err)));
  // Longer than the client's keep-alive, so the server never closes a connection the client is about to reuse.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(opts.port, host, resolve)).catch((err: unknown) => {
    redis.destroy();
    throw err;
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
      // In-flight Redis replies may arrive, but a hung server is not waited for.
      await Promise.race([redis.close().catch(() => {}), sleep(1000, undefined, { ref: false })]);
      if (redis.isOpen) redis.destroy();
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.UPSTASH_GATEWAY_PORT ?? '8079' },
      host: { type: 'string', default: '127.0.0.1' },
      'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    },
  });
  const redisUrl = values['redis-url'];
  const token = process.env.UPSTASH_REDIS_REST_TOKEN ?? '';
  const gateway = await startGateway({ port: Number(values.port), host: values.host, token, redisUrl }).catch((err: Error) =>
    exit(1, `upstash-gateway: failed to start (redis ${redactUrl(redisUrl)}): ${err.message}`),
  );
  console.log(`upstash-gateway listening on ${gateway.url} -> ${redactUrl(redisUrl)}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void gateway.close().then(() => process.exit(0)));
}
