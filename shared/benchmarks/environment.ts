import os from 'node:os';
import type { Sql } from '../clients/postgres.js';

/** The machine and server a run measured: numbers without this are not comparable across runs. */
export interface BenchmarkEnvironment {
  postgres: {
    version: string;
    serverVersionNum: number;
    /** Settings that move plans and timings. */
    settings: Record<string, string>;
  };
  node: string;
  platform: string;
  arch: string;
  cpus: number;
  cpuModel: string;
  memoryMb: number;
  /** 1, 5 and 15-minute load averages when the run started: a busy machine makes noisy numbers. */
  loadAverage: number[];
  lambda?: { functionName: string; memoryLimitInMB: string; region?: string };
  /** Work-rate ratio to the reference machine (see budget.ts); 1 = as fast, 2 = half as fast. */
  calibrationFactor?: number;
}

const SETTINGS = [
  'shared_buffers',
  'work_mem',
  'effective_cache_size',
  'random_page_cost',
  'max_parallel_workers_per_gather',
  'jit',
  'default_statistics_target',
  'synchronous_commit',
  'max_connections',
];

export async function describeEnvironment(
  sql: Sql,
  lambda?: { functionName: string; memoryLimitInMB: string },
): Promise<BenchmarkEnvironment> {
  const [server] = await sql<Array<{ version: string; num: number }>>`
    select version() as version, current_setting('server_version_num')::int as num`;
  const settings = await sql<Array<{ name: string; value: string }>>`
    select name, current_setting(name) as value from pg_settings where name = any(${SETTINGS}) order by name`;
  const cpus = os.cpus();
  return {
    postgres: {
      version: server?.version ?? 'unknown',
      serverVersionNum: server?.num ?? 0,
      settings: Object.fromEntries(settings.map((row) => [row.name, row.value])),
    },
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryMb: Math.round(os.totalmem() / 1024 / 1024),
    loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
    ...(lambda ? { lambda: { ...lambda, ...(process.env.AWS_REGION ? { region: process.env.AWS_REGION } : {}) } } : {}),
  };
}
