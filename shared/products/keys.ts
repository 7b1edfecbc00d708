/**
 * Every Redis key the top-products feature uses, in one place. All keys live under
 * `<namespace>:top-products:<version>:` (namespace = `<service>:<stage>`, see config.redis.namespace),
 * so stages sharing one Redis never see each other's keys and a format change is a version bump
 * (old keys simply expire: every key has a TTL).
 *
 * Sorted-set conventions (leaderboard):
 * - member = the product id zero-padded to 10 digits, so lexicographic order = numeric order;
 * - units sets store score = −units: ascending ZRANGE then yields "most units first, ties by lowest
 *   product id" in one command — exactly the contract's order;
 * - revenue sets store score = +revenue in integer cents (exact: integers < 2^53);
 * - sets built from Postgres also hold COMPLETE_MEMBER (score 0).
 */
export const TOP_PRODUCTS_KEY_VERSION = 'v3';

/**
 * A member every sorted set written from Postgres carries (score 0: after every product that sold, so it
 * is never read as one). recordSale never writes it, so a set that lost it was recreated by a sale after
 * an eviction — incomplete — which the reconcile job detects and repairs.
 */
export const COMPLETE_MEMBER = '~complete';

const MEMBER_WIDTH = 10;

export function encodeMember(productId: number): string {
  return String(productId).padStart(MEMBER_WIDTH, '0');
}

/** @upstash/redis JSON-parses replies, so "1000000000" comes back as a number and "0000000042" as a string. */
export function decodeMember(member: unknown): number {
  const id = typeof member === 'number' ? member : typeof member === 'string' && /^[0-9]{1,10}$/.test(member) ? Number(member) : NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw new TypeError(`not a leaderboard member: ${String(member).slice(0, 40)}`);
  return id;
}

export type TopProductsKeys = ReturnType<typeof topProductsKeys>;

export function topProductsKeys(namespace: string) {
  const base = `${namespace}:top-products:${TOP_PRODUCTS_KEY_VERSION}`;
  const lb = `${base}:lb`;
  return {
    base,
    /** JSON snapshot served to readers: top 100 of one window. */
    snapshot: (windowId: string) => `${base}:snap:${windowId}`,
    /** SET NX PX lock: one caller refreshes a window's snapshot. */
    snapshotLock: (windowId: string) => `${base}:lock:snap:${windowId}`,
    /** Lock for the reconcile job (one run at a time). */
    reconcileLock: `${base}:lock:reconcile`,
    /** Present (JSON) once a full rebuild from Postgres has loaded the leaderboard. */
    meta: `${lb}:meta`,
    dayUnits: (day: string) => `${lb}:day:${day}:units`,
    dayRevenue: (day: string) => `${lb}:day:${day}:revenue`,
    allUnits: `${lb}:all:units`,
    allRevenue: `${lb}:all:revenue`,
    /** Cached union of the `days − 1` days before `today` (past days barely change: short TTL). */
    pastUnits: (today: string, days: number) => `${lb}:past:${today}:${days}:units`,
    pastRevenue: (today: string, days: number) => `${lb}:past:${today}:${days}:revenue`,
    /** Scratch keys (unions, rebuilds), unique per use, short TTL. */
    tmp: (id: string) => `${lb}:tmp:${id}`,
  };
}
