// fetch wrapper: JSON in/out, the gateway's error shape, timeouts, and a readable message for
// every failure (HTTP error, gateway down, bad JSON).

export class ApiError extends Error {
  constructor(
    readonly status: number, // 0 = no answer (network error, timeout)
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  get isNetwork(): boolean {
    return this.status === 0;
  }
}

/** What to tell a person about an error. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0) return `The shop's server did not answer (${e.message}).`;
    if (e.status === 401) return e.message === 'session expired' ? 'Your session has expired: please log in again.' : `Not logged in (${e.message}).`;
    if (e.status === 403) return `Not allowed: ${e.message}.`;
    if (e.status === 404) return `Not found: ${e.message}.`;
    if (e.status === 429) return `Too many attempts: try again in ${e.retryAfter ?? 'a few'} seconds.`;
    if (e.status >= 500) return `The server could not answer (${e.status} ${e.code}: ${e.message}).`;
    return `${e.message} (${e.status} ${e.code})`;
  }
  return e instanceof Error ? e.message : String(e);
}

type ErrorBody = { error?: { code?: unknown; message?: unknown } };

export async function toApiError(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as ErrorBody;
    if (body?.error && typeof body.error.code === 'string') code = body.error.code;
    if (body?.error && typeof body.error.message === 'string') message = body.error.message;
  } catch {
    /* not JSON: keep the status text */
  }
  const ra = Number(res.headers.get('Retry-After'));
  return new ApiError(res.status, code, message, Number.isFinite(ra) && ra > 0 ? ra : undefined);
}

export interface RequestOpts {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;
let fetchImpl: Fetch = (i, n) => fetch(i, n);
/** Tests swap the transport. */
export function setFetch(f: Fetch): void {
  fetchImpl = f;
}

async function send(path: string, opts: RequestOpts): Promise<Response> {
  const ctl = new AbortController();
  const timeout = setTimeout(() => ctl.abort(new DOMException('timeout', 'TimeoutError')), opts.timeoutMs ?? 10000);
  const onAbort = () => ctl.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    return await fetchImpl(path, {
      method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: 'same-origin',
      signal: ctl.signal,
    });
  } catch (e) {
    if (opts.signal?.aborted) throw e; // the caller cancelled: not an error to show
    const why = ctl.signal.aborted ? 'timed out' : e instanceof Error ? e.message : String(e);
    throw new ApiError(0, 'network', why);
  } finally {
    clearTimeout(timeout);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

let onUnauthorized: ((path: string, e: ApiError) => void) | null = null;
/** Called on a 401 from a route that needs a session (not login, logout or /v1/me). */
export function setUnauthorizedHandler(f: typeof onUnauthorized): void {
  onUnauthorized = f;
}

async function fail(path: string, res: Response): Promise<ApiError> {
  const e = await toApiError(res);
  if (res.status === 401 && !path.startsWith('/v1/auth/') && path !== '/v1/me') onUnauthorized?.(path, e);
  return e;
}

export async function request<T>(path: string, opts: RequestOpts = {}): Promise<T> {
  const res = await send(path, opts);
  if (!res.ok) throw await fail(path, res);
  try {
    return (await res.json()) as T;
  } catch {
    throw new ApiError(res.status, 'bad_response', `the answer to ${path} is not JSON`);
  }
}

export async function requestText(path: string, opts: RequestOpts = {}): Promise<string> {
  const res = await send(path, { ...opts, headers: { Accept: 'text/plain', ...opts.headers } });
  if (!res.ok) throw await fail(path, res);
  return res.text();
}

/** GET that also answers the status for endpoints whose error status carries a body (e.g. /readyz 503). */
export async function requestAnyStatus<T>(path: string, opts: RequestOpts = {}): Promise<{ status: number; body: T }> {
  const res = await send(path, opts);
  try {
    return { status: res.status, body: (await res.json()) as T };
  } catch {
    throw new ApiError(res.status, 'bad_response', `the answer to ${path} is not JSON`);
  }
}

export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}
