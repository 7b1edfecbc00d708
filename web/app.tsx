import { useEffect, useState } from 'preact/hooks';
import { AdminPage } from './admin.js';
import { CartPage } from './cart.js';
import { OrdersPage } from './orders.js';
import { describeSession, loadSession, type Session, saveSession } from './session.js';
import { ShopPage } from './shop.js';
import { SignInPage } from './sign-in.js';

/** The longest wait setTimeout takes (2^31 − 1 ms); beyond it, it fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The pages, by the hash of the URL (/console#/cart): one page load serves them all. */
const PAGES = [
  ['shop', 'Shop'],
  ['cart', 'Cart'],
  ['orders', 'Orders'],
  ['admin', 'Dashboard'],
  ['sign-in', 'Sign in'],
] as const;
type Page = (typeof PAGES)[number][0];

const pageOf = (hash: string): Page => (PAGES.find(([page]) => hash === `#/${page}`)?.[0] ?? 'shop') as Page;

export function App() {
  const [page, setPage] = useState<Page>(pageOf(location.hash));
  const [session, setSession] = useState<Session | null>(loadSession);
  useEffect(() => {
    const onHash = () => setPage(pageOf(location.hash));
    // Another tab signing in or out changes this one too.
    const onStorage = () => setSession(loadSession());
    addEventListener('hashchange', onHash);
    addEventListener('storage', onStorage);
    return () => {
      removeEventListener('hashchange', onHash);
      removeEventListener('storage', onStorage);
    };
  }, []);
  useEffect(() => {
    document.title = `${PAGES.find(([p]) => p === page)![1]} · ecommerce-pipeline console`;
  }, [page]);
  // A token past its expiry signs this tab out (its pages then ask to sign in), rather than every call failing.
  const expiresAt = session?.expiresAt;
  useEffect(() => {
    if (expiresAt === undefined) return;
    // setTimeout fires at once beyond 2^31 − 1 ms (~24.8 days): a longer-lived token gets a timer for the
    // longest wait, then another for what is left.
    let timer: ReturnType<typeof setTimeout>;
    const arm = () => {
      const left = Math.max(0, expiresAt * 1000 - Date.now()) + 1000;
      timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(() => setSession(loadSession()), left);
    };
    arm();
    return () => clearTimeout(timer);
  }, [expiresAt]);
  const signIn = (next: Session | null) => {
    saveSession(next);
    setSession(next);
    location.hash = next ? (next.admin && next.customerId === null ? '#/admin' : '#/shop') : '#/sign-in';
  };
  return (
    <>
      <header class="top">
        <a class="brand" href="#/shop">
          ecommerce-pipeline
        </a>
        <nav aria-label="Pages">
          {PAGES.filter(([p]) => p !== 'sign-in').map(([p, title]) => (
            <a key={p} href={`#/${p}`} aria-current={p === page ? 'page' : undefined}>
              {title}
            </a>
          ))}
        </nav>
        <div class="who">
          {session ? (
            <>
              <span>Signed in as {describeSession(session)}</span>
              <button type="button" class="link" onClick={() => signIn(null)}>
                Sign out
              </button>
            </>
          ) : (
            <a href="#/sign-in" aria-current={page === 'sign-in' ? 'page' : undefined}>
              Sign in
            </a>
          )}
        </div>
      </header>
      {/* Another identity (signed in here or in another tab) starts every page afresh: nothing one customer
          saw (a cart, its version, a checkout attempt, a page of orders) may be acted on as another. */}
      <main id="main" key={session ? `${session.subject}:${session.customerId}:${session.admin}` : 'signed-out'}>
        {page === 'shop' && <ShopPage session={session} />}
        {page === 'cart' && <CartPage session={session} />}
        {page === 'orders' && <OrdersPage session={session} />}
        {page === 'admin' && <AdminPage session={session} />}
        {page === 'sign-in' && <SignInPage session={session} onSignIn={signIn} />}
      </main>
      <footer>
        Every request goes to this API’s public routes — <a href="/docs">the API reference</a>.
      </footer>
    </>
  );
}
