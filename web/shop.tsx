import { useMemo, useState } from 'preact/hooks';
import type { ApiError, Product } from './api.js';
import { addToCart } from './cart.js';
import type { Session } from './session.js';
import { Empty, ErrorState, Loaded, useGet } from './ui.js';

interface ProductPage {
  products: Product[];
  nextCursor: string | null;
}
interface TopProducts {
  products: Array<{ productId: number; name: string; unitsSold: number; revenue: string }>;
}

/** The attribute filters offered (any `attr.<key>` works; these are the sample shop's). */
const ATTRIBUTES = ['category', 'brand', 'colour', 'size'] as const;
const PAGE_SIZE = 12;

type Filters = Record<(typeof ATTRIBUTES)[number] | 'minPrice' | 'maxPrice', string> & { inStock: boolean };
const NO_FILTERS: Filters = { category: '', brand: '', colour: '', size: '', minPrice: '', maxPrice: '', inStock: false };

function query(filters: Filters, cursor: string | undefined): string {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const key of ATTRIBUTES) if (filters[key].trim()) params.set(`attr.${key}`, filters[key].trim());
  if (filters.minPrice.trim()) params.set('minPrice', filters.minPrice.trim());
  if (filters.maxPrice.trim()) params.set('maxPrice', filters.maxPrice.trim());
  if (filters.inStock) params.set('inStock', 'true');
  if (cursor) params.set('cursor', cursor);
  return `/products?${params}`;
}

/** An attribute as text: a list joined, an object as JSON (attributes are free-form), anything else as is. */
export const attributeText = (value: unknown): string =>
  Array.isArray(value)
    ? value.map(attributeText).join(', ')
    : typeof value === 'object' && value !== null
      ? JSON.stringify(value)
      : String(value);

