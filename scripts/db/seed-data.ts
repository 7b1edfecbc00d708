/**
 * What the seed generates: a deterministic, skewed, internally consistent shop, as COPY input chunks.
 *
 * Shape of the data (measured on the 1M-order seed: 100k customers, 10k products):
 * - customers: names from a small international list; email `first.last<id>@example.{com,org,net}`
 *   (unique by construction, ~4 % written with capitals to exercise the case-insensitive unique
 *   index); order frequency per customer is log-normal (σ = 1): median 6 orders, a few hundred for the
 *   heaviest buyers, ~5 % never ordered.
 * - products: 7 categories with category-specific nouns, sizes, materials and brands. `metadata` always
 *   has category, brand, colour, size, material; `tags` (bestseller / eco / clearance /
 *   limited-edition) only when a product has some. Selectivities span both ends, e.g.
 *   {"category":"apparel"} ≈ 28 %, {"colour":"black"} ≈ 22 %, {"colour":"red"} ≈ 5 %,
 *   {"colour":"chartreuse"} ≈ 0.3 %, {"tags":["limited-edition"]} ≈ 0.5 %, {"material":"titanium"} < 0.1 %.
 * - popularity: Zipf (s = 1) over a random ranking of products: the top 1 % of products take ~half
 *   of the units sold, the top 20 % ~83 %.
 * - orders: spread over the 365 days before `asOf`, growing ~50 % over the year, busier on weekends,
 *   in late November/December and in the evening; order_id increases with order_date (as an identity
 *   column would); 1–5 distinct products per order (30/25/20/15/10 %, mean 2.5), quantity 1–5
 *   (mostly 1). ~35 % of products changed price during the year: older lines keep the old
 *   `unit_price`, so history differs from today's price as it does in production.
 * - money is integer cents end to end: total_amount = Σ quantity × unit_price exactly.
 * - stock_quantity is what is left after these sales (never negative): popular products carry more,
 *   ~3 % are sold out, ~5 % nearly so.
 */
import catalogue from './catalogue.json' with { type: 'json' };
import { AliasSampler, permutation, Rng, zipfWeights } from './seed-random.js';

/** Keys every product's metadata has (plus optional `tags`). */
export const METADATA_KEYS = ['category', 'brand', 'colour', 'size', 'material'] as const;

export interface SeedCounts {
  customers: number;
  products: number;
  orders: number;
}

export interface GeneratorOptions extends SeedCounts {
  seed: number;
  /** End of the 12-month order window (exclusive). */
  asOf: Date;
}

/** A piece of COPY input (text format as a string, binary format as bytes) and how many rows it holds. */
export interface Chunk {
  data: string | Uint8Array;
  rows: number;
}

/** COPY format per table: text for the small tables with strings, binary for the big numeric ones. */
export const COPY_FORMAT = { customers: 'text', products: 'text', orders: 'binary', order_items: 'binary' } as const;

export const COPY_COLUMNS = {
  customers: ['customer_id', 'name', 'email', 'created_at'],
  products: ['product_id', 'name', 'price', 'stock_quantity', 'metadata', 'created_at'],
  orders: ['order_id', 'customer_id', 'order_date', 'total_amount'],
  order_items: ['item_id', 'order_id', 'product_id', 'quantity', 'unit_price'],
} as const;

export type SeedTable = keyof typeof COPY_COLUMNS;

// --- catalogue -------------------------------------------------------------------------------------

/** Values and their relative weights, in sampling order. */
type Weighted = Readonly<Record<string, number>>;

interface Category {
  name: string;
  weight: number;
  /** Price range in cents (log-uniform). */
  minCents: number;
  maxCents: number;
  nouns: readonly string[];
  sizes: Weighted;
  materials: Weighted;
  /** Fictional brands, most popular first (Zipf-weighted); the last one is rare. */
  brands: readonly string[];
}

