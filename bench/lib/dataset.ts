/**
 * The suite's data set (scratch database shop_bench): loaded by the seed benchmark (which keeps it), or
 * here when the seed benchmark is not part of the run. Reused when it already has the expected volume.
 */
import postgres from 'postgres';
import { seed } from '../../scripts/db/seed.js';
import { migrate } from '../../shared/db/migrate.js';
import type { Counts } from './context.js';
import { assertScratchName, createScratch, databaseName } from './scratch.js';

export async function datasetCounts(url: string): Promise<Counts | undefined> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<Array<Counts>>`
      select (select count(*) from customers)::int as customers, (select count(*) from products)::int as products,
             (select count(*) from orders)::int as orders`;
    return row;
  } catch {
    return undefined;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Makes sure `url` (a shop_bench* database) holds a seed of `counts`; returns what it did. */
export async function ensureDataset(
  baseUrl: string,
  url: string,
  counts: Counts,
  log: (line: string) => void,
): Promise<'reused' | 'seeded'> {
  const database = databaseName(url);
  assertScratchName(database);
  await createScratch(baseUrl, database);
  await migrate(url);
  const current = await datasetCounts(url);
  if (current && current.customers === counts.customers && current.products === counts.products && current.orders === counts.orders) {
    return 'reused';
  }
  log(`data set: seeding ${database} with ${counts.orders.toLocaleString('en-US')} orders (scripts/db/seed.ts) …`);
  await seed(url, { ...counts, seed: 1, reset: true });
  return 'seeded';
}
