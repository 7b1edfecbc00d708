import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { BinaryCopyWriter, centsToText, SeedDataGenerator } from '../../scripts/db/seed-data.js';
import { AliasSampler, Rng } from '../../scripts/db/seed-random.js';
import { connect } from './helpers.js';

/** The generator's building blocks: randomness, sampling, and the COPY binary encoding. */
const sql = connect();

afterAll(async () => {
  await sql.end({ timeout: 5 });
});

describe('Rng', () => {
  it('repeats a stream for the same (seed, stream, index) and differs otherwise', () => {
    const draw = (seed: number, stream: number, index: number) => {
      const rng = new Rng(seed, stream, index);
      return Array.from({ length: 5 }, () => rng.next());
    };
    expect(draw(1, 2, 3)).toEqual(draw(1, 2, 3));
    expect(draw(1, 2, 3)).not.toEqual(draw(2, 2, 3));
    expect(draw(1, 2, 3)).not.toEqual(draw(1, 3, 3));
    expect(draw(1, 2, 3)).not.toEqual(draw(1, 2, 4));
  });

  it('draws uniform floats in [0, 1)', () => {
    const rng = new Rng(9);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = rng.float();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
    }
    expect(sum / 100_000).toBeCloseTo(0.5, 2);
  });
});

describe('AliasSampler', () => {
  it('draws indexes in proportion to their weights', () => {
    const weights = [5, 0, 1, 4];
    const sampler = new AliasSampler(weights);
    const rng = new Rng(1);
    const counts = [0, 0, 0, 0];
    const n = 200_000;
    for (let i = 0; i < n; i++) counts[sampler.sample(rng)]! += 1;
    expect(counts[1]).toBe(0);
    expect(counts[0]! / n).toBeCloseTo(0.5, 2);
    expect(counts[2]! / n).toBeCloseTo(0.1, 2);
    expect(counts[3]! / n).toBeCloseTo(0.4, 2);
  });

  it('rejects unusable weights', () => {
    expect(() => new AliasSampler([])).toThrow();
    expect(() => new AliasSampler([0, 0])).toThrow();
    expect(() => new AliasSampler([1, -1])).toThrow();
  });
});

describe('COPY binary encoding', () => {
  const cents = [
    0, 1, 5, 10, 99, 100, 101, 999, 1_000, 10_000, 12_345, 99_999, 100_000, 999_999, 1_000_000, 1_000_001, 123_456_789, 100_000_000_000,
    999_999_999_999,
  ];
  const epochSeconds = [946_684_800, 946_684_799, 0, 1_767_225_599, 1_798_761_600];

  it('round-trips numeric(12,2) cents and timestamptz through Postgres exactly', async () => {
    const out = new BinaryCopyWriter(64 * 1024);
    out.header();
    for (let i = 0; i < cents.length; i++) {
      out.int16(3);
      out.int8Field(i);
      out.numericCentsField(cents[i]!);
      out.timestamptzField(epochSeconds[i % epochSeconds.length]!);
    }
    out.trailer();
    const rows = await sql.begin(async (tx) => {
      await tx`create temp table encoded (i bigint, amount numeric(12, 2), at timestamptz) on commit drop`;
      const stream = await tx`copy encoded (i, amount, at) from stdin with (format binary)`.writable();
      await pipeline(Readable.from([out.take()]), stream);
      return tx<Array<{ i: number; amount: string; at: Date }>>`select i, amount::text, at from encoded order by i`;
    });
    expect(rows.map((r) => r.amount)).toEqual(cents.map(centsToText));
    expect(rows.map((r) => r.at.getTime() / 1000)).toEqual(cents.map((_, i) => epochSeconds[i % epochSeconds.length]));
  });

  it('writes canonical numerics (no leading or trailing zero digit groups)', async () => {
    const [row] = await sql<Array<{ ok: boolean }>>`select numeric_send(100.00) = numeric_send(100.00::numeric(12, 2)) as ok`;
    expect(row!.ok).toBe(true);
    for (const value of [0, 100, 1_000_000, 100_000_000_000, 50, 123_400]) {
      const out = new BinaryCopyWriter(64);
      out.numericCentsField(value);
      const mine = out.take().subarray(4); // without the length prefix
      const [sent] = await sql<Array<{ bytes: Buffer }>>`select numeric_send(${centsToText(value)}::numeric(12, 2)) as bytes`;
      expect(Buffer.from(mine).toString('hex')).toBe(Buffer.from(sent!.bytes).toString('hex'));
    }
  });
});

describe('SeedDataGenerator', () => {
  const options = { seed: 11, customers: 40, products: 12, orders: 9_000, asOf: new Date('2026-01-01T00:00:00Z') };
  const collect = (chunks: Iterable<{ data: string | Uint8Array; rows: number }>) => {
    const parts: Buffer[] = [];
    let rows = 0;
    for (const chunk of chunks) {
      parts.push(Buffer.from(chunk.data));
      rows += chunk.rows;
    }
    return { bytes: Buffer.concat(parts), rows };
  };

  it('generates the same bytes for the same options, whatever was generated before', () => {
    const a = new SeedDataGenerator(options);
    const b = new SeedDataGenerator(options);
    collect(b.orderItems()); // a different call order must not change anything
    for (const table of ['customers', 'products', 'orders', 'orderItems'] as const) {
      expect(collect(a[table]()).bytes.equals(collect(b[table]()).bytes)).toBe(true);
    }
    const c = new SeedDataGenerator({ ...options, seed: 12 });
    expect(collect(a.orders()).bytes.equals(collect(c.orders()).bytes)).toBe(false);
  });

  it('counts order lines consistently across passes (more orders than one block)', () => {
    const g = new SeedDataGenerator(options);
    const items = collect(g.orderItems()).rows;
    expect(new SeedDataGenerator(options).orderItemCount).toBe(items);
    expect(collect(g.orders()).rows).toBe(9_000);
  });

  it('copes with catalogues smaller than an order (distinct products still)', () => {
    const g = new SeedDataGenerator({ ...options, products: 2, orders: 500 });
    const items = collect(g.orderItems()).rows;
    expect(items).toBeGreaterThanOrEqual(500);
    expect(items).toBeLessThanOrEqual(1_000);
  });

  it('writes COPY text without tabs, newlines or backslashes inside fields', () => {
    const g = new SeedDataGenerator({ ...options, customers: 2_000, products: 2_000 });
    for (const table of ['customers', 'products'] as const) {
      const text = collect(g[table]()).bytes.toString('utf8');
      const lines = text.split('\n').filter(Boolean);
      expect(lines).toHaveLength(2_000);
      const columns = table === 'customers' ? 4 : 6;
      for (const line of lines) expect(line.split('\t')).toHaveLength(columns);
      expect(text).not.toContain('\\');
    }
  });
});
