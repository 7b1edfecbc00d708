/**
 * An id as text (shared/ids.ts has the rule): without zod, so that the web console can use the same rule.
 */
export const MAX_ID = 2_147_483_647;

export const ID_TEXT = /^[1-9][0-9]{0,9}$/;

/** An id written as text: digits only, no sign, exponent or leading zero, at most MAX_ID; else null. */
export function parseId(text: unknown): number | null {
  if (typeof text !== 'string' || !ID_TEXT.test(text)) return null;
  const value = Number(text);
  return value <= MAX_ID ? value : null;
}
