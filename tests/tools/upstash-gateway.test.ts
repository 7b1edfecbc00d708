/**
 * Conformance test for tools/upstash-gateway: the official `@upstash/redis` client, in its default
 * settings (base64 response encoding, auto-pipelining, read-your-writes), talks to the gateway,
 * which talks to the real local Redis. Values are cross-checked straight in Redis with node-redis.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { errors, Redis } from '@upstash/redis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../tools/upstash-gateway/gateway.js';

const { UpstashError } = errors;
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const TOKEN = `gw-test-${randomUUID()}`;
const PREFIX = `upstash-gateway-test:${process.pid}:${Date.now().toString(36)}:`;

let keySeq = 0;
const key = (name: string): string => `${PREFIX}${name}:${++keySeq}`;

let gateway: Gateway;
let redis: Redis;
let direct: ReturnType<typeof createClient>;

async function raw(
  path: string,
  init: { method?: string; body?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: unknown; text: string }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...init.headers };
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${gateway.url}${path}`, {
    method: init.method ?? 'POST',
    headers,
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

beforeAll(async () => {
  direct = createClient({ url: REDIS_URL });
  direct.on('error', () => {});
  await direct.connect();
  gateway = await startGateway({ port: 0, token: TOKEN, redisUrl: REDIS_URL });
  redis = new Redis({ url: gateway.url, token: TOKEN }); // default settings on purpose
});

afterAll(async () => {
  if (direct?.isOpen) {
    const keys: string[] = [];
    for await (const batch of direct.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 500 })) keys.push(...batch);
    if (keys.length > 0) await direct.del(keys);
    await direct.close();
  }
  await gateway?.close();
});

describe('upstash-gateway with the official @upstash/redis client (default settings)', () => {
  it('round-trips strings that look like base64, numbers or status replies byte-exactly', async () => {
    const values = ['p1', 'user', 'dGVzdA==', 'OK', 'PONG', 'abcd', '', ' spaced out ', 'héllo wörld ✓ 🚀'];
    for (const value of values) {
      const k = key('str');
      expect(await redis.set(k, value)).toBe('OK');
      expect(await direct.get(k)).toBe(value);
      expect(await redis.get(k)).toBe(value);
    }
    // Status replies other than OK come back base64-encoded and must decode cleanly.
    expect(await redis.ping()).toBe('PONG');
    expect(await redis.type(key('str'))).toBe('none');
    const t = key('type');
    await direct.set(t, 'x');
    expect(await redis.type(t)).toBe('string');
  });

  it('encodes responses as Upstash does: base64 only when asked, integers/nil/OK untouched', async () => {
    const k = key('enc');
    await direct.set(k, 'p1');
    expect((await raw('/', { body: JSON.stringify(['GET', k]), headers: { 'Upstash-Encoding': 'base64' } })).json).toEqual({
      result: 'cDE=',
    });
    expect((await raw('/', { body: JSON.stringify(['GET', k]) })).json).toEqual({ result: 'p1' });
    expect((await raw('/', { body: JSON.stringify(['STRLEN', k]), headers: { 'Upstash-Encoding': 'base64' } })).json).toEqual({
      result: 2,
    });
    expect((await raw('/', { body: JSON.stringify(['GET', key('none')]), headers: { 'Upstash-Encoding': 'base64' } })).json).toEqual({
      result: null,
    });
    expect((await raw('/', { body: JSON.stringify(['SET', k, 'v']), headers: { 'Upstash-Encoding': 'base64' } })).json).toEqual({
      result: 'OK',
    });
    // Status replies other than OK are encoded (the client base64-decodes them).
    expect((await raw('/', { body: '["PING"]', headers: { 'Upstash-Encoding': 'base64' } })).json).toEqual({
      result: Buffer.from('PONG').toString('base64'),
    });
    // Arrays: recursively encoded, nil elements stay null.
    expect(
      (await raw('/pipeline', { body: JSON.stringify([['MGET', k, key('none')]]), headers: { 'Upstash-Encoding': 'base64' } })).json,
    ).toEqual([{ result: ['dg==', null] }]);
  });

  it('is binary safe', async () => {
    const k = key('bin');
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41, 0x0d, 0x0a]);
    await direct.set(k, bytes);
    const res = await raw('/', { body: JSON.stringify(['GET', k]), headers: { 'Upstash-Encoding': 'base64' } });
    const result = (res.json as { result: string }).result;
    expect(Buffer.from(result, 'base64').equals(bytes)).toBe(true);
  });

  it('handles numbers (stored as Redis strings, decoded to numbers by the client), incr and incrby', async () => {
    const k = key('num');
    expect(await redis.set(k, 10)).toBe('OK');
    expect(await direct.get(k)).toBe('10');
    const got = await redis.get(k);
    expect(got).toBe(10);
    expect(typeof got).toBe('number');
    expect(await redis.incr(k)).toBe(11);
    expect(await redis.incrby(k, 5)).toBe(16);
    expect(await redis.decrby(k, 2)).toBe(14);
    expect(await direct.get(k)).toBe('14');

    const f = key('float');
    await redis.set(f, 1.5);
    expect(await direct.get(f)).toBe('1.5');
    expect(await redis.get(f)).toBe(1.5);
    expect(await redis.incrbyfloat(f, 0.25)).toBe(1.75);

    const s = key('numstr');
    await redis.set(s, '10'); // a string holding digits reads back as a number, exactly as with Upstash
    expect(await direct.get(s)).toBe('10');
    expect(await redis.get(s)).toBe(10);
  });

  it('stores JSON objects and reads them back as objects', async () => {
    const k = key('json');
    const obj = { id: 'p1', price: 10, tags: ['user', 'dGVzdA=='], nested: { ok: true, none: null, list: [1, 2.5] } };
    expect(await redis.set(k, obj)).toBe('OK');
    expect(JSON.parse((await direct.get(k)) ?? 'null')).toEqual(obj);
    expect(await redis.get(k)).toEqual(obj);
  });

  it('supports sorted sets with scores: zadd, zincrby, zscore, zrange withScores / rev', async () => {
    const k = key('zset');
    expect(await redis.zadd(k, { score: 1, member: 'p1' }, { score: 2.5, member: 'p2' }, { score: 3, member: 'p3' })).toBe(3);
    expect(await redis.zincrby(k, 2, 'p1')).toBe(3);
    expect(await direct.zScore(k, 'p1')).toBe(3);
    expect(await redis.zscore(k, 'p2')).toBe(2.5);

    const flat = (await direct.zRangeWithScores(k, 0, -1)).flatMap((e) => [e.value, e.score]);
    expect(flat).toEqual(['p2', 2.5, 'p1', 3, 'p3', 3]);
    expect(await redis.zrange(k, 0, -1, { withScores: true })).toEqual(flat);

    const revFlat = (await direct.zRangeWithScores(k, 0, -1, { REV: true })).flatMap((e) => [e.value, e.score]);
    expect(revFlat).toEqual(['p3', 3, 'p1', 3, 'p2', 2.5]);
    expect(await redis.zrange(k, 0, -1, { rev: true, withScores: true })).toEqual(revFlat);
    expect(await redis.zrange(k, 0, 1, { rev: true })).toEqual(['p3', 'p1']);
    expect(await redis.zcard(k)).toBe(3);
  });

  it('supports hashes: hset, hget, hincrby, hgetall as an object', async () => {
    const k = key('hash');
    expect(await redis.hset(k, { name: 'user', count: 10, code: 'p1' })).toBe(3);
    expect(await direct.hGetAll(k)).toEqual({ name: 'user', count: '10', code: 'p1' });
    expect(await redis.hgetall(k)).toEqual({ name: 'user', count: 10, code: 'p1' });
    expect(await redis.hget(k, 'code')).toBe('p1');
    expect(await redis.hincrby(k, 'count', 5)).toBe(15);
    expect(await direct.hGet(k, 'count')).toBe('15');
    expect(await redis.hgetall(key('nohash'))).toBeNull();
  });

  it('runs explicit pipelines', async () => {
    const s = key('pipe-s');
    const c = key('pipe-c');
    const z = key('pipe-z');
    const p = redis.pipeline();
    p.set(s, 'p1');
    p.get(s);
    p.incr(c);
    p.incrby(c, 9);
    p.zadd(z, { score: 5, member: 'user' });
    p.zrange(z, 0, -1, { withScores: true });
    p.del(s);
    expect(await p.exec()).toEqual(['OK', 'p1', 1, 10, 1, ['user', 5], 1]);
    expect(await direct.exists(s)).toBe(0);
    expect(await direct.get(c)).toBe('10');
  });

  it('runs transactions with multi()/exec()', async () => {
    const s = key('tx-s');
    const c = key('tx-c');
    const tx = redis.multi();
    tx.set(s, 'user');
    tx.incrby(c, 5);
    tx.get(s);
    tx.hset(key('tx-h'), { a: 1 });
    expect(await tx.exec()).toEqual(['OK', 5, 'user', 1]);
    expect(await direct.get(s)).toBe('user');
    expect(await direct.get(c)).toBe('5');
  });

  it('reports a runtime error inside a transaction per command (other commands still run, like Redis)', async () => {
    const k = key('tx-err');
    const c = key('tx-err-c');
    const failing = redis.multi();
    failing.set(k, 'x');
    failing.lpush(k, 'y');
    failing.incr(c);
    await expect(failing.exec()).rejects.toThrow(/Command 2 \[ lpush \] failed: WRONGTYPE/);
    expect(await direct.get(k)).toBe('x');
    expect(await direct.get(c)).toBe('1');

    const kept = redis.multi();
    kept.set(k, 'p1');
    kept.lpush(k, 'y');
    kept.get(k);
    const results = await kept.exec({ keepErrors: true });
    expect(results[0]).toEqual({ error: undefined, result: 'OK' });
    expect(results[1]?.error).toMatch(/^WRONGTYPE/);
    expect(results[2]).toEqual({ error: undefined, result: 'p1' });

    const rawRes = await raw('/multi-exec', {
      body: JSON.stringify([
        ['SET', k, 'z'],
        ['LPUSH', k, 'y'],
      ]),
    });
    expect(rawRes.status).toBe(200);
    expect(rawRes.json).toEqual([{ result: 'OK' }, { error: expect.stringMatching(/^WRONGTYPE/) as unknown }]);
  });

  it('discards the whole transaction on a queue-time error (atomicity)', async () => {
    const k = key('tx-abort');
    const res = await raw('/multi-exec', {
      body: JSON.stringify([
        ['SET', k, 'v'],
        ['SET', k],
        ['INCR', key('tx-abort-c')],
      ]),
    });
    expect(res.status).toBe(400);
    expect((res.json as { error: string }).error).toMatch(/^EXECABORT .*wrong number of arguments/);
    expect(await direct.exists(k)).toBe(0);
  });

  it('supports expire / ttl and set with ex', async () => {
    const k = key('ttl');
    await redis.set(k, 'v');
    expect(await redis.ttl(k)).toBe(-1);
    expect(await redis.expire(k, 100)).toBe(1);
    const ttl = await redis.ttl(k);
    expect(ttl).toBeGreaterThanOrEqual(99);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(Math.abs((await direct.ttl(k)) - ttl)).toBeLessThanOrEqual(1);
    expect(await redis.expire(key('missing'), 100)).toBe(0);
    expect(await redis.ttl(key('missing'))).toBe(-2);

    const e = key('ex');
    await redis.set(e, { a: 1 }, { ex: 50 });
    const ttlEx = await direct.ttl(e);
    expect(ttlEx).toBeGreaterThan(45);
    expect(ttlEx).toBeLessThanOrEqual(50);
  });

  it('supports del and mget', async () => {
    const a = key('a');
    const b = key('b');
    const c = key('c');
    await redis.set(a, 'p1');
    await redis.set(b, 10);
    await redis.set(c, { x: 'user' });
    expect(await redis.mget(a, b, key('missing'), c)).toEqual(['p1', 10, null, { x: 'user' }]);
    expect(await redis.del(a, b, key('missing'))).toBe(2);
    expect(await direct.exists([a, b])).toBe(0);
    expect(await direct.exists(c)).toBe(1);
  });

  it('handles many concurrent commands (auto-pipelined by the client)', async () => {
    const k = key('concurrent');
    const results = await Promise.all(Array.from({ length: 200 }, () => redis.incr(k)));
    expect(new Set(results).size).toBe(200);
    expect(Math.max(...results)).toBe(200);
    expect(await direct.get(k)).toBe('200');
  });

  it('rejects a wrong token with 401 (client throws) and executes nothing', async () => {
    const k = key('wrong-token');
    const bad = new Redis({ url: gateway.url, token: 'not-the-token' });
    const err: unknown = await bad.set(k, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstashError);
    expect((err as Error).message).toMatch(/Unauthorized/);
    await expect(new Redis({ url: gateway.url, token: 'nope', enableAutoPipelining: false }).get(k)).rejects.toThrow(/Unauthorized/);
    expect(await direct.exists(k)).toBe(0);
  });

  it('turns a Redis error into UpstashError (wrong type), via /pipeline and via POST /', async () => {
    const k = key('wrongtype');
    await redis.set(k, 'str');
    const err: unknown = await redis.lpush(k, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstashError);
    expect((err as Error).message).toMatch(/WRONGTYPE/);

    const single = new Redis({ url: gateway.url, token: TOKEN, enableAutoPipelining: false });
    const err2: unknown = await single.lpush(k, 'x').catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(UpstashError);
    expect((err2 as Error).message).toMatch(/WRONGTYPE/);
    expect(await single.get(k)).toBe('str');
    expect(await direct.get(k)).toBe('str');

    const res = await raw('/', { body: JSON.stringify(['LPUSH', k, 'x']) });
    expect(res.status).toBe(400);
    expect((res.json as { error: string }).error).toMatch(/^WRONGTYPE/);
  });

  it('reports an error in one pipeline command without failing the others', async () => {
    const k = key('pipe-err');
    const c = key('pipe-err-c');
    const p = redis.pipeline();
    p.set(k, 'p1');
    p.lpush(k, 'x');
    p.incr(c);
    await expect(p.exec()).rejects.toThrow(/Command 2 \[ lpush \] failed: WRONGTYPE/);
    expect(await direct.get(k)).toBe('p1');
    expect(await direct.get(c)).toBe('1');

    const kept = redis.pipeline();
    kept.get(k);
    kept.lpush(k, 'x');
    kept.incr(c);
    const results = await kept.exec({ keepErrors: true });
    expect(results[0]).toEqual({ error: undefined, result: 'p1' });
    expect(results[1]?.error).toMatch(/^WRONGTYPE/);
    expect(results[2]).toEqual({ error: undefined, result: 2 });
  });

  it('requires the bearer token on every route (raw HTTP)', async () => {
    const k = key('noauth');
    const cases: Array<[string, string | undefined]> = [
      ['/', JSON.stringify(['SET', k, 'v'])],
      ['/pipeline', JSON.stringify([['SET', k, 'v']])],
      ['/multi-exec', JSON.stringify([['SET', k, 'v']])],
      [`/set/${encodeURIComponent(k)}/v`, undefined],
      ['/no-such-route', undefined],
    ];
    for (const [path, body] of cases) {
      for (const token of [null, '', 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
        const res = await raw(path, { token, ...(body !== undefined ? { body } : {}) });
        expect(res.status, `${path} with token ${String(token)}`).toBe(401);
        expect(res.json).toEqual({ error: 'Unauthorized' });
      }
    }
    expect(await direct.exists(k)).toBe(0);
  });

  it('answers malformed bodies with 400, unknown paths (the path form included) with 404', async () => {
    expect((await raw(`/set/${encodeURIComponent(key('path'))}/p1`, { method: 'GET' })).status).toBe(404);
    for (const [path, body] of [
      ['/', '["GET",'],
      ['/pipeline', 'nope'],
      ['/multi-exec', '{"a":1}'],
      ['/', '{}'],
    ] as const) {
      const res = await raw(path, { body });
      expect(res.status, `${path} ${body}`).toBe(400);
      expect(typeof (res.json as { error?: unknown }).error).toBe('string');
    }
    const unknown = await raw('/no-such-route');
    expect(unknown.status).toBe(404);
    expect(typeof (unknown.json as { error?: unknown }).error).toBe('string');
    expect((await raw('/pipeline', { method: 'GET' })).status).toBe(405);
  });

  it('answers only requests addressed to this machine by name (no DNS rebinding from a web page)', async () => {
    const { port } = new URL(gateway.url);
    const send = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = http.request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/',
            headers: { Host: host, Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
          },
          (response) => {
            let body = '';
            response.on('data', (chunk) => (body += chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        request.on('error', reject);
        request.end('["PING"]');
      });
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
      expect(await send(host), host).toEqual({ status: 200, body: '{"result":"PONG"}' });
    }
    for (const host of [`evil.example:${port}`, 'attacker.test', `127.0.0.1.nip.io:${port}`, `localhost.evil.example:${port}`]) {
      const answer = await send(host);
      expect(answer.status, host).toBe(403);
      expect(JSON.parse(answer.body), host).toEqual({ error: expect.any(String) });
    }
  });

  it('refuses administrative commands as Upstash does, and keeps serving data commands', async () => {
    const k = key('admin');
    await direct.set(k, 'still-here');
    for (const command of [
      ['CONFIG', 'SET', 'dir', '/tmp'],
      ['CONFIG', 'GET', 'dir'],
      ['SAVE'],
      ['BGSAVE'],
      ['BGREWRITEAOF'],
      ['FLUSHALL'],
      ['FLUSHDB'],
      ['SHUTDOWN'],
      ['DEBUG', 'SLEEP', '0'],
      ['MODULE', 'LIST'],
      ['REPLICAOF', 'NO', 'ONE'],
      ['SLAVEOF', 'NO', 'ONE'],
      ['ACL', 'LIST'],
      ['CLIENT', 'KILL', 'TYPE', 'normal'],
      ['MIGRATE', '127.0.0.1', '6380', k, '0', '1000'],
      ['FAILOVER'],
      ['LATENCY', 'RESET'],
    ]) {
      const single = await raw('/', { body: JSON.stringify(command) });
      expect(single.status, command.join(' ')).toBe(400);
      expect(single.json, command.join(' ')).toEqual({ error: expect.stringMatching(/^ERR /) });
      const piped = await raw('/pipeline', { body: JSON.stringify([command, ['GET', k]]) });
      expect(piped.json, command.join(' ')).toEqual([{ error: expect.stringMatching(/^ERR /) }, { result: 'still-here' }]);
    }
    expect(await direct.get(k)).toBe('still-here');
    expect(await redis.get(k)).toBe('still-here');
  });

  it('refuses commands that would break the shared connection', async () => {
    const res = await raw('/', { body: '["SUBSCRIBE","x"]' });
    expect(res.status).toBe(400);
    const pipe = await raw('/pipeline', { body: '[["MULTI"],["PING"]]' });
    expect(pipe.status).toBe(200);
    expect(pipe.json).toEqual([{ error: expect.stringMatching(/not allowed/) as unknown }, { result: 'PONG' }]);
  });

  it('answers 503 quickly when Redis goes away, and startGateway fails fast if Redis is unreachable', async () => {
    // A TCP proxy in front of the real Redis lets us cut the connection.
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(new URL(REDIS_URL).port ? Number(new URL(REDIS_URL).port) : 6379, new URL(REDIS_URL).hostname);
      sockets.add(client).add(upstream);
      client.on('error', () => {});
      upstream.on('error', () => {});
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
    const port = (proxy.address() as net.AddressInfo).port;
    const gw = await startGateway({ port: 0, token: TOKEN, redisUrl: `redis://127.0.0.1:${port}` });
    try {
      const client = new Redis({ url: gw.url, token: TOKEN });
      expect(await client.ping()).toBe('PONG');
      proxy.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      const err: unknown = await client.get(key('down')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpstashError);
      expect((err as Error).message).toMatch(/redis unavailable/);
      expect(Date.now() - started).toBeLessThan(2000);
      const res = await fetch(`${gw.url}/`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: '["PING"]' });
      expect(res.status).toBe(503);
    } finally {
      await gw.close();
      proxy.close();
    }

    const started = Date.now();
    await expect(startGateway({ port: 0, token: TOKEN, redisUrl: `redis://127.0.0.1:${port}` })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
