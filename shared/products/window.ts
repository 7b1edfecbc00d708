/**
 * The time window of a top-products answer. Windows are whole UTC days so that the Redis leaderboard
 * (one sorted set per UTC day) and the Postgres aggregate count exactly the same orders:
 * `days = N` means "today (UTC) and the N − 1 UTC days before it", i.e. every order with
 * `order_date >= start of (today − (N − 1)) UTC`. No `days` means all time.
 */
export const DAY_MS = 86_400_000;
export const MAX_WINDOW_DAYS = 365;

export interface SalesWindow {
  /** null = all time. */
  days: number | null;
  /** First instant counted (midnight UTC), null = all time. */
  since: Date | null;
  /** The UTC day `now` falls in (YYYY-MM-DD). */
  today: string;
  /** Stable name for cache keys: `all` or `d30`. */
  id: string;
}

/** What a response says about its window. */
export interface WindowInfo {
  days: number | null;
  since: string | null;
}

export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** YYYY-MM-DD of the UTC day `ms` falls in. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function dayStartMs(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`);
}

export function resolveWindow(days: number | null | undefined, nowMs: number = Date.now()): SalesWindow {
  const todayStart = startOfUtcDay(nowMs);
  const today = utcDay(todayStart);
  if (days === null || days === undefined) return { days: null, since: null, today, id: 'all' };
  if (!Number.isInteger(days) || days < 1 || days > MAX_WINDOW_DAYS) {
    throw new RangeError(`days must be an integer between 1 and ${MAX_WINDOW_DAYS} (got ${days})`);
  }
  return { days, since: new Date(todayStart - (days - 1) * DAY_MS), today, id: `d${days}` };
}

/** The UTC days before today that a window covers, newest first (empty for 1 day and for all time). */
export function pastDays(window: SalesWindow): string[] {
  if (window.days === null) return [];
  const todayStart = dayStartMs(window.today);
  const out: string[] = [];
  for (let i = 1; i < window.days; i++) out.push(utcDay(todayStart - i * DAY_MS));
  return out;
}

export function windowInfo(window: SalesWindow): WindowInfo {
  return { days: window.days, since: window.since ? window.since.toISOString() : null };
}