/**
 * The catalogue, names and their weights (data, in scripts/db/catalogue.json): 7 categories with their
 * price ranges, nouns, sizes, materials and fictional brands (most popular first, Zipf-weighted, the last
 * one rare); colours; adjectives of product names; international first and last names; e-mail domains.
 * Integer-like keys (shoe sizes) iterate in numeric order, which is the order wanted.
 */
const {
  categories: CATEGORIES,
  colours: COLOURS,
  adjectives: ADJECTIVES,
  firstNames: FIRST_NAMES,
  lastNames: LAST_NAMES,
  emailDomains: EMAIL_DOMAINS,
} = catalogue as unknown as {
  categories: readonly Category[];
  colours: Weighted;
  adjectives: readonly string[];
  firstNames: readonly string[];
  lastNames: readonly string[];
  emailDomains: Weighted;
};

/** Lines per order: 1..5 with these weights (mean 2.5). */
const ITEMS_PER_ORDER = [30, 25, 20, 15, 10];
/** Quantity per line: 1..5 (mean ≈ 1.26). */
const QUANTITY = [80, 13, 4, 2, 1];
const MEAN_ITEMS = 2.5;
const MEAN_QUANTITY = 1.26;

/** UTC hour-of-day weights (the shop's customers are in one time zone, for simplicity UTC). */
const HOUR_WEIGHTS = [2, 1.2, 0.8, 0.6, 0.6, 0.9, 1.8, 3, 4, 4.8, 5.2, 5.6, 6.2, 5.8, 5.2, 5, 5, 5.4, 6.2, 7, 7.4, 6.6, 4.8, 3.2];

const DAY_SECONDS = 86_400;
const WINDOW_DAYS = 365;
/** Orders are generated in blocks with their own random stream: memory stays O(block). */
const ORDER_BLOCK = 8192;
const ENTITY_BLOCK = 4096;
/** Target size of one COPY chunk (characters / bytes). */
const CHUNK_SIZE = 256 * 1024;
/** Upper bounds of one binary row: 2 + 3 fields of 12/8 bytes + numeric (4 + 8 + 4 groups × 2). */
const ORDER_ROW_MAX_BYTES = 2 + 12 + 8 + 12 + 20;
const ITEM_ROW_MAX_BYTES = 2 + 12 + 12 + 8 + 8 + 20;

const STREAM = { customerWeights: 1, customerText: 2, productNumbers: 3, productText: 4, popularity: 5, orders: 6 } as const;

// --- formatting helpers ----------------------------------------------------------------------------

const TWO_DIGITS: string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** Integer cents → exact decimal text ("1234.05"). */
export function centsToText(cents: number): string {
  return `${Math.floor(cents / 100)}.${TWO_DIGITS[cents % 100]}`;
}

/** Formats epoch seconds as a timestamptz literal, caching the date part per day. */
class TimestampFormatter {
  private day = Number.NaN;
  private dayText = '';

  format(epochSeconds: number): string {
    const day = Math.floor(epochSeconds / DAY_SECONDS);
    if (day !== this.day) {
      this.day = day;
      this.dayText = new Date(day * DAY_SECONDS * 1000).toISOString().slice(0, 10);
    }
    let rest = epochSeconds - day * DAY_SECONDS;
    const h = Math.floor(rest / 3600);
    rest -= h * 3600;
    const m = Math.floor(rest / 60);
    return `${this.dayText} ${TWO_DIGITS[h]}:${TWO_DIGITS[m]}:${TWO_DIGITS[rest - m * 60]}+00`;
  }
}

const PG_EPOCH_SECONDS = 946_684_800; // 2000-01-01T00:00:00Z
const TWO_POW_32 = 4_294_967_296;
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Writes PostgreSQL's COPY binary format (big-endian fields, each preceded by its byte length) into
 * fixed-size buffers, without per-row allocations. A taken buffer is never reused: postgres.js may
 * still hold it.
 */
