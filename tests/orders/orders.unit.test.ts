import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cartOrderKey } from '../../shared/carts/checkout.js';
import { ValidationError } from '../../shared/errors.js';
import { validationDetails } from '../../shared/http/handler.js';
import { parseIdempotencyKeyHeader } from '../../shared/http/headers.js';
import { mergeItems } from '../../shared/orders/create-order.js';
import { isValidIdempotencyKey, requestHash } from '../../shared/orders/idempotency.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, isRetryable, withRetry } from '../../shared/orders/retry.js';
import { CreateOrderBodySchema } from '../../shared/orders/schemas.js';

const itemArb = fc.record({ productId: fc.integer({ min: 1, max: 30 }), quantity: fc.integer({ min: 1, max: 1000 }) });

describe('mergeItems', () => {
  it('merges duplicate product lines and sorts by product id', () => {
    expect(
      mergeItems([
        { productId: 9, quantity: 1 },
        { productId: 2, quantity: 3 },
        { productId: 9, quantity: 4 },
      ]),
    ).toEqual([
      { productId: 2, quantity: 3 },
      { productId: 9, quantity: 5 },
    ]);
  });

  it('keeps every unit, yields unique ascending ids, and ignores line order (property)', () => {
    fc.assert(
      fc.property(fc.array(itemArb, { minLength: 1, maxLength: 50 }), (items) => {
        const merged = mergeItems(items);
        const ids = merged.map((item) => item.productId);
        expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
        for (const { productId, quantity } of merged) {
          expect(quantity).toBe(items.filter((i) => i.productId === productId).reduce((sum, i) => sum + i.quantity, 0));
        }
        expect(mergeItems([...items].reverse())).toEqual(merged);
      }),
    );
  });
});

describe('requestHash (idempotency payload identity)', () => {
  it('is the same for the same order written differently, and differs for another order or customer', () => {
    const a = requestHash(
      1,
      mergeItems([
        { productId: 3, quantity: 1 },
        { productId: 1, quantity: 2 },
        { productId: 3, quantity: 1 },
      ]),
    );
    const b = requestHash(
      1,
      mergeItems([
        { productId: 1, quantity: 2 },
        { productId: 3, quantity: 2 },
      ]),
    );
    expect(a.equals(b)).toBe(true);
    expect(a).toHaveLength(32);
    expect(
      a.equals(
        requestHash(
          1,
          mergeItems([
            { productId: 1, quantity: 2 },
            { productId: 3, quantity: 3 },
          ]),
        ),
      ),
    ).toBe(false);
    expect(
      a.equals(
        requestHash(
          2,
          mergeItems([
            { productId: 1, quantity: 2 },
            { productId: 3, quantity: 2 },
          ]),
        ),
      ),
    ).toBe(false);
  });

  it('does not depend on line order (property)', () => {
    fc.assert(
      fc.property(fc.array(itemArb, { minLength: 1, maxLength: 20 }), fc.integer({ min: 1 }), (items, customerId) => {
        const shuffled = [...items].reverse();
        expect(requestHash(customerId, mergeItems(items)).equals(requestHash(customerId, mergeItems(shuffled)))).toBe(true);
      }),
    );
  });
});

describe('Idempotency-Key validation', () => {
  it('accepts 1–128 visible ASCII characters', () => {
    for (const key of ['a', 'x'.repeat(128), '0f8fad5b-d9cb-469f-a165-70867728950e', '!~{}[]"\'\\/']) {
      expect(isValidIdempotencyKey(key)).toBe(true);
      expect(parseIdempotencyKeyHeader({ 'idempotency-key': key })).toBe(key);
    }
    expect(parseIdempotencyKeyHeader({})).toBeUndefined();
  });

  it('rejects empty, too long, spaces, control and non-ASCII characters, naming the header', () => {
    for (const key of ['', 'x'.repeat(129), 'a b', 'tab\tkey', 'new\nline', 'café', 'ключ', '\u007f']) {
      expect(isValidIdempotencyKey(key)).toBe(false);
      let thrown: unknown;
      try {
        parseIdempotencyKeyHeader({ 'idempotency-key': key });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).details).toEqual([{ field: 'headers.idempotency-key', message: expect.any(String) }]);
    }
  });
});

