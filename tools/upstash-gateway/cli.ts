/**
 * Local Upstash REST endpoint over a real Redis.
 *
 *   UPSTASH_REDIS_REST_TOKEN=dev-token npx tsx tools/upstash-gateway/cli.ts
 *
 * Env:
 *   UPSTASH_REDIS_REST_TOKEN  required; the bearer token clients must send
 *   UPSTASH_GATEWAY_PORT      default 8079
 *   UPSTASH_GATEWAY_HOST      default 127.0.0.1
 *   REDIS_URL                 default redis://127.0.0.1:6379
 *   GATEWAY_LOG=1             per-request access log on stderr
 */
import { startGateway } from './gateway.js';

function redact(redisUrl: string): string {
  try {
    const u = new URL(redisUrl);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return redisUrl;
  }
}

function fatal(message: string): never {
  console.error(`upstash-gateway: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  const token = process.env.UPSTASH_REDIS_REST_TOKEN;
  if (!token) fatal('UPSTASH_REDIS_REST_TOKEN is required (the bearer token clients must present)');

  const portRaw = process.env.UPSTASH_GATEWAY_PORT ?? '8079';
  const port = Number(portRaw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fatal(`UPSTASH_GATEWAY_PORT must be an integer between 0 and 65535, got "${portRaw}"`);
  }
  const host = process.env.UPSTASH_GATEWAY_HOST || '127.0.0.1';
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

  const gateway = await startGateway({ port, host, token, redisUrl }).catch((err: unknown) =>
    fatal(`failed to start (redis ${redact(redisUrl)}): ${(err as Error)?.message ?? String(err)}`),
  );
  console.log(`upstash-gateway listening on ${gateway.url} -> ${redact(redisUrl)}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`upstash-gateway: ${signal} again, exiting immediately`);
      process.exit(1);
    }
    stopping = true;
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => fatal(`error while closing: ${(err as Error)?.message ?? String(err)}`),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