export class BinaryCopyWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(private readonly capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** True when fewer than `bytes` bytes are left. */
  full(bytes: number): boolean {
    return this.pos + bytes > this.capacity;
  }

  /** The bytes written so far; continues in a fresh buffer. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.capacity);
    this.pos = 0;
    return out;
  }

  header(): void {
    this.bytes(COPY_SIGNATURE);
    this.int32(0); // flags
    this.int32(0); // header extension length
  }

  trailer(): void {
    this.int16(-1);
  }

  int16(v: number): void {
    this.pos = this.buf.writeInt16BE(v, this.pos);
  }

  int32(v: number): void {
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }

  /** A signed 64-bit integer given as a JS number (exact below 2^53), without a BigInt per value. */
  int64(v: number): void {
    const hi = Math.floor(v / TWO_POW_32);
    this.int32(hi);
    this.pos = this.buf.writeUInt32BE(v - hi * TWO_POW_32, this.pos);
  }

  int4Field(v: number): void {
    this.int32(4);
    this.int32(v);
  }

  int8Field(v: number): void {
    this.int32(8);
    this.int64(v);
  }

  /** timestamptz: microseconds since 2000-01-01 UTC. */
  timestamptzField(epochSeconds: number): void {
    this.int32(8);
    this.int64((epochSeconds - PG_EPOCH_SECONDS) * 1_000_000);
  }

  /**
   * A non-negative amount of integer cents as numeric with scale 2: base-10000 digit groups, most
   * significant first, without leading or trailing zero groups (Postgres's canonical form).
   */
  numericCentsField(cents: number): void {
    let units = Math.floor(cents / 100);
    const fraction = (cents - units * 100) * 100; // the first base-10000 digit after the point
    const groups: number[] = NUMERIC_SCRATCH;
    let n = 0;
    while (units > 0) {
      groups[n++] = units % 10_000;
      units = Math.floor(units / 10_000);
    }
    // groups[0..n) are the integer groups, least significant first.
    let weight = n - 1;
    let lowest = 0; // trailing zero integer groups to drop when there is no fraction
    if (fraction === 0) while (lowest < n && groups[lowest] === 0) lowest++;
    const digits = n - lowest + (fraction === 0 ? 0 : 1);
    if (n === 0) weight = fraction === 0 ? 0 : -1;
    this.int32(8 + 2 * digits);
    this.int16(digits);
    this.int16(weight);
    this.int16(0); // sign: positive
    this.int16(2); // display scale
    for (let i = n - 1; i >= lowest; i--) this.int16(groups[i] as number);
    if (fraction !== 0) this.int16(fraction);
  }

  /** Pre-encoded bytes (e.g. a product's price field). */
  bytes(data: Uint8Array): void {
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }
}

const NUMERIC_SCRATCH: number[] = [0, 0, 0, 0, 0, 0];

function weightedSampler(items: Weighted): { sampler: AliasSampler; values: string[] } {
  return { sampler: new AliasSampler(Object.values(items)), values: Object.keys(items) };
}

/** Rounds a price to a shop-like ending: mostly .99, some .49, .95 or whole. */
function shopPrice(cents: number, rng: Rng): number {
  const units = Math.max(0, Math.floor(cents / 100));
  const r = rng.float();
  const ending = r < 0.7 ? 99 : r < 0.85 ? 49 : r < 0.9 ? 95 : 0;
  return Math.max(units * 100 + ending, 99);
}

/** Ids 0..n-1 with their random stream: one per block of ENTITY_BLOCK ids, so an id's values do not depend on n. */
function* entities(seed: number, stream: number, n: number): Generator<[number, Rng]> {
  let rng = new Rng(seed, stream, 0);
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % ENTITY_BLOCK === 0) rng = new Rng(seed, stream, i / ENTITY_BLOCK);
    yield [i, rng];
  }
}

/** Text COPY lines gathered into chunks of about CHUNK_SIZE characters. */
function* textChunks(lines: Iterable<string>): Generator<Chunk> {
  let text = '';
  let rows = 0;
  for (const line of lines) {
    text += line;
    rows++;
    if (text.length >= CHUNK_SIZE) {
      yield { data: text, rows };
      text = '';
      rows = 0;
    }
  }
  if (rows > 0) yield { data: text, rows };
}

// --- the generator ---------------------------------------------------------------------------------

