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
