import type { Db } from 'mongodb';
import { NotFoundError } from '../errors.js';
import type { SaveCartBody } from './schemas.js';

export interface Cart {
  customerId: number;
  items: SaveCartBody['items'];
  note?: string;
  updatedAt: string;
  expiresAt: string;
  version: number;
}

interface CartDocument {
  _id: number;
  items: SaveCartBody['items'];
  note?: string;
  updatedAt: Date;
  expiresAt: Date;
  version: number;
}

export const CART_TTL_SECONDS = 7 * 24 * 3600;

function toCart(doc: CartDocument): Cart {
  return {
    customerId: doc._id,
    items: doc.items,
    ...(doc.note === undefined ? {} : { note: doc.note }),
    updatedAt: doc.updatedAt.toISOString(),
    expiresAt: doc.expiresAt.toISOString(),
    version: doc.version,
  };
}

export async function saveCart(db: Db, customerId: number, body: SaveCartBody): Promise<Cart> {
  const now = new Date();
  const carts = db.collection<CartDocument>('carts');
  const doc = await carts.findOneAndUpdate(
    { _id: customerId },
    {
      $set: {
        items: body.items,
        ...(body.note === undefined ? {} : { note: body.note }),
        updatedAt: now,
        expiresAt: new Date(now.getTime() + CART_TTL_SECONDS * 1000),
      },
      $inc: { version: 1 },
    },
    { upsert: true, returnDocument: 'after' },
  );
  if (!doc) throw new Error('cart upsert returned no document');
  return toCart(doc);
}

export async function getCart(db: Db, customerId: number): Promise<Cart> {
  const doc = await db.collection<CartDocument>('carts').findOne({ _id: customerId, expiresAt: { $gt: new Date() } });
  if (!doc) throw new NotFoundError('CART_NOT_FOUND', `Customer ${customerId} has no cart.`);
  return toCart(doc);
}
