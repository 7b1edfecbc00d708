import * as z from 'zod';
import { id, idParam } from '../ids.js';
import { MAX_ORDER_LINES } from '../orders/rules.js';
import { LineQuantitySchema } from '../orders/schemas.js';
import { MAX_NOTE_LENGTH } from './rules.js';

/**
 * The cart contract's input rules (docs/carts.md). Everything a client sends is checked here, before any
 * database call: the HTTP layer rejects a bad request with 400 VALIDATION_ERROR naming each bad field. A
 * cart line follows the order line rules (product id, quantity, at most MAX_ORDER_LINES lines), so a cart
 * that validates can be checked out.
 */

/** Bounds of the free-form `attributes` object of one cart line. */
export const ATTRIBUTE_LIMITS = {
  /** Containers (objects/arrays) on any path, the attributes object itself being level 1. */
  maxDepth: 5,
  /** Keys of any one object. */
  maxKeys: 50,
  /** Values (keys + array elements, at every level) in one line's attributes. */
  maxNodes: 200,
  maxArrayLength: 50,
  maxKeyLength: 100,
  maxStringLength: 500,
} as const;

/**
 * Keys that must never reach a document: `$…` (operators — MongoDB would treat them as such in some
 * positions, FerretDB rejects them), dotted keys (path syntax), the empty key and NUL (not a valid BSON
 * key), and the prototype-pollution names.
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * MongoDB stores U+0000 inside a string, but PostgreSQL's jsonb, where FerretDB keeps the documents locally,
 * refuses it: refused everywhere, so both servers agree and a save never fails in the store.
 */
const NUL = '\u0000';
const noNul = (what: string) => `${what} must not contain the NUL character (U+0000)`;

function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'attribute keys must not be empty';
  if (key.length > ATTRIBUTE_LIMITS.maxKeyLength) return `attribute keys must be at most ${ATTRIBUTE_LIMITS.maxKeyLength} characters`;
  if (key.startsWith('$')) return "attribute keys must not start with '$'";
  if (key.includes('.')) return "attribute keys must not contain '.'";
  if (key.includes(NUL)) return noNul('attribute keys');
  if (FORBIDDEN_KEYS.has(key)) return `attribute key "${key}" is not allowed`;
  return undefined;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = { [key: string]: AttributeValue };

/** At most this many issues are reported for one attributes object (a hostile payload must not make a huge answer). */
const MAX_ISSUES = 10;

/**
 * Walks the attributes breadth-first with explicit limits, so a deep or wide payload costs bounded work
 * and never recurses on the stack. Reports issues with their path (`items.0.attributes.a.b`).
 */
function checkAttributes(value: unknown, ctx: z.RefinementCtx): void {
  if (!isPlainObject(value)) {
    ctx.addIssue({ code: 'custom', message: 'attributes must be an object' });
    return;
  }
  let issues = 0;
  const report = (path: PropertyKey[], message: string) => {
    if (issues++ < MAX_ISSUES) ctx.addIssue({ code: 'custom', path: path as Array<string | number>, message });
  };
  let nodes = 0;
  const queue: Array<{ value: unknown; path: Array<string | number>; depth: number }> = [{ value, path: [], depth: 1 }];
  for (let head = 0; head < queue.length; head++) {
    const { value: current, path, depth } = queue[head]!;
    if (depth > ATTRIBUTE_LIMITS.maxDepth) {
      report(path, `attributes must not be nested deeper than ${ATTRIBUTE_LIMITS.maxDepth} levels`);
      continue;
    }
    const children: Array<[string | number, unknown]> = [];
    if (Array.isArray(current)) {
      if (current.length > ATTRIBUTE_LIMITS.maxArrayLength) {
        report(path, `attribute arrays must have at most ${ATTRIBUTE_LIMITS.maxArrayLength} elements`);
        continue;
      }
      for (const [index, element] of current.entries()) children.push([index, element]);
    } else {
      const keys = Object.keys(current as object);
      if (keys.length > ATTRIBUTE_LIMITS.maxKeys) {
        report(path, `attribute objects must have at most ${ATTRIBUTE_LIMITS.maxKeys} keys`);
        continue;
      }
      for (const key of keys) {
        const problem = keyProblem(key);
        if (problem) report([...path, key], problem);
        else children.push([key, (current as Record<string, unknown>)[key]]);
      }
    }
    nodes += children.length;
    if (nodes > ATTRIBUTE_LIMITS.maxNodes) {
      report([], `attributes must hold at most ${ATTRIBUTE_LIMITS.maxNodes} values in all`);
      return;
    }
    for (const [key, child] of children) {
      const childPath = [...path, key];
      if (typeof child === 'string') {
        if (child.length > ATTRIBUTE_LIMITS.maxStringLength) {
          report(childPath, `attribute strings must be at most ${ATTRIBUTE_LIMITS.maxStringLength} characters`);
        } else if (child.includes(NUL)) {
          report(childPath, noNul('attribute strings'));
        }
      } else if (typeof child === 'number') {
        if (!Number.isFinite(child)) report(childPath, 'attribute numbers must be finite');
      } else if (typeof child === 'boolean' || child === null) {
        // fine
      } else if (Array.isArray(child) && Array.isArray(current)) {
        // FerretDB v1 rejects arrays directly inside arrays; refuse them everywhere so both servers agree.
        report(childPath, 'attribute arrays must not directly contain arrays (wrap them in an object)');
      } else if (Array.isArray(child) || isPlainObject(child)) {
        queue.push({ value: child, path: childPath, depth: depth + 1 });
      } else {
        report(childPath, 'attribute values must be JSON (string, number, boolean, null, array or object)');
      }
    }
  }
}

