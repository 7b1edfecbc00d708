import * as z from 'zod';
import { ValidationError } from '../errors.js';

/**
 * What a benchmark run is asked to do: the payload of `runBenchmarks` (schedule `input` or Lambda
 * API), validated strictly, then resolved against the scale presets into explicit sizes.
 */

/** The cache suite times at least this many Redis GETs, whatever the repetitions (a GET is sub-millisecond). */
export const MIN_CACHE_SAMPLES = 25;

export const SUITES = ['btree', 'gin', 'cache', 'orders'] as const;
export type SuiteName = (typeof SUITES)[number];

export const SCALES = ['small', 'medium', 'large'] as const;
export type Scale = (typeof SCALES)[number];

export const TRIGGERS = ['schedule', 'invoke'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** Target match rates of the GIN suite's containment queries (exact by construction, see fixtures.ts). */
export const GIN_SELECTIVITIES = [0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5] as const;

/** Orders per customer in the B-tree fixtures (a customer's history is ~10 orders). */
export const BTREE_ORDERS_PER_CUSTOMER = 10;

export const MIN_REPETITIONS = 5;
export const MAX_REPETITIONS = 50;

export interface BenchmarkSizes {
  /** B-tree suite: orders-table sizes (rows), each measured without and with the customer index. */
  btreeOrders: number[];
  /** GIN suite: products-table sizes (rows), each measured at every selectivity. */
  ginProducts: number[];
  /** Cache suite: order lines the Postgres top-products aggregate reads. */
  cacheOrderItems: number;
  /** Cache suite: distinct products those lines refer to. */
  cacheProducts: number;
  /** Orders suite: products and customers in the shop the orders are placed against. */
  orderProducts: number;
  orderCustomers: number;
  /** Orders suite: measured createOrder calls (after a warm-up). */
  orderCalls: number;
}

export interface BenchmarkRequest {
  scale: Scale;
  sizes: BenchmarkSizes;
  /** Timed runs per measurement (the median is reported); each preceded by a warm-up run. */
  repetitions: number;
  /** Orders suite: concurrent createOrder callers. */
  concurrency: number;
  suites: SuiteName[];
  trigger: Trigger;
}

export interface ScalePreset {
  sizes: BenchmarkSizes;
  repetitions: number;
  concurrency: number;
}

/**
 * The presets. `small` is the scheduled default and must finish within 60 s on a 2-core machine;
 * `large` reaches 1M orders (B-tree) and 100k products (GIN), the scale the lab's claims are about.
 */
export const SCALE_PRESETS: Record<Scale, ScalePreset> = {
  small: {
    sizes: {
      btreeOrders: [10_000, 100_000],
      ginProducts: [1_000, 10_000],
      cacheOrderItems: 200_000,
      cacheProducts: 1_000,
      orderProducts: 1_000,
      orderCustomers: 1_000,
      orderCalls: 200,
    },
    repetitions: 5,
    concurrency: 4,
  },
  medium: {
    sizes: {
      btreeOrders: [10_000, 100_000, 300_000],
      ginProducts: [1_000, 10_000, 30_000],
      cacheOrderItems: 600_000,
      cacheProducts: 5_000,
      orderProducts: 2_000,
      orderCustomers: 5_000,
      orderCalls: 500,
    },
    repetitions: 7,
    concurrency: 4,
  },
  large: {
    sizes: {
      btreeOrders: [10_000, 100_000, 1_000_000],
      ginProducts: [1_000, 10_000, 100_000],
      cacheOrderItems: 2_000_000,
      cacheProducts: 10_000,
      orderProducts: 10_000,
      orderCustomers: 10_000,
      orderCalls: 1_000,
    },
    repetitions: 7,
    concurrency: 4,
  },
};

const rowCount = (min: number, max: number) => z.number().int().min(min).max(max);
const tableSizes = (min: number, max: number) => z.array(rowCount(min, max)).min(1).max(6);

const SizesSchema = z.strictObject({
  btreeOrders: tableSizes(100, 5_000_000).optional(),
  ginProducts: tableSizes(100, 1_000_000).optional(),
  cacheOrderItems: rowCount(100, 10_000_000).optional(),
  cacheProducts: rowCount(10, 1_000_000).optional(),
  orderProducts: rowCount(10, 100_000).optional(),
  orderCustomers: rowCount(10, 100_000).optional(),
  orderCalls: rowCount(10, 10_000).optional(),
});

export const BenchmarkPayloadSchema = z.strictObject({
  scale: z.enum(SCALES).default('small'),
  sizes: SizesSchema.optional(),
  repetitions: z.number().int().min(MIN_REPETITIONS).max(MAX_REPETITIONS).optional(),
  concurrency: z.number().int().min(1).max(16).optional(),
  suites: z
    .array(z.enum(SUITES))
    .min(1)
    .refine((suites) => new Set(suites).size === suites.length, 'must not repeat a suite')
    .optional(),
  trigger: z.enum(TRIGGERS).default('invoke'),
});

export type BenchmarkPayload = z.input<typeof BenchmarkPayloadSchema>;

/** An EventBridge scheduled event (a `schedule` without `input`): run the defaults. */
function isScheduledEvent(event: unknown): boolean {
  return (
    typeof event === 'object' &&
    event !== null &&
    (event as Record<string, unknown>).source === 'aws.events' &&
    (event as Record<string, unknown>)['detail-type'] === 'Scheduled Event'
  );
}

/** Sorted ascending, duplicates removed. */
function normaliseSizes(sizes: number[]): number[] {
  return [...new Set(sizes)].sort((a, b) => a - b);
}

/**
 * Validates a Lambda event and resolves it into a full request. Throws ValidationError whose message
 * names every bad field (a non-HTTP Lambda only surfaces the message, so the details go in it too).
 */
export function parseBenchmarkEvent(event: unknown): BenchmarkRequest {
  const input = event === undefined || event === null ? {} : isScheduledEvent(event) ? { trigger: 'schedule' } : event;
  const parsed = BenchmarkPayloadSchema.safeParse(input);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({
      field: ['payload', ...issue.path.map(String)].join('.'),
      message: issue.message,
    }));
    const summary = details.map((detail) => `${detail.field}: ${detail.message}`).join('; ');
    throw new ValidationError(`Invalid benchmark payload: ${summary}`, details);
  }
  const payload = parsed.data;
  const preset = SCALE_PRESETS[payload.scale];
  const sizes = { ...preset.sizes, ...payload.sizes };
  return {
    scale: payload.scale,
    sizes: {
      ...sizes,
      btreeOrders: normaliseSizes(sizes.btreeOrders),
      ginProducts: normaliseSizes(sizes.ginProducts),
    },
    repetitions: payload.repetitions ?? preset.repetitions,
    concurrency: payload.concurrency ?? preset.concurrency,
    // Always run in the canonical order, whatever order they were asked in.
    suites: payload.suites ? SUITES.filter((suite) => payload.suites!.includes(suite)) : [...SUITES],
    trigger: payload.trigger,
  };
}
