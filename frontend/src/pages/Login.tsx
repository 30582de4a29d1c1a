import { useState } from 'preact/hooks';
import { login } from '../api/client';
import { ApiError, describeError } from '../api/http';
import { navigate, useLocation } from '../router';
import { cartTick, session, sessionNote } from '../state/app';
import { useStore } from '../state/store';
import { prefetchForYou } from '../state/foryou';

export function LoginPage() {
  const loc = useLocation();
  const me = useStore(session);
  const note = useStore(sessionNote);
  const [user, setUser] = useState('');
  const [pw, setPw] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const next = loc.query.get('next');
  const target = next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
  return (
    <>
      <h1>Log in</h1>
      {me && (
        <p class="banner info">
          You are logged in as {me.login}. Logging in again switches the account.
        </p>
      )}
      <form
        class="form"
        data-testid="login-form"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setErr(null);
          login(user.trim(), pw)
            .then((m) => {
              sessionNote.set('');
              session.set(m);
              if (target === '/') prefetchForYou(m.user_id);
              cartTick.update((n) => n + 1);
              navigate(target, { replace: true });
            })
            .catch((e: unknown) => {
              if (e instanceof ApiError && e.status === 401) setErr('Wrong login or password.');
              else setErr(describeError(e));
            })
            .finally(() => setBusy(false));
        }}
      >
        {note && !err && <p class="banner warn" role="status">{note}</p>}
        <label>
          Login
          <input name="login" autocomplete="username" required value={user} onInput={(e) => setUser(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required value={pw} onInput={(e) => setPw(e.currentTarget.value)} />
        </label>
        {err && (
          <p class="banner error" role="alert" data-testid="login-error">
            {err}
          </p>
        )}
        <button class="btn" type="submit" disabled={busy} data-testid="login-submit">
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </>
  );
}