/**
 * Generates the four tables as COPY input. Customers and products are pure functions of (seed, id);
 * orders and their lines of (seed, order block). `orders()` and `orderItems()` regenerate the same
 * blocks (cheap) rather than buffering millions of lines in memory.
 */
export class SeedDataGenerator {
  readonly counts: SeedCounts;
  private readonly seed: number;
  private readonly windowStart: number; // epoch seconds

  // products (index = product_id - 1)
  private readonly category: Uint8Array;
  private readonly priceCents: Int32Array;
  private readonly oldPriceCents: Int32Array;
  private readonly priceChangedAt: Float64Array;
  private readonly priceText: string[];
  private readonly popularityRank: Int32Array;
  private readonly popularityWeight: Float64Array;
  private readonly popularityTotal: number;
  private readonly productSampler: AliasSampler | undefined;
  private readonly customerSampler: AliasSampler | undefined;
  /** Cumulative share of orders per hour of the window (length hours + 1, from 0 to 1). */
  private readonly hourCumulative: Float64Array;

  private readonly itemsSampler = new AliasSampler(ITEMS_PER_ORDER);
  private readonly quantitySampler = new AliasSampler(QUANTITY);

  // per-block scratch
  private readonly bCustomer = new Int32Array(ORDER_BLOCK);
  private readonly bTime = new Float64Array(ORDER_BLOCK);
  private readonly bTotal = new Float64Array(ORDER_BLOCK);
  private readonly bItemStart = new Int32Array(ORDER_BLOCK + 1);
  private readonly bProduct = new Int32Array(ORDER_BLOCK * 5);
  private readonly bQuantity = new Uint8Array(ORDER_BLOCK * 5);
  private readonly bOldPrice = new Uint8Array(ORDER_BLOCK * 5);

  private itemTotal: number | undefined;

  constructor(options: GeneratorOptions) {
    const { customers, products, orders } = options;
    this.counts = { customers, products, orders };
    this.seed = options.seed;
    this.windowStart = Math.floor(options.asOf.getTime() / 1000) - WINDOW_DAYS * DAY_SECONDS;

    // Products: category, price and price history.
    this.category = new Uint8Array(products);
    this.priceCents = new Int32Array(products);
    this.oldPriceCents = new Int32Array(products);
    this.priceChangedAt = new Float64Array(products);
    this.priceText = new Array<string>(products);
    const categorySampler = new AliasSampler(CATEGORIES.map((c) => c.weight));
    for (const [p, rng] of entities(this.seed, STREAM.productNumbers, products)) {
      const c = categorySampler.sample(rng);
      const cat = CATEGORIES[c] as Category;
      const logPrice = Math.log(cat.minCents) + rng.float() * (Math.log(cat.maxCents) - Math.log(cat.minCents));
      const price = shopPrice(Math.exp(logPrice), rng);
      this.category[p] = c;
      this.priceCents[p] = price;
      this.priceText[p] = centsToText(price);
      const changed = rng.chance(0.35);
      this.oldPriceCents[p] = changed ? shopPrice(price * (0.8 + 0.4 * rng.float()), rng) : price;
      this.priceChangedAt[p] = changed ? this.windowStart + rng.float() * WINDOW_DAYS * DAY_SECONDS : -Infinity;
    }

    // Popularity: Zipf over a random ranking, so best sellers are spread over ids and categories.
    this.popularityRank = permutation(products, new Rng(this.seed, STREAM.popularity));
    const zipf = zipfWeights(products, 1);
    this.popularityWeight = Float64Array.from(this.popularityRank, (rank) => zipf[rank] as number);
    this.popularityTotal = this.popularityWeight.reduce((sum, w) => sum + w, 0);
    this.productSampler = products > 0 ? new AliasSampler(this.popularityWeight) : undefined;

    // Customers: log-normal order frequency.
    if (customers > 0 && orders > 0) {
      const weights = new Float64Array(customers);
      for (const [i, rng] of entities(this.seed, STREAM.customerWeights, customers)) weights[i] = Math.exp(rng.normal());
      this.customerSampler = new AliasSampler(weights);
    }

    // Order time density: hourly buckets over the window.
    const hours = WINDOW_DAYS * 24;
    this.hourCumulative = new Float64Array(hours + 1);
    let acc = 0;
    for (let h = 0; h < hours; h++) {
      const date = new Date((this.windowStart + h * 3600) * 1000);
      const growth = 1 + (0.5 * Math.floor(h / 24)) / WINDOW_DAYS;
      const weekday = date.getUTCDay();
      const weekdayFactor = weekday === 0 ? 1.15 : weekday === 6 ? 1.1 : weekday === 1 ? 1.05 : 1;
      const [month, day] = [date.getUTCMonth(), date.getUTCDate()];
      const season =
        (month === 10 && day >= 24) || (month === 11 && day <= 20)
          ? 1.5
          : (month === 11 && day >= 26) || (month === 0 && day <= 3)
            ? 1.2
            : 1;
      acc += growth * weekdayFactor * season * (HOUR_WEIGHTS[date.getUTCHours()] as number);
      this.hourCumulative[h + 1] = acc;
    }
    for (let h = 1; h <= hours; h++) this.hourCumulative[h] = (this.hourCumulative[h] as number) / acc;
    this.hourCumulative[hours] = 1;
  }

