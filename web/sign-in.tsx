import { useState } from 'preact/hooks';
import { api } from './api.js';
import { pageTokenRules, type Session, sessionFromToken } from './session.js';
import { ErrorState, Loaded, useGet } from './ui.js';

interface DevCustomer {
  customerId: number;
  name: string;
  email: string;
}
interface DevToken {
  token: string;
  customer: DevCustomer | null;
}

/**
 * Sign-in. Under `npm start`: a customer picker and an admin button, whose tokens come from the dev-only
 * POST /dev/tokens (the routes exist only under serverless-offline). Anywhere: paste a bearer token (on a
 * cloud stage, your identity provider's).
 */
export function SignInPage({ session, onSignIn }: { session: Session | null; onSignIn: (session: Session) => void }) {
  const [customers] = useGet<{ customers: DevCustomer[] }>('/dev/customers');
  const [failure, setFailure] = useState<Parameters<typeof ErrorState>[0]['error'] | null>(null);
  const [pasted, setPasted] = useState('');
  const devSignIn = async (body: { customerId: number } | { admin: true }) => {
    const result = await api<DevToken>('POST', '/dev/tokens', { body });
    if (!result.ok) return setFailure(result.error);
    const next = sessionFromToken(result.body.token, result.body.customer?.name ?? null, pageTokenRules());
    if (next) onSignIn(next);
  };
  return (
    <section aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in</h1>
      {session && <p>You are signed in; choosing again replaces the session.</p>}
      <h2>On this machine (npm start)</h2>
      {customers.state === 'error' && customers.error.status === 404 ? (
        <p class="state empty" role="status">
          The customer picker exists only under <code>npm start</code> (serverless-offline); this API has none. Paste a token below.
        </p>
      ) : (
        <Loaded load={customers} what="the customers">
          {({ customers: list }) => (
            <form
              class="picker"
              onSubmit={(event) => {
                event.preventDefault();
                const id = Number(new FormData(event.currentTarget).get('customer'));
                void devSignIn({ customerId: id });
              }}
            >
              <label for="customer">Customer</label>
              <select id="customer" name="customer">
                {list.map((c) => (
                  <option key={c.customerId} value={c.customerId}>
                    #{c.customerId} {c.name} ({c.email})
                  </option>
                ))}
              </select>
              <button type="submit">Sign in as this customer</button>
              <button type="button" onClick={() => void devSignIn({ admin: true })}>
                Sign in as an admin
              </button>
            </form>
          )}
        </Loaded>
      )}
      {failure && <ErrorState error={failure} />}
      <h2>With a token</h2>
      <form
        class="paste"
        onSubmit={(event) => {
          event.preventDefault();
          const next = sessionFromToken(pasted.trim(), null, pageTokenRules());
          if (!next) setFailure({ status: 400, code: 'VALIDATION_ERROR', message: 'That is not a JWT (three base64url parts).' });
          // The API would refuse it on the first call, and this tab would sign out at once.
          else if (next.expiresAt * 1000 <= Date.now()) {
            setFailure({
              status: 400,
              code: 'VALIDATION_ERROR',
              message: 'That token has expired (or has no expiry, which the API refuses).',
            });
          } else onSignIn(next);
        }}
      >
        <label for="token">
          Bearer token (from <code>npm run --silent token -- --sub 1</code>, or your identity provider)
        </label>
        <textarea id="token" rows={3} value={pasted} onInput={(event) => setPasted(event.currentTarget.value)} />
        <button type="submit">Use this token</button>
      </form>
    </section>
  );
}
