/**
 * What the cart domain functions cost over the raw driver, on whatever Mongo-protocol server the suite
 * talks to (FerretDB natively, mongo:7 with compose), each cell in a scratch database of its own (reset:
 * one cart version per customer on each side). On FerretDB a read of the newest version decodes every stored
 * version of the customer (docs/carts.md#bench): a cell would otherwise pay for what the cells before it
 * wrote, the more the faster the machine, and enough customers keep what a cell adds to a few per customer:
 *   domain  getCart (1 round trip), saveCart with If-Match of the version it read (its ETag: the insert
 *           alone, 1 round trip), then saveCart without If-Match (read the newest + insert = 2), on a
 *           customer no other worker holds at that moment;
 *   raw     findOne({_id}) of the customer's last document, then insertOne of the same document twice:
 *           a document per save like the domain's (so both collections hold as many), no versioning, no
 *           expiry filter, no read before a write;
 * in rotating halves at each concurrency, then the reads alone (the scaling table). The goals are this
 * suite's, from round trips: a get and a save with the ETag are one round trip like the raw call (≤ 1.5×,
 * ≤ 2×: an insert also maintains the customer and purgeAt indexes); a save without If-Match is 2 where the
 * raw insert is 1 (≤ 4×). */
import { MongoClient } from 'mongodb';
import { metric } from '../shared/benchmarks/metric.js';
import { type Cart, getCart, saveCart } from '../shared/carts/carts.js';
import type { SaveCartBody } from '../shared/carts/schemas.js';
import { ensureCartIndexes } from '../shared/carts/store.js';
import { mongoClientOptions } from '../shared/clients/mongo.js';
import { parseConfig } from '../shared/config.js';
import type { Profile, SuiteContext } from './lib/context.js';
import { mongoServer } from './lib/fixtures.js';
import { closedLoop, type Measured, rotate, scaling } from './lib/measure.js';
import type { BenchOutput } from './lib/result.js';

const PROFILES: Record<Profile, { durationS: number; customers: number; concurrency: number[] }> = {
  full: { durationS: 6, customers: 600, concurrency: [1, 4, 16, 64] },
  quick: { durationS: 2, customers: 200, concurrency: [1, 16] },
  tiny: { durationS: 1, customers: 10, concurrency: [1] },
};
const DATABASE = 'shop_bench_carts';
type Part = 'get' | 'save with ETag' | 'save';
const p50 = (m: Measured, step: Part) => m.parts?.[step]?.p50 ?? Number.NaN;
/** Each step's row, p50 against the raw call's: the goals follow from round trips (header). */
const GOALS: Array<[Part, string, number]> = [
  ['save with ETag', 'saveCart with its ETag (1 insert) vs raw insertOne', 2],
  ['save', 'saveCart without If-Match (find + insert) vs raw insertOne', 4],
  ['get', 'getCart vs raw findOne by _id', 1.5],
];

function cartBody(n: number): SaveCartBody {
  return {
    items: [
      { productId: 1 + (n % 500), quantity: 1 + (n % 5), attributes: { size: ['S', 'M', 'L'][n % 3]!, giftWrap: n % 2 === 0 } },
      { productId: 501 + (n % 500), quantity: 2, attributes: { engraving: { text: `bench ${n}`, font: 'serif' } } },
      { productId: 1001 + (n % 500), quantity: 1 },
    ],
    note: 'bench',
  };
}

