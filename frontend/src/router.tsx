// A small client-side router: the location as a store, pushState navigation, and <Link>.
import type { AnchorHTMLAttributes, ComponentChildren } from 'preact';
import { store, useStore } from './state/store';

export interface Loc {
  path: string;
  query: URLSearchParams;
  href: string;
}

function read(): Loc {
  const { pathname, search } = window.location;
  return { path: pathname, query: new URLSearchParams(search), href: pathname + search };
}

export const location = store<Loc>(typeof window === 'undefined' ? { path: '/', query: new URLSearchParams(), href: '/' } : read());

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === location.get().href) return;
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  location.set(read());
  window.scrollTo(0, 0);
}

if (typeof window !== 'undefined') window.addEventListener('popstate', () => location.set(read()));

export function useLocation(): Loc {
  return useStore(location);
}

/** Matches `/item/:id` style patterns; answers the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  const rest = p[p.length - 1] === '*';
  if (rest ? s.length < p.length - 1 : s.length !== p.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg === '*') {
      out['*'] = s.slice(i).map(decodeURIComponent).join('/');
      return out;
    }
    if (seg.startsWith(':')) out[seg.slice(1)] = decodeURIComponent(s[i]!);
    else if (seg !== s[i]) return null;
  }
  return out;
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren };

export function Link({ href, onClick, children, ...rest }: LinkProps) {
  return (
    <a
      href={href}
      {...rest}
      onClick={(e) => {
        if (onClick) (onClick as (ev: MouseEvent) => void)(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
