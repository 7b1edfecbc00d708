/**
 * Where the CPU went during a measurement (Linux /proc): CPU seconds per group of processes — the
 * serverless-offline process (its worker threads included), PostgreSQL, PgBouncer, FerretDB, Redis, the
 * Upstash gateway, the load generator itself, and everything else on the machine (other users' jobs).
 * Answers "what limits the throughput" with numbers instead of guesses.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export const CPU_GROUPS = [
  'serverless-offline',
  'postgres',
  'pgbouncer',
  'ferretdb',
  'redis',
  'upstash-gateway',
  'load generator',
  'other',
] as const;
export type CpuGroup = (typeof CPU_GROUPS)[number];

interface Snapshot {
  at: number;
  perPid: Map<number, { group: CpuGroup; ticks: number }>;
  machineBusyTicks: number;
}

function classify(pid: number, comm: string, known: { offlinePid?: number; selfPid: number }): CpuGroup {
  if (pid === known.selfPid) return 'load generator';
  if (pid === known.offlinePid) return 'serverless-offline';
  if (comm === 'postgres' || comm === 'pgbouncer' || comm === 'ferretdb') return comm;
  if (comm.startsWith('redis-server')) return 'redis';
  // Node 24 names its main thread, and so the process's comm, MainThread.
  if (comm === 'node' || comm === 'MainThread') {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('upstash-gateway')) return 'upstash-gateway';
    } catch {
      // gone
    }
  }
  return 'other';
}

function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!; // cpu  user nice system idle iowait irq softirq steal …
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  return user! + nice! + system! + irq! + softirq! + steal!;
}

export const cpuSupported = (): boolean => existsSync('/proc/stat');

export function cpuSnapshot(known: { offlinePid?: number }): Snapshot {
  const perPid = new Map<number, { group: CpuGroup; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' '); // fields[0] = state (field 3)
      const ticks = Number(fields[11]) + Number(fields[12]); // utime (14), stime (15)
      perPid.set(pid, { group: classify(pid, comm, { ...known, selfPid: process.pid }), ticks });
    } catch {
      // exited meanwhile
    }
  }
  return { at: performance.now(), perPid, machineBusyTicks: machineBusyTicks() };
}

/** Cores used per group between two snapshots (CPU seconds / wall seconds); `other` = machine total − known groups. */
export function coresUsed(before: Snapshot, after: Snapshot): Record<CpuGroup | 'machine', number> & { cores: number } {
  const seconds = (after.at - before.at) / 1000;
  const out: Record<string, number> = {};
  let known = 0;
  for (const [pid, a] of after.perPid) {
    if (a.group === 'other') continue;
    const delta = a.ticks - (before.perPid.get(pid)?.ticks ?? 0);
    out[a.group] = (out[a.group] ?? 0) + delta;
    known += delta;
  }
  const machine = after.machineBusyTicks - before.machineBusyTicks;
  const result: Record<string, number> = { cores: os.cpus().length, machine: round(machine / TICKS_PER_SECOND / seconds) };
  for (const [group, ticks] of Object.entries(out)) result[group] = round(ticks / TICKS_PER_SECOND / seconds);
  result.other = round(Math.max(0, machine - known) / TICKS_PER_SECOND / seconds);
  return result as Record<CpuGroup | 'machine', number> & { cores: number };
}

const round = (x: number) => Math.round(x * 100) / 100;