  /** Number of order_items rows (known after one pass over the orders; computed on demand). */
  get orderItemCount(): number {
    if (this.itemTotal === undefined) {
      let total = 0;
      for (let b = 0; b * ORDER_BLOCK < this.counts.orders; b++) total += this.generateOrderBlock(b);
      this.itemTotal = total;
    }
    return this.itemTotal;
  }

  customers(): Generator<Chunk> {
    return textChunks(this.customerLines());
  }

  private *customerLines(): Generator<string> {
    const domains = weightedSampler(EMAIL_DOMAINS);
    // Email local parts keep only a–z ("Zoë O'Brien" → "zoe.obrien").
    const emailName = (s: string) =>
      s
        .normalize('NFD')
        .toLowerCase()
        .replace(/[^a-z]/g, '');
    const emailFirst = FIRST_NAMES.map(emailName);
    const emailLast = LAST_NAMES.map(emailName);
    const ts = new TimestampFormatter();
    for (const [i, rng] of entities(this.seed, STREAM.customerText, this.counts.customers)) {
      const id = i + 1;
      const f = rng.int(FIRST_NAMES.length);
      const l = rng.int(LAST_NAMES.length);
      const domain = domains.values[domains.sampler.sample(rng)] as string;
      const local = `${emailFirst[f]}.${emailLast[l]}${id}`;
      const email = rng.chance(0.04) ? `${local.charAt(0).toUpperCase()}${local.slice(1)}@${domain.toUpperCase()}` : `${local}@${domain}`;
      const created = this.windowStart - WINDOW_DAYS * DAY_SECONDS + Math.floor(rng.float() * WINDOW_DAYS * DAY_SECONDS);
      yield `${id}\t${FIRST_NAMES[f]} ${LAST_NAMES[l]}\t${email}\t${ts.format(created)}\n`;
    }
  }

  products(): Generator<Chunk> {
    return textChunks(this.productLines());
  }

