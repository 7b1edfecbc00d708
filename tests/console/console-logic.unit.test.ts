import { afterEach, describe, expect, it, vi } from 'vitest';
import { api } from '../../web/api.js';
import { attributeText } from '../../web/shop.js';
import { formatAmount } from '../../web/ui.js';

/** The console's pure parts: its one API call, and how it writes amounts and attributes. */
describe('the console', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('an answer cut off after its status line is a result (no answer), not an exception', async () => {
    const broken = new ReadableStream({
      start(controller) {
        controller.error(new TypeError('network error'));
      },
    });
    vi.stubGlobal('fetch', async () => new Response(broken, { status: 201, headers: { 'Content-Type': 'application/json' } }));
    expect(await api('POST', '/carts/1/checkout')).toEqual({
      ok: false,
      error: expect.objectContaining({ status: 0, code: 'NETWORK_ERROR' }),
    });
  });

  it('writes amounts as the API gives them, grouped by thousands, to the cent', () => {
    expect(['0.50', '999.99', '1234.56', '98765.43', '1234567.89', '-1234.50', '12'].map(formatAmount)).toEqual([
      '0.50',
      '999.99',
      '1,234.56',
      '98,765.43',
      '1,234,567.89',
      '-1,234.50',
      '12',
    ]);
  });

  it('writes any attribute value as text: a list joined, an object as JSON', () => {
    expect(attributeText('red')).toBe('red');
    expect(attributeText(['sale', 'eco'])).toBe('sale, eco');
    expect(attributeText({ w: 3, h: 4 })).toBe('{"w":3,"h":4}');
    expect(attributeText([{ w: 3 }, 'x'])).toBe('{"w":3}, x');
    expect(attributeText(42)).toBe('42');
  });
});
