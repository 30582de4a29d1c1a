import { useEffect, useRef } from 'preact/hooks';
import { Header } from './components/Header';
import { Toast } from './components/Toast';
import { match, navigate, useLocation } from './router';
import { session, sessionNote, setSessionHint } from './state/app';
import { useStore } from './state/store';
import { setUnauthorizedHandler } from './api/http';
import { Home } from './pages/Home';
import { LoginPage } from './pages/Login';
import { Browse } from './pages/Browse';
import { ItemPage } from './pages/Item';
import { CartPage } from './pages/Cart';
import { NotFound } from './pages/Misc';
import { Data, Experiments, Health, Inspector, Models } from './pages/chunks';

setUnauthorizedHandler((_path, e) => {
  if (!session.get()) return;
  setSessionHint(false);
  session.set(null);
  sessionNote.set(e.message === 'session expired' ? 'Your session has expired: please log in again.' : 'You are no longer logged in: please log in again.');
  const here = window.location.pathname + window.location.search;
  navigate(`/login?next=${encodeURIComponent(here)}`);
});

function AdminOnly({ children }: { children: preact.ComponentChildren }) {
  const me = useStore(session);
  if (me === undefined) return null;
  if (!me) return <p>Please <a href="/login">log in</a> as an administrator.</p>;
  if (me.role !== 'admin') return <p class="banner error" role="alert">This page is for administrators only.</p>;
  return <>{children}</>;
}

function Route() {
  const loc = useLocation();
  const p = loc.path;
  let m: Record<string, string> | null;
  if (p === '/' || p === '/index.html') return <Home />;
  if (p === '/login') return <LoginPage />;
  if (p === '/browse' || p === '/search') return <Browse />;
  if (p === '/cart') return <CartPage />;
  if ((m = match('/item/:id', p))) return <ItemPage id={Number(m.id)} />;
  if ((m = match('/inspect/:id', p))) return <Inspector userId={Number(m.id)} />;
  if (p === '/admin/models') return <AdminOnly><Models /></AdminOnly>;
  if (p === '/admin/health') return <AdminOnly><Health /></AdminOnly>;
  if (p === '/admin/experiments') return <AdminOnly><Experiments /></AdminOnly>;
  if (p === '/admin/data') return <AdminOnly><Data /></AdminOnly>;
  return <NotFound />;
}

export function App() {
  const loc = useLocation();
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    // move focus to the new page for keyboard and screen-reader users (not on the first load)
    if (first.current) {
      first.current = false;
      return;
    }
    mainRef.current?.focus({ preventScroll: true });
  }, [loc.path]);
  return (
    <>
      <a class="sr-only skip" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" ref={mainRef} tabIndex={-1}>
        <Route />
      </main>
      <Toast />
    </>
  );
}