/** What a key may be, as a pattern: keyProblem's rules but the length and the prototype names. */
const ATTRIBUTE_KEY_PATTERN = '^[^$.\\u0000][^.\\u0000]*$';

export const AttributesSchema = z
  .unknown()
  .superRefine(checkAttributes)
  .transform((value) => value as Attributes)
  // The walk above does not reach JSON Schema: the OpenAPI document publishes the same bounds.
  .meta({
    type: 'object',
    maxProperties: ATTRIBUTE_LIMITS.maxKeys,
    propertyNames: {
      minLength: 1,
      maxLength: ATTRIBUTE_LIMITS.maxKeyLength,
      pattern: ATTRIBUTE_KEY_PATTERN,
      not: { enum: [...FORBIDDEN_KEYS] },
    },
    description:
      `Free-form JSON object (gift wrap, engraving…): values are strings (at most ${ATTRIBUTE_LIMITS.maxStringLength} characters, no U+0000), ` +
      `finite numbers, booleans, null, arrays (at most ${ATTRIBUTE_LIMITS.maxArrayLength} elements, no array directly in an array) and objects ` +
      `(at most ${ATTRIBUTE_LIMITS.maxKeys} keys, none starting with "$" or containing "."), nested at most ${ATTRIBUTE_LIMITS.maxDepth} levels, ` +
      `${ATTRIBUTE_LIMITS.maxNodes} values in all.`,
  });

export const CartItemSchema = z.strictObject({
  productId: id,
  quantity: LineQuantitySchema,
  attributes: AttributesSchema.optional(),
});

/** PUT /carts/{customerId} body. Strict: unknown fields (a `customerId`, an `$set`…) are rejected. */
export const SaveCartBodySchema = z.strictObject({
  items: z.array(CartItemSchema).max(MAX_ORDER_LINES, `must contain at most ${MAX_ORDER_LINES} items`),
  note: z
    .string()
    .max(MAX_NOTE_LENGTH)
    .refine((note) => !note.includes(NUL), noNul('the note'))
    .optional(),
});

export const CartPathSchema = z.strictObject({ customerId: idParam });

export type CartItem = z.output<typeof CartItemSchema>;
export type SaveCartBody = z.output<typeof SaveCartBodySchema>;

/**
 * A version a client was served, as its ETag gives it back: the version and the time it expires. Enough
 * to write the next version without reading the cart first (carts.ts).
 */
export interface ServedVersion {
  version: number;
  expiresAt: Date;
}

/**
 * A write's precondition on the cart (If-Match): a version the client was served (its ETag), a bare
 * version number (checked against the stored cart), or '*' (the cart must exist).
 */
export type IfMatch = ServedVersion | number | '*';