  private *productLines(): Generator<string> {
    const n = this.counts.products;
    const colours = weightedSampler(COLOURS);
    const perCategory = CATEGORIES.map((c) => ({
      sizes: weightedSampler(c.sizes),
      materials: weightedSampler(c.materials),
      brands: new AliasSampler(c.brands.map((_, i) => (i === c.brands.length - 1 ? 0.02 : 1 / (i + 1) ** 1.1))),
    }));
    // Expected units sold per product over the year, to size the stock that is left.
    const expectedUnits = this.counts.orders * MEAN_ITEMS * MEAN_QUANTITY;
    const bestsellerRanks = Math.max(1, Math.floor(n / 100));
    const ts = new TimestampFormatter();
    for (const [p, rng] of entities(this.seed, STREAM.productText, n)) {
      const cat = CATEGORIES[this.category[p] as number] as Category;
      const s = perCategory[this.category[p] as number]!;
      const brand = cat.brands[s.brands.sample(rng)] as string;
      const noun = rng.pick(cat.nouns);
      const adjective = rng.pick(ADJECTIVES);
      const colour = colours.values[colours.sampler.sample(rng)] as string;
      const size = s.sizes.values[s.sizes.sampler.sample(rng)] as string;
      const material = s.materials.values[s.materials.sampler.sample(rng)] as string;
      const tags: string[] = [];
      if ((this.popularityRank[p] as number) < bestsellerRanks) tags.push('bestseller');
      if (rng.chance(0.03)) tags.push('clearance');
      if (rng.chance(0.07)) tags.push('eco');
      if (rng.chance(0.005)) tags.push('limited-edition');
      const tagsJson = tags.length > 0 ? `,"tags":["${tags.join('","')}"]` : '';
      const metadata = `{"category":"${cat.name}","brand":"${brand}","colour":"${colour}","size":"${size}","material":"${material}"${tagsJson}}`;

      const r = rng.float();
      const monthlySales = (expectedUnits * (this.popularityWeight[p] as number)) / this.popularityTotal / 12;
      const stock = r < 0.03 ? 0 : r < 0.08 ? rng.range(1, 5) : Math.round(monthlySales * (0.5 + 2.5 * rng.float())) + rng.range(5, 60);
      const created = this.windowStart - WINDOW_DAYS * DAY_SECONDS + Math.floor(rng.float() * WINDOW_DAYS * DAY_SECONDS);
      yield `${p + 1}\t${brand} ${adjective} ${noun}\t${this.priceText[p]}\t${stock}\t${metadata}\t${ts.format(created)}\n`;
    }
  }

  /** Orders in COPY binary format (no text parsing of timestamps and numerics in Postgres). */
  orders(): Generator<Chunk> {
    return this.binaryChunks(ORDER_ROW_MAX_BYTES, (out, k, orderId) => {
      out.int16(4);
      out.int8Field(orderId);
      out.int4Field(this.bCustomer[k] as number);
      out.timestamptzField(this.bTime[k] as number);
      out.numericCentsField(this.bTotal[k] as number);
      return 1;
    });
  }

  /** Order lines in COPY binary format; prices are pre-encoded per product. */
  orderItems(): Generator<Chunk> {
    const price = this.priceFields();
    let itemId = 0;
    return this.binaryChunks(5 * ITEM_ROW_MAX_BYTES, (out, k, orderId) => {
      for (let j = this.bItemStart[k] as number; j < (this.bItemStart[k + 1] as number); j++) {
        const p = this.bProduct[j] as number;
        out.int16(5);
        out.int8Field(++itemId);
        out.int8Field(orderId);
        out.int4Field(p + 1);
        out.int4Field(this.bQuantity[j] as number);
        out.bytes((this.bOldPrice[j] === 1 ? price.old[p] : price.current[p]) as Uint8Array);
      }
      return (this.bItemStart[k + 1] as number) - (this.bItemStart[k] as number);
    });
  }

  /** Every order block as binary COPY chunks; `write` puts order k's rows (at most `maxBytes`) and says how many. */
  private *binaryChunks(maxBytes: number, write: (out: BinaryCopyWriter, k: number, orderId: number) => number): Generator<Chunk> {
    const out = new BinaryCopyWriter(CHUNK_SIZE);
    out.header();
    let lines = 0;
    let rows = 0;
    for (let b = 0; b * ORDER_BLOCK < this.counts.orders; b++) {
      lines += this.generateOrderBlock(b);
      const first = b * ORDER_BLOCK;
      for (let k = 0; k < Math.min(ORDER_BLOCK, this.counts.orders - first); k++) {
        if (out.full(maxBytes)) {
          yield { data: out.take(), rows };
          rows = 0;
        }
        rows += write(out, k, first + k + 1);
      }
    }
    out.trailer();
    yield { data: out.take(), rows };
    this.itemTotal = lines;
  }

