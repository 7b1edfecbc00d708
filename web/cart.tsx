import { useEffect, useRef, useState } from 'preact/hooks';
import { MAX_LINE_QUANTITY } from '../shared/orders/rules.js';
import { type ApiError, type ApiResult, api, newIdempotencyKey, type Product } from './api.js';
import type { Session } from './session.js';
import { Empty, ErrorState, type Load, Loaded, SignInFirst, useGet } from './ui.js';

interface CartItem {
  productId: number;
  quantity: number;
  attributes?: Record<string, unknown>;
}
export interface Cart {
  customerId: number;
  items: CartItem[];
  note?: string;
  version: number;
  expiresAt: string;
}
/** A cart as this page was served it: with its ETag, which a write sends back as If-Match. */
type Served = Cart & { etag: string | null };
const served = (body: Cart, headers: Headers): Served => ({ ...body, etag: headers.get('etag') });
/** If-Match for the cart on screen: its ETag (the write then skips a read), or its version if none came. */
const ifMatch = (cart: Served) => cart.etag ?? `"${cart.version}"`;
interface Order {
  orderId: number;
  totalAmount: string;
}

const cartPath = (session: Session) => `/carts/${session.customerId}`;

/**
 * Saves `items` over the cart last seen (If-Match: its ETag), so a change made elsewhere in between
 * (another tab) is refused with 412 VERSION_CONFLICT instead of being overwritten. No cart seen: the cart is
 * created only if there still is none (If-None-Match: *), so a cart another tab created meanwhile is not
 * overwritten either.
 */
function saveCart(session: Session, items: CartItem[], seen: Served | undefined): Promise<ApiResult<Cart>> {
  return api<Cart>('PUT', cartPath(session), {
    token: session.token,
    body: { items, ...(seen?.note === undefined ? {} : { note: seen.note }) },
    headers: seen === undefined ? { 'If-None-Match': '*' } : { 'If-Match': ifMatch(seen) },
  });
}

/** One more of a product: read the cart as it is now, then write it back under that version. */
async function addOnce(session: Session, productId: number): Promise<ApiResult<Cart>> {
  const current = await api<Cart>('GET', cartPath(session), { token: session.token });
  if (!current.ok && current.error.code !== 'CART_NOT_FOUND') return current;
  const items = current.ok ? current.body.items.map((item) => ({ ...item })) : [];
  const line = items.find((item) => item.productId === productId && !item.attributes);
  // Said here rather than sent: the save would be refused (400) for the line's quantity.
  if (line && line.quantity >= MAX_LINE_QUANTITY) {
    const message = `The cart already holds ${MAX_LINE_QUANTITY} of this product, the most one line can.`;
    return { ok: false, error: { status: 400, code: 'LINE_QUANTITY_LIMIT', message } };
  }
  if (line) line.quantity++;
  else items.push({ productId, quantity: 1 });
  return saveCart(session, items, current.ok ? served(current.body, current.headers) : undefined);
}

/** Adds from this page run one after another: quick clicks on two products must both land. */
let adding: Promise<unknown> = Promise.resolve();

/**
 * One more of a product. A change made meanwhile elsewhere (another tab) makes the write a 412: the add is
 * read and written again over the newer cart, as the user asked for one more, whatever the cart holds.
 */
export function addToCart(session: Session, productId: number): Promise<ApiResult<Cart>> {
  const run = async () => {
    const result = await addOnce(session, productId);
    return !result.ok && result.error.code === 'VERSION_CONFLICT' ? addOnce(session, productId) : result;
  };
  const next = adding.then(run, run);
  adding = next;
  return next;
}

/**
 * The products of the cart's lines, for their names and prices (GET /products/{id} each), and the first
 * lookup that failed, with a way to ask again: a line must not show "…" for a price that is not coming.
 */
