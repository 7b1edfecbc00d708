/** Clean-up of the suite's cache namespace (it can hold ~175 MB of leaderboard at 1M orders). */
import type { Redis } from '@upstash/redis';

export async function deleteNamespace(redis: Redis, namespace: string): Promise<number> {
  let cursor: string | number = '0';
  let deleted = 0;
  do {
    const [next, keys]: [string | number, string[]] = await redis.scan(cursor, { match: `${namespace}:*`, count: 1000 });
    cursor = next;
    for (let i = 0; i < keys.length; i += 500) deleted += await redis.unlink(...keys.slice(i, i + 500));
  } while (String(cursor) !== '0');
  return deleted;
}