  /** Each product's current and old price as complete binary numeric fields (length included). */
  private priceFields(): { current: Uint8Array[]; old: Uint8Array[] } {
    const encode = (cents: number) => {
      const w = new BinaryCopyWriter(32);
      w.numericCentsField(cents);
      return w.take();
    };
    const current = Array.from(this.priceCents, encode);
    const old = current.map((field, p) => (this.oldPriceCents[p] === this.priceCents[p] ? field : encode(this.oldPriceCents[p] as number)));
    return { current, old };
  }

  /**
   * Fills the block scratch arrays for orders [b*ORDER_BLOCK, …) and returns the number of lines.
   * Order times are stratified: order i falls in the quantile slice [i/N, (i+1)/N) of the time
   * density, so times are non-decreasing in order_id and follow the density exactly.
   */
  private generateOrderBlock(b: number): number {
    const rng = new Rng(this.seed, STREAM.orders, b);
    const n = this.counts.orders;
    const first = b * ORDER_BLOCK;
    const count = Math.min(ORDER_BLOCK, n - first);
    const products = this.counts.products;
    const cum = this.hourCumulative;
    const hours = cum.length - 1;
    const customerSampler = this.customerSampler as AliasSampler;
    const productSampler = this.productSampler as AliasSampler;

    // Locate the first order's hour bucket by binary search, then walk forward.
    let bucket = 0;
    for (let hi = hours - 1; bucket < hi; ) {
      const mid = (bucket + hi + 1) >> 1;
      if ((cum[mid] as number) <= first / n) bucket = mid;
      else hi = mid - 1;
    }

    let line = 0;
    for (let k = 0; k < count; k++) {
      const u = (first + k + rng.float()) / n;
      while (bucket < hours - 1 && (cum[bucket + 1] as number) <= u) bucket++;
      const lo = cum[bucket] as number;
      const width = (cum[bucket + 1] as number) - lo;
      const offset = width > 0 ? Math.min(0.999_999, (u - lo) / width) : 0;
      const t = Math.floor(this.windowStart + (bucket + offset) * 3600);
      this.bTime[k] = t;
      this.bCustomer[k] = customerSampler.sample(rng) + 1;
      this.bItemStart[k] = line;

      const lines = Math.min(this.itemsSampler.sample(rng) + 1, products);
      let total = 0;
      const start = line;
      for (let j = 0; j < lines; j++) {
        // Distinct products per order (unique (order_id, product_id)): redraw duplicates; after
        // 32 misses (only with tiny catalogues) take the next free product id deterministically.
        let p = productSampler.sample(rng);
        for (let attempt = 0; this.bProduct.subarray(start, line).includes(p); attempt++) {
          p = attempt < 32 ? productSampler.sample(rng) : (p + 1) % products;
        }
        const quantity = this.quantitySampler.sample(rng) + 1;
        const old = t < (this.priceChangedAt[p] as number);
        this.bProduct[line] = p;
        this.bQuantity[line] = quantity;
        this.bOldPrice[line] = old ? 1 : 0;
        total += quantity * (old ? (this.oldPriceCents[p] as number) : (this.priceCents[p] as number));
        line++;
      }
      this.sortLines(start, line);
      this.bTotal[k] = total;
    }
    this.bItemStart[count] = line;
    return line;
  }

  /** Lines of one order by product id, as createOrder inserts them (and cheaper to index). */
  private sortLines(start: number, end: number): void {
    const product = this.bProduct;
    const quantity = this.bQuantity;
    const old = this.bOldPrice;
    for (let i = start + 1; i < end; i++) {
      const [p, q, o] = [product[i] as number, quantity[i] as number, old[i] as number];
      let j = i - 1;
      for (; j >= start && (product[j] as number) > p; j--) {
        product[j + 1] = product[j] as number;
        quantity[j + 1] = quantity[j] as number;
        old[j + 1] = old[j] as number;
      }
      product[j + 1] = p;
      quantity[j + 1] = q;
      old[j + 1] = o;
    }
  }
}
