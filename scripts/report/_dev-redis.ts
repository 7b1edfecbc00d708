import { loadLocalEnv } from '../lib/env.js';
loadLocalEnv();
const { getRedis } = await import('../../shared/clients/redis.js');
const r = getRedis();
await r.set('x:probe', { a: 1, b: 'hello' });
for (let k = 0; k < 3; k++) {
  const s: number[] = [];
  for (let i = 0; i < 30; i++) { const t = performance.now(); await r.get('x:probe'); s.push(performance.now() - t); }
  s.sort((a, b) => a - b); console.log('client', s[15]!.toFixed(2), s[0]!.toFixed(2));
}
const s: number[] = [];
for (let i = 0; i < 30; i++) { const t = performance.now(); await fetch(process.env.UPSTASH_REDIS_REST_URL + '/get/x:probe', { headers: { authorization: 'Bearer ' + process.env.UPSTASH_REDIS_REST_TOKEN } }).then(r => r.text()); s.push(performance.now() - t); }
s.sort((a, b) => a - b); console.log('fetch', s[15]!.toFixed(2));
await r.del('x:probe');