function useProducts(ids: number[]): { products: Map<number, Product>; failed: ApiError | null; retry: () => void } {
  const [products, setProducts] = useState(new Map<number, Product>());
  const [failed, setFailed] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const key = [...new Set(ids)].sort().join(',');
  // Run again for other lines (key), or for the same ones when Retry asks (attempt).
  useEffect(() => {
    let current = true;
    const missing = key ? key.split(',').map(Number) : [];
    void Promise.all(missing.map((id) => api<Product>('GET', `/products/${id}`))).then((results) => {
      if (!current) return;
      setProducts(new Map(results.flatMap((r) => (r.ok ? [[r.body.productId, r.body] as const] : []))));
      setFailed(results.find((r): r is Extract<ApiResult<Product>, { ok: false }> => !r.ok)?.error ?? null);
    });
    return () => {
      current = false;
    };
  }, [key, attempt]);
  return { products, failed, retry: () => setAttempt((n) => n + 1) };
}

export function CartPage({ session }: { session: Session | null }) {
  if (!session || session.customerId === null) return <SignInFirst what="your cart" />;
  return <CartView session={session} />;
}

function CartView({ session }: { session: Session }) {
  const [load, reload] = useGet<Cart>(cartPath(session), session.token);
  // The cart as shown: the last answer of a GET or of our own write.
  const [cart, setCart] = useState<Served | null>(null);
  // What failed last, shown over the cart: a read of it (retried by reading again) or a write (it may stand).
  const [failure, setFailure] = useState<{ error: ApiError; write: boolean } | null>(null);
  const [placed, setPlaced] = useState<{ order: Order; replayed: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  // One Idempotency-Key per checkout of one cart version: a double click or a retry after a lost answer
  // sends the same key, so the API answers the first order again instead of placing a second one. A key
  // sent for another version would be answered with the order of the version it was made for (the API
  // answers a known key first), so any other cart on screen gets a key of its own.
  const attempt = useRef<{ key: string; cart: string } | null>(null);
  // State updates render later: a second click in the same frame must see the first one synchronously.
  const inFlight = useRef(false);
  useEffect(() => {
    if (load.state === 'ok') {
      setCart(served(load.data, load.headers));
      setFailure(null);
    }
    if (load.state === 'error') {
      // The cart last seen is no longer what the store holds (deleted, expired elsewhere): show none. Any
      // other failure is shown, over the cart last seen.
      if (load.error.code === 'CART_NOT_FOUND') setCart(null);
      setFailure(load.error.code === 'CART_NOT_FOUND' ? null : { error: load.error, write: false });
    }
  }, [load]);
  const { products, failed: productLookup, retry: retryProducts } = useProducts(cart?.items.map((item) => item.productId) ?? []);

  const write = async (items: CartItem[]): Promise<boolean> => {
    // Two edits in one frame would both be made over the same version: the second would fail as a conflict.
    if (!cart || inFlight.current) return false;
    inFlight.current = true;
    setBusy(true);
    const result = await saveCart(session, items, cart);
    inFlight.current = false;
    setBusy(false);
    if (result.ok) {
      setCart(served(result.body, result.headers));
      setFailure(null);
    } else setFailure({ error: result.error, write: true });
    return result.ok;
  };
  // A removed line takes its focused Remove button with it: focus goes back to the cart's heading, not to the page.
  const heading = useRef<HTMLHeadingElement>(null);
  const remove = async (items: CartItem[]) => {
    if (await write(items)) heading.current?.focus();
  };
  const checkout = async () => {
    if (!cart || inFlight.current) return;
    const version = ifMatch(cart);
    if (attempt.current?.cart !== version) attempt.current = { key: newIdempotencyKey(), cart: version };
    inFlight.current = true;
    setBusy(true);
    const result = await api<Order>('POST', `${cartPath(session)}/checkout`, {
      token: session.token,
      headers: { 'Idempotency-Key': attempt.current.key, 'If-Match': version },
    });
    inFlight.current = false;
    setBusy(false);
    if (result.ok) {
      // The key stays with the cart version it ordered: pressed again before the emptied cart is shown, the
      // button sends it again and the API replays the order (a new key would be refused by If-Match).
      setPlaced({ order: result.body, replayed: result.headers.get('idempotent-replayed') === 'true' });
      setFailure(null);
      reload();
    } else {
      // A refusal that no retry of this attempt can change ends the attempt; a 503 or a lost answer keeps
      // the key, so pressing again is the retry the API recognises.
      if (result.error.status > 0 && result.error.status < 500 && result.error.code !== 'CHECKOUT_IN_PROGRESS') attempt.current = null;
      setFailure({ error: result.error, write: true });
    }
  };

  const shown: Load<Cart> = cart ? { state: 'ok', data: cart, headers: new Headers() } : load;
  return (
    <section aria-labelledby="cart-title">
      <h1 id="cart-title" ref={heading} tabIndex={-1}>
        Your cart
      </h1>
      {placed && (
        <p class="notice" role="status">
          {placed.replayed ? 'This cart was already ordered: order ' : 'Order '}
          <strong>#{placed.order.orderId}</strong> {placed.replayed ? '' : 'placed '}({placed.order.totalAmount}).{' '}
          <a href="#/orders">See it in your orders</a>.
        </p>
      )}
      {failure && cart && (
        <ErrorState error={failure.error} write={failure.write} {...(failure.write ? {} : { retry: reload })}>
          {failure.error.code === 'VERSION_CONFLICT' && (
            <p>
              Nothing was overwritten.{' '}
              <button type="button" onClick={reload}>
                Show the current cart
              </button>
            </p>
          )}
        </ErrorState>
      )}
      {load.state === 'error' && load.error.code === 'CART_NOT_FOUND' && !cart ? (
        <Empty>
          <p>
            Your cart is empty. <a href="#/shop">Browse the catalog</a>.
          </p>
        </Empty>
      ) : (
        <Loaded load={shown} what="your cart" retry={reload}>
          {(data) =>
            data.items.length === 0 ? (
              <Empty>
                <p>
                  Your cart is empty. <a href="#/shop">Browse the catalog</a>.
                </p>
              </Empty>
            ) : (
              <>
                {productLookup && (
                  <ErrorState error={productLookup} retry={retryProducts}>
                    <p>The names and prices of some lines could not be read.</p>
                  </ErrorState>
                )}
                <table class="lines">
                  <caption class="visually-hidden">Cart lines</caption>
                  <thead>
                    <tr>
                      <th scope="col">Product</th>
                      <th scope="col">Price</th>
                      <th scope="col">Quantity</th>
                      <th scope="col">
                        <span class="visually-hidden">Remove</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.items.map((item, index) => {
                      const product = products.get(item.productId);
                      const name = product?.name ?? `product #${item.productId}`;
                      const setQuantity = (quantity: number) =>
                        void write(data.items.map((line, i) => (i === index ? { ...line, quantity } : line)));
                      return (
                        <tr key={`${item.productId}-${index}`} data-product-id={item.productId}>
                          <td>{name}</td>
                          <td>{product?.price ?? (productLookup ? '—' : '…')}</td>
                          <td>
                            <button type="button" disabled={busy || item.quantity <= 1} onClick={() => setQuantity(item.quantity - 1)}>
                              −<span class="visually-hidden"> one {name}</span>
                            </button>
                            <output aria-label={`Quantity of ${name}`}> {item.quantity} </output>
                            <button
                              type="button"
                              disabled={busy || item.quantity >= MAX_LINE_QUANTITY}
                              onClick={() => setQuantity(item.quantity + 1)}
                            >
                              +<span class="visually-hidden"> one {name}</span>
                            </button>
                          </td>
                          <td>
                            <button
                              type="button"
                              class="link"
                              disabled={busy}
                              onClick={() => void remove(data.items.filter((_, i) => i !== index))}
                            >
                              Remove<span class="visually-hidden"> {name}</span>
                            </button>
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
                <p class="muted">
                  Version {data.version} · kept until {new Date(data.expiresAt).toUTCString()}
                </p>
                <button type="button" class="primary" disabled={busy} aria-busy={busy} onClick={() => void checkout()}>
                  {busy ? 'Working…' : 'Place the order'}
                </button>
              </>
            )
          }
        </Loaded>
      )}
    </section>
  );
}
