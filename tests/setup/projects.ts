/**
 * The test tiers, by file name: what each needs running before its first test. The global setup starts
 * exactly that for the tiers that have selected files (`npm run test:unit` starts nothing at all).
 *   *.unit.test.ts    pure logic, no service
 *   *.test.ts         the stores: PostgreSQL, Redis through the Upstash REST gateway, the MongoDB server
 *   *.e2e.test.ts     the stores and serverless-offline (HTTP API and Lambda API)
 *   *.pooler.test.ts  the stores and PgBouncer (installed by the setup when missing)
 *   *.browser.test.ts the stores, serverless-offline and Chromium (Debian's, installed by the setup when
 *                     missing), driven by playwright-core: the web console's journeys
 *   *.artifacts.test.ts the stores; the packaged zips run in the Lambda Runtime Interface Emulator (which the
 *                     test builds and installs on first use)
 */
export type Need = 'stores' | 'offline' | 'pgbouncer' | 'chromium';

export interface Tier {
  name: string;
  include: string;
  needs: Need[];
}

export const TIERS: Tier[] = [
  { name: 'unit', include: 'tests/**/*.unit.test.ts', needs: [] },
  { name: 'integration', include: 'tests/**/*.test.ts', needs: ['stores'] },
  { name: 'e2e', include: 'tests/**/*.e2e.test.ts', needs: ['stores', 'offline'] },
  { name: 'pooler', include: 'tests/**/*.pooler.test.ts', needs: ['stores', 'pgbouncer'] },
  { name: 'browser', include: 'tests/**/*.browser.test.ts', needs: ['stores', 'offline', 'chromium'] },
  { name: 'artifacts', include: 'tests/**/*.artifacts.test.ts', needs: ['stores'] },
];

export const PROJECT_NEEDS: Record<string, Need[]> = Object.fromEntries(TIERS.map((tier) => [tier.name, tier.needs]));
