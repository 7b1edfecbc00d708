/**
 * Seeded randomness for the seed generator: a small, fast PRNG (sfc32) with independent streams, and
 * O(1) samplers for skewed discrete distributions (Vose's alias method).
 *
 * Determinism: every random draw comes from a stream named by (seed, stream id, block index), so the
 * data is a pure function of the seed and the counts, whatever the chunking or the order in which the
 * tables are written. No dependency: sfc32 passes PractRand/BigCrush and costs a few ns per draw.
 */

/** 32-bit finaliser of MurmurHash3: a cheap bijective mixer for deriving stream states. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const TWO_POW_32 = 4_294_967_296;

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), 128-bit state. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A stream identified by (seed, stream, index); different triples give unrelated sequences. */
  constructor(seed: number, stream = 0, index = 0) {
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    this.a = fmix32(lo ^ 0x9e3779b9);
    this.b = fmix32(hi ^ fmix32(stream + 0x85ebca6b));
    this.c = fmix32(index ^ fmix32(stream ^ 0xc2b2ae35) ^ this.a);
    this.d = 1;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float = (): number => this.next() / TWO_POW_32;
  /** Uniform integer in [0, n). */
  int = (n: number): number => Math.floor(this.float() * n);
  /** Uniform integer in [min, max] (inclusive). */
  range = (min: number, max: number): number => min + this.int(max - min + 1);
  /** True with probability p. */
  chance = (p: number): boolean => this.float() < p;
  /** An element of a non-empty array. */
  pick = <T>(items: readonly T[]): T => items[this.int(items.length)] as T;

  /** A standard normal deviate (Box–Muller; one of the pair is discarded for simplicity). */
  normal(): number {
    const u = 1 - this.float(); // (0, 1]
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }
}

/**
 * Vose's alias method: after O(n) setup, draws index i with probability weights[i] / Σ weights in
 * O(1) with one uniform draw.
 */
export class AliasSampler {
  readonly size: number;
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    if (n === 0) throw new Error('AliasSampler needs at least one weight');
    this.size = n;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i] as number;
      if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`invalid weight ${w} at ${i}`);
      total += w;
    }
    if (!(total > 0)) throw new Error('AliasSampler needs a positive total weight');
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      scaled[i] = ((weights[i] as number) * n) / total;
      if ((scaled[i] as number) < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns] as number;
      const l = large[--nl] as number;
      this.prob[s] = scaled[s] as number;
      this.alias[s] = l;
      scaled[l] = (scaled[l] as number) + (scaled[s] as number) - 1;
      if ((scaled[l] as number) < 1) small[ns++] = l;
      else large[nl++] = l;
    }
    while (nl > 0) {
      const l = large[--nl] as number;
      this.prob[l] = 1;
      this.alias[l] = l;
    }
    while (ns > 0) {
      const s = small[--ns] as number; // only through rounding error
      this.prob[s] = 1;
      this.alias[s] = s;
    }
  }

  /** An index in [0, size), drawn with one uniform from rng. */
  sample(rng: Rng): number {
    const x = rng.float() * this.size;
    const i = Math.floor(x);
    return x - i < (this.prob[i] as number) ? i : (this.alias[i] as number);
  }
}

/** Zipf weights 1/rank^s for ranks 1..n. */
export function zipfWeights(n: number, s: number): Float64Array {
  const weights = new Float64Array(n);
  for (let rank = 1; rank <= n; rank++) weights[rank - 1] = 1 / rank ** s;
  return weights;
}

/** A random permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, rng: Rng): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i] as number;
    out[i] = out[j] as number;
    out[j] = t;
  }
  return out;
}