describe('an Idempotency-Key sent twice', () => {
  it('is refused, not taken as another key: API Gateway joins the two headers with a bare comma', () => {
    for (const joined of ['k,k', 'key-1,key-2', 'k,']) {
      expect(() => parseIdempotencyKeyHeader({ 'idempotency-key': joined }), joined).toThrow(ValidationError);
    }
  });
});

describe('a client Idempotency-Key and the keys of cart checkouts', () => {
  it('a client key never has the form of a cart version’s order key, which POST /orders keys share a table with', () => {
    const orderKey = cartOrderKey({ updatedAt: new Date(1_765_000_000_000), version: 3 });
    expect(isValidIdempotencyKey(orderKey)).toBe(true);
    for (const key of [orderKey, 'cart:', 'cart:anything']) {
      expect(() => parseIdempotencyKeyHeader({ 'idempotency-key': key })).toThrow(ValidationError);
    }
    expect(parseIdempotencyKeyHeader({ 'idempotency-key': 'Cart:1:1' })).toBe('Cart:1:1');
    expect(parseIdempotencyKeyHeader({ 'idempotency-key': 'my-cart:1:1' })).toBe('my-cart:1:1');
  });
});

describe('CreateOrderBodySchema', () => {
  const fields = (body: unknown) => {
    const result = CreateOrderBodySchema.safeParse(body);
    return result.success ? [] : validationDetails('body', result.error).map((detail) => detail.field);
  };

  it('accepts a valid order and returns exactly the known fields', () => {
    const body = {
      customerId: 42,
      items: [
        { productId: 7, quantity: 2 },
        { productId: 7, quantity: 1000 },
      ],
    };
    expect(CreateOrderBodySchema.parse(body)).toEqual(body);
    expect(fields({ customerId: 2_147_483_647, items: Array.from({ length: 50 }, (_, i) => ({ productId: i + 1, quantity: 1 })) })).toEqual(
      [],
    );
  });

  it('names every bad field at once', () => {
    expect(
      fields({
        customerId: 0,
        price: 1,
        items: [{ productId: -1, quantity: 1.5 }, { productId: 2_147_483_648, quantity: 0, unitPrice: '1.00' }, { quantity: 1001 }],
        total: '9.99',
      }).sort(),
    ).toEqual(
      [
        'body.customerId',
        'body.price',
        'body.total',
        'body.items.0.productId',
        'body.items.0.quantity',
        'body.items.1.productId',
        'body.items.1.quantity',
        'body.items.1.unitPrice',
        'body.items.2.productId',
        'body.items.2.quantity',
      ].sort(),
    );
  });

  it.each([
    ['missing fields', {}, ['body.customerId', 'body.items']],
    ['no items', { customerId: 1, items: [] }, ['body.items']],
    ['51 items', { customerId: 1, items: Array.from({ length: 51 }, () => ({ productId: 1, quantity: 1 })) }, ['body.items']],
    [
      'string ids and quantities',
      { customerId: '1', items: [{ productId: '7', quantity: '2' }] },
      ['body.customerId', 'body.items.0.productId', 'body.items.0.quantity'],
    ],
    ['fractional id', { customerId: 1.5, items: [{ productId: 1, quantity: 1 }] }, ['body.customerId']],
    ['items not an array', { customerId: 1, items: { productId: 1, quantity: 1 } }, ['body.items']],
    ['item not an object', { customerId: 1, items: [7] }, ['body.items.0']],
    ['null body', null, ['body']],
    ['array body', [], ['body']],
  ])('rejects %s', (_name, body, expected) => {
    expect(fields(body).sort()).toEqual([...expected].sort());
  });
});

