import { Link } from '../router';

export function NotFound() {
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link href="/">Go to the shop</Link>.
      </p>
    </>
  );
}

export function Soon({ what }: { what: string }) {
  return (
    <>
      <h1>{what}</h1>
      <p class="banner info">This page is not available yet: it arrives with a later release.</p>
    </>
  );
}
