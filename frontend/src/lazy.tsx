// Lazy pages: the inspector and the admin console are separate chunks, loaded on first use
// (and prefetched when a link to them is likely to be used).
import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorBox, Loading } from './components/States';

export function lazyPage<P extends object>(load: () => Promise<FunctionComponent<P>>) {
  let cached: FunctionComponent<P> | null = null;
  let pending: Promise<FunctionComponent<P>> | null = null;
  const get = () => {
    pending ??= load().then((c) => (cached = c));
    pending.catch(() => (pending = null));
    return pending;
  };
  function Lazy(props: P) {
    const [C, setC] = useState<FunctionComponent<P> | null>(() => cached);
    const [err, setErr] = useState<unknown>(null);
    const [tick, setTick] = useState(0);
    useEffect(() => {
      if (C) return;
      get().then(
        (c) => setC(() => c),
        (e: unknown) => setErr(e),
      );
    }, [tick]);
    if (err) return <ErrorBox error={err} what="This page could not be loaded" onRetry={() => { setErr(null); setTick(tick + 1); }} />;
    if (!C) return <Loading label="Loading page…" />;
    return <C {...props} />;
  }
  Lazy.prefetch = () => void get().catch(() => undefined);
  return Lazy;
}