export function ShopPage({ session }: { session: Session | null }) {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // The cursors of the pages before this one (the first page has none): Previous pops, Next pushes.
  const [cursors, setCursors] = useState<string[]>([]);
  const [catalog, reload] = useGet<ProductPage>(query(filters, cursors.at(-1)));
  const [top, reloadTop] = useGet<TopProducts>('/products/top?limit=5');
  const [notice, setNotice] = useState<{ text: string } | null>(null);
  // An add that failed stays said until that product is added after all: a later add's notice, which
  // follows at once when adds are clicked quickly, must not hide it.
  const [failedAdd, setFailedAdd] = useState<{ productId: number | null; name: string; error: ApiError } | null>(null);
  // Values seen so far, offered as suggestions (the catalog has no facet route).
  const seen = useMemo(() => {
    const values: Record<string, Set<string>> = Object.fromEntries(ATTRIBUTES.map((key) => [key, new Set<string>()]));
    if (catalog.state === 'ok')
      for (const product of catalog.data.products)
        for (const key of ATTRIBUTES) if (typeof product.attributes[key] === 'string') values[key]!.add(product.attributes[key] as string);
    return values;
  }, [catalog]);
  const add = async (product: Product) => {
    if (!session || session.customerId === null) return setFailedAdd({ productId: null, name: product.name, error: signInError });
    setNotice({ text: `Adding ${product.name}…` });
    const result = await addToCart(session, product.productId);
    if (result.ok) {
      setNotice({ text: `${product.name} is in your cart (${result.body.items.length} line(s)).` });
      setFailedAdd((failed) => (failed?.productId === product.productId ? null : failed));
    } else {
      setNotice(null);
      setFailedAdd({ productId: product.productId, name: product.name, error: result.error });
    }
  };
  return (
    <div class="columns">
      <section aria-labelledby="catalog-title">
        <h1 id="catalog-title">Catalog</h1>
        <form
          class="filters"
          aria-label="Filters"
          onSubmit={(event) => {
            event.preventDefault();
            setCursors([]);
            setFilters(draft);
          }}
        >
          {ATTRIBUTES.map((key) => (
            <label key={key}>
              {key}
              <input
                name={key}
                list={`values-${key}`}
                value={draft[key]}
                onInput={(event) => setDraft({ ...draft, [key]: event.currentTarget.value })}
              />
              <datalist id={`values-${key}`}>
                {[...(seen[key] ?? [])].sort().map((value) => (
                  <option key={value} value={value} />
                ))}
              </datalist>
            </label>
          ))}
          <label>
            min price
            <input
              name="minPrice"
              inputMode="decimal"
              value={draft.minPrice}
              onInput={(e) => setDraft({ ...draft, minPrice: e.currentTarget.value })}
            />
          </label>
          <label>
            max price
            <input
              name="maxPrice"
              inputMode="decimal"
              value={draft.maxPrice}
              onInput={(e) => setDraft({ ...draft, maxPrice: e.currentTarget.value })}
            />
          </label>
          <label class="check">
            <input
              type="checkbox"
              name="inStock"
              checked={draft.inStock}
              onChange={(e) => setDraft({ ...draft, inStock: e.currentTarget.checked })}
            />
            in stock only
          </label>
          <button type="submit">Filter</button>
          <button
            type="button"
            class="link"
            onClick={() => {
              setDraft(NO_FILTERS);
              setCursors([]);
              setFilters(NO_FILTERS);
            }}
          >
            Clear
          </button>
        </form>
        {failedAdd && (
          <ErrorState error={failedAdd.error} write>
            <p>{failedAdd.name} was not added.</p>
          </ErrorState>
        )}
        {notice && (
          <p role="status" class="notice">
            {notice.text}
          </p>
        )}
        <Loaded load={catalog} what="the catalog" retry={reload}>
          {({ products, nextCursor }) => (
            <>
              {products.length === 0 ? (
                <Empty>
                  <p>No product matches these filters.</p>
                </Empty>
              ) : (
                <ul class="products" aria-label="Products">
                  {products.map((product) => (
                    <li key={product.productId} class="product" data-product-id={product.productId}>
                      <h2>{product.name}</h2>
                      <p class="price">{product.price}</p>
                      <p class={product.stockQuantity > 0 ? 'stock' : 'stock out'}>
                        {product.stockQuantity > 0 ? `${product.stockQuantity} in stock` : 'sold out'}
                      </p>
                      <dl>
                        {Object.entries(product.attributes).map(([key, value]) => (
                          <div key={key}>
                            <dt>{key}</dt>
                            <dd>{attributeText(value)}</dd>
                          </div>
                        ))}
                      </dl>
                      <button type="button" disabled={product.stockQuantity === 0} onClick={() => void add(product)}>
                        Add to cart<span class="visually-hidden">: {product.name}</span>
                      </button>
                    </li>
                  ))}
                </ul>
              )}
              <nav class="pager" aria-label="Catalog pages">
                <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
                  Previous page
                </button>
                <span>Page {cursors.length + 1}</span>
                <button type="button" disabled={!nextCursor} onClick={() => nextCursor && setCursors([...cursors, nextCursor])}>
                  Next page
                </button>
              </nav>
            </>
          )}
        </Loaded>
      </section>
      <aside aria-labelledby="top-title">
        <h2 id="top-title">Best sellers</h2>
        <Loaded load={top} what="the best sellers" retry={reloadTop}>
          {({ products }, headers) =>
            products.length === 0 ? (
              <Empty>
                <p>Nothing sold yet.</p>
              </Empty>
            ) : (
              <>
                <ol class="top">
                  {products.map((p) => (
                    <li key={p.productId}>
                      {p.name} <span class="muted">{p.unitsSold} sold</span>
                    </li>
                  ))}
                </ol>
                <p class="muted">
                  Answered from {headers.get('x-cache') === 'HIT' ? 'the Redis cache' : 'PostgreSQL'} (X-Cache: {headers.get('x-cache')}).
                </p>
              </>
            )
          }
        </Loaded>
      </aside>
    </div>
  );
}

const signInError: ApiError = { status: 401, code: 'UNAUTHORIZED', message: 'Sign in as a customer to fill a cart.' };