export async function run(ctx: SuiteContext): Promise<BenchOutput> {
  const o = PROFILES[ctx.profile];
  const config = parseConfig(ctx.functionEnv);
  const client = new MongoClient(config.mongo.uri, { ...mongoClientOptions(config.mongo, 'ecommerce-pipeline-bench'), maxPoolSize: 32 });
  let db = client.db(DATABASE);
  try {
    const server = await mongoServer(db);
    const ttlIndex = (await ensureCartIndexes(db)).status;
    // The raw store holds what the domain's does (a document per save, same shape, same count), keyed
    // by _id alone: no versioning, no expiry filter, no read before a write. Inserts, not upserts: on
    // FerretDB v1's PostgreSQL backend 20+ concurrent updates deadlock its pool (docs/ferretdb.md).
    let raw = db.collection<{ _id: string }>('carts_raw');
    const rawNewest = new Map<number, string>();
    const rawInsert = async (id: number, n: number, doc: object) => {
      const _id = `${id}:${n}`;
      await raw.insertOne({ _id, ...doc });
      rawNewest.set(id, _id);
    };
    const ttlMs = config.carts.ttlSeconds * 1000;
    type Step = (name: string, ms: number) => void;
    const timed = async (step: Step, name: string, fn: () => Promise<unknown>) => {
      const t0 = performance.now();
      await fn();
      step(name, performance.now() - t0);
    };
    /** Customer `id`'s cart read, saved with the version read, saved again; each step timed. */
    const pairs = {
      domain: async (id: number, n: number, step: Step) => {
        let seen!: Cart;
        await timed(step, 'get', async () => (seen = await getCart(db, id)));
        const ifMatch = { version: seen.version, expiresAt: new Date(seen.expiresAt) };
        await timed(step, 'save with ETag', () => saveCart(db, id, cartBody(n), { ifMatch }));
        await timed(step, 'save', () => saveCart(db, id, cartBody(n + 1)));
      },
      raw: async (id: number, n: number, step: Step) => {
        const now = new Date();
        const doc = { customerId: id, ...cartBody(n), deleted: false, updatedAt: now, expiresAt: new Date(now.getTime() + ttlMs) };
        await timed(step, 'get', async () => {
          if (!(await raw.findOne({ _id: rawNewest.get(id)! }))) throw new Error('raw findOne found nothing');
        });
        await timed(step, 'save with ETag', () => rawInsert(id, n, doc));
        await timed(step, 'save', () => rawInsert(id, n + 1, doc));
      },
    };
    let n = 0;
    // A customer per worker at a time, so that a save with the ETag just read never races another worker.
    const busy = new Set<number>();
    const withFreeCustomer = async (pair: typeof pairs.domain, step: Step) => {
      let id: number;
      do id = 1 + Math.floor(Math.random() * o.customers);
      while (busy.has(id));
      busy.add(id);
      try {
        await pair(id, (n += 2), step);
      } finally {
        busy.delete(id);
      }
    };
    const loop = (pair: typeof pairs.domain, concurrency: number, seconds: number) =>
      closedLoop(concurrency, seconds, (step) => withFreeCustomer(pair, step), 0);
    const reset = async (cell: string) => {
      await db.dropDatabase();
      db = client.db(`${DATABASE}_${cell}`);
      raw = db.collection<{ _id: string }>('carts_raw');
      await db.dropDatabase();
      const seed = async (first: number) => {
        for (let id = first; id <= o.customers; id += 8) {
          await saveCart(db, id, cartBody(id));
          await rawInsert(id, 0, { customerId: id, ...cartBody(id) });
        }
      };
      await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(seed));
    };
    await reset('warmup');
    // Warm the connection pool (fewer workers than customers: a worker waits for a free one by drawing again).
    for (const pair of Object.values(pairs)) await loop(pair, Math.min(16, o.customers / 2), 0.5);
    console.log(`carts: ${server}, TTL index ${ttlIndex}, ${o.customers} carts of 3 lines`);

    const cells: Array<{ concurrency: number; domain: Measured; raw: Measured }> = [];
    for (const c of o.concurrency) {
      await reset(`c${c}`);
      const [domain, rawM] = await rotate([(s) => loop(pairs.domain, c, s), (s) => loop(pairs.raw, c, s)], o.durationS);
      cells.push({ concurrency: c, domain: domain!, raw: rawM! });
    }
    await reset('reads');
    const anyone = () => 1 + Math.floor(Math.random() * o.customers);
    const readRaw = () => raw.findOne({ _id: rawNewest.get(anyone())! });
    const reads = await scaling(o.concurrency, o.durationS / 2, () => getCart(db, anyone()), readRaw);
    const metrics = cells.flatMap(({ concurrency: c, domain: d, raw: r }) => {
      const errors = Object.entries({ ...d.errorKinds, ...r.errorKinds }).map(([code, count]) => `${code}×${count}`);
      const note = errors.length ? { note: `failed pairs: ${errors.join(' ')}` } : {};
      return [
        ...GOALS.map(([step, what, max], i) =>
          metric('carts', {
            metric: `${what}, c=${c}, p50`,
            ours: p50(d, step),
            reference: p50(r, step),
            unit: 'ms',
            goal: { on: 'ratio', op: '<=', value: max },
            ...(i === 0 ? note : {}),
          }),
        ),
        metric('carts', { metric: `get+save+save rounds/s vs raw, c=${c}`, ours: d.tps, reference: r.tps, unit: 'rounds/s' }),
      ];
    });
    return { metrics, details: { database: `${DATABASE}_<cell>`, server, ttlIndex, options: o, cells, scaling: reads } };
  } finally {
    await db.dropDatabase().catch(() => {});
    await client.close();
  }
}
