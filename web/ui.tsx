import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { type ApiError, api } from './api.js';
import { errorWords } from './errors.js';

/** A GET as component state: loading, the answer, or its error; `reload` asks again. */
export type Load<T> = { state: 'loading' } | { state: 'ok'; data: T; headers: Headers } | { state: 'error'; error: ApiError };

export function useGet<T>(path: string | null, token?: string): [Load<T>, () => void] {
  const [load, setLoad] = useState<Load<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let current = true;
    setLoad({ state: 'loading' });
    void api<T>('GET', path, { token }).then((result) => {
      if (!current) return;
      setLoad(result.ok ? { state: 'ok', data: result.body, headers: result.headers } : { state: 'error', error: result.error });
    });
    return () => {
      current = false;
    };
  }, [path, token, round]);
  return [load, () => setRound((n) => n + 1)];
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="state loading" role="status" aria-busy="true">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return (
    <div class="state empty" role="status">
      {children}
    </div>
  );
}

/**
 * An error envelope in words: what happened, the server's specifics, and what to do (retry a 503). After a
 * write (`write`), a 503 or no answer says nothing of what was done: a store may have committed before
 * failing or timing out (docs/orders.md, docs/carts.md), so the user is told to look before repeating it.
 */
export function ErrorState({
  error,
  retry,
  write = false,
  children,
}: {
  error: ApiError;
  retry?: () => void;
  write?: boolean;
  children?: ComponentChildren;
}) {
  const down = error.status === 503 || error.status === 0;
  const retryIn = error.retryAfter ? ` The API suggests retrying in ${error.retryAfter} s.` : '';
  return (
    <div class={`state error${down ? ' down' : ''}`} role="alert" data-code={error.code}>
      <p>
        <strong>{errorWords(error.code, error.status)}.</strong> {error.message}
      </p>
      {down && (
        <p>
          {write
            ? `What was asked may or may not have been done. Look before repeating it (an order, in your orders).${retryIn}`
            : error.status === 503
              ? `A store behind the API is down or slow.${retryIn}`
              : 'Check that the API is running.'}
        </p>
      )}
      {error.status === 401 && (
        <p>
          <a href="#/sign-in">Sign in again</a>.
        </p>
      )}
      {children}
      <p class="meta">
        {error.status ? `HTTP ${error.status} · ` : ''}
        <code>{error.code}</code>
        {retry && (
          <button type="button" class="link" onClick={retry}>
            Retry
          </button>
        )}
      </p>
    </div>
  );
}

/**
 * Renders a GET's three states, the answer through `children`, in a region that keeps the focus: a button
 * inside it that starts a new read (a pager's, Retry) is replaced by the loading state, and the focus would
 * fall back to the document, sending a keyboard user's next Tab to the top of the page.
 */
export function Loaded<T>({
  load,
  what,
  retry,
  children,
}: {
  load: Load<T>;
  what: string;
  retry?: () => void;
  children: (data: T, headers: Headers) => ComponentChildren;
}) {
  const region = useRef<HTMLDivElement>(null);
  // Whether the focus was last inside: a removed element's focus goes nowhere (no relatedTarget), which
  // leaves this set, while a move to anything else outside clears it.
  const focusInside = useRef(false);
  useLayoutEffect(() => {
    const active = document.activeElement;
    if (focusInside.current && (active === null || active === document.body)) region.current?.focus();
  }, [load.state]);
  return (
    <div
      ref={region}
      class="loaded"
      tabIndex={-1}
      onFocusIn={() => {
        focusInside.current = true;
      }}
      onFocusOut={(event) => {
        const next = event.relatedTarget;
        if (next instanceof Node && !region.current?.contains(next)) focusInside.current = false;
      }}
    >
      {load.state === 'loading' ? (
        <Loading what={what} />
      ) : load.state === 'error' ? (
        <ErrorState error={load.error} {...(retry ? { retry } : {})} />
      ) : (
        children(load.data, load.headers)
      )}
    </div>
  );
}

export const formatDate = (iso: string) =>
  new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).concat(' UTC');

/** An amount as the API gives it (a decimal string, `"98765.43"`), grouped by thousands, never through a float. */
export const formatAmount = (amount: string) => {
  const [whole = '', fraction] = amount.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
};

export const formatNumber = (n: number, digits = 2) =>
  new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3, maximumFractionDigits: digits }).format(n);

/** What a page shows to someone who must sign in first. */
export function SignInFirst({ what, admin = false }: { what: string; admin?: boolean }) {
  return (
    <div class="state empty" role="status">
      <p>
        {admin ? 'The dashboard is for administrators' : `Sign in as a customer to see ${what}`}:{' '}
        <a href="#/sign-in">sign in{admin ? ' as an admin' : ''}</a>.
      </p>
    </div>
  );
}