describe('retry policy', () => {
  it('retries only deadlocks and serialization failures', () => {
    expect(isRetryable({ code: '40P01' })).toBe(true);
    expect(isRetryable({ code: '40001' })).toBe(true);
    for (const code of ['23505', '23514', 'ECONNREFUSED', '57014', undefined]) expect(isRetryable({ code })).toBe(false);
    expect(isRetryable(null)).toBe(false);
  });

  it('backs off with full jitter inside exponentially growing, capped bounds', () => {
    const policy = { maxAttempts: 10, baseDelayMs: 5, maxDelayMs: 100 };
    expect([1, 2, 3, 4, 5, 6, 7].map((retry) => backoffDelay(retry, policy, () => 0.999_999))).toEqual([5, 10, 20, 40, 80, 100, 100]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
  });

  it('re-runs a deadlocked attempt and returns its eventual result', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw Object.assign(new Error('deadlock detected'), { code: calls === 1 ? '40P01' : '40001' });
        return 'ok';
      },
      DEFAULT_RETRY_POLICY,
      { sleep: async (ms) => void delays.push(ms), random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(delays).toEqual([3, 5]);
  });

  it('gives up after maxAttempts and never retries other errors', async () => {
    let calls = 0;
    const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    await expect(
      withRetry(
        async () => {
          calls++;
          throw deadlock;
        },
        DEFAULT_RETRY_POLICY,
        { sleep: async () => {} },
      ),
    ).rejects.toBe(deadlock);
    expect(calls).toBe(DEFAULT_RETRY_POLICY.maxAttempts);

    calls = 0;
    const other = Object.assign(new Error('check violation'), { code: '23514' });
    await expect(
      withRetry(
        async () => {
          calls++;
          throw other;
        },
        DEFAULT_RETRY_POLICY,
        { sleep: async () => {} },
      ),
    ).rejects.toBe(other);
    expect(calls).toBe(1);
  });

  it('starts no retry its caller says would not fit in the time left, and says which kind it would be', async () => {
    const asked: string[] = [];
    for (const [code, needs] of [
      ['CONNECT_TIMEOUT', 'connect'],
      ['40P01', 'statement'],
    ] as const) {
      let calls = 0;
      const failure = Object.assign(new Error(code), { code });
      const attempt = async () => {
        calls++;
        throw failure;
      };
      const mayRetry = (kind: 'connect' | 'statement', delayMs: number) => {
        asked.push(kind);
        expect(delayMs).toBeGreaterThanOrEqual(0);
        return false;
      };
      await expect(withRetry(attempt, DEFAULT_RETRY_POLICY, { sleep: async () => {}, mayRetry })).rejects.toBe(failure);
      expect([code, calls, asked.pop()]).toEqual([code, 1, needs]);
    }
  });

  it('retries a connection that failed before the statement was sent once, and never one that failed after', async () => {
    for (const code of ['ECONNREFUSED', 'CONNECT_TIMEOUT', '57P03', '53300']) {
      let calls = 0;
      const result = await withRetry(
        async () => {
          if (++calls === 1) throw Object.assign(new Error('refused'), { code });
          return 'ok';
        },
        DEFAULT_RETRY_POLICY,
        { sleep: async () => {} },
      );
      expect([code, result, calls]).toEqual([code, 'ok', 2]);

      calls = 0;
      const twice = Object.assign(new Error('still refused'), { code });
      await expect(
        withRetry(
          async () => {
            calls++;
            throw twice;
          },
          DEFAULT_RETRY_POLICY,
          { sleep: async () => {} },
        ),
      ).rejects.toBe(twice);
      expect([code, calls]).toEqual([code, 2]);
    }
    // The statement may have reached the server (and committed): never re-sent.
    for (const code of [
      'ECONNRESET',
      'EPIPE',
      'CONNECTION_CLOSED',
      'CONNECTION_ENDED',
      'CONNECTION_DESTROYED',
      '57P01',
      '57014',
      'ETIMEDOUT',
    ]) {
      let calls = 0;
      const cut = Object.assign(new Error('cut off'), { code });
      await expect(
        withRetry(
          async () => {
            calls++;
            throw cut;
          },
          DEFAULT_RETRY_POLICY,
          { sleep: async () => {} },
        ),
      ).rejects.toBe(cut);
      expect([code, calls]).toEqual([code, 1]);
    }
  });
});
