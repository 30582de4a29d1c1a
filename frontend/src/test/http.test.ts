import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, describeError, qs, request, setFetch, setUnauthorizedHandler } from '../api/http';
import { recommendationsPath } from '../api/client';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

afterEach(() => {
  setFetch((i, n) => fetch(i, n));
  setUnauthorizedHandler(null);
});

describe('request', () => {
  it('returns the JSON body', async () => {
    setFetch(() => Promise.resolve(json(200, { a: 1 })));
    expect(await request('/x')).toEqual({ a: 1 });
  });
  it('maps the gateway error shape', async () => {
    setFetch(() => Promise.resolve(json(403, { error: { code: 'forbidden', message: 'not your data' } })));
    const e = await request('/v1/users/2/recommendations').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect([(e as ApiError).status, (e as ApiError).code, (e as ApiError).message]).toEqual([403, 'forbidden', 'not your data']);
    expect(describeError(e)).toBe('Not allowed: not your data.');
  });
  it('a network failure is status 0 and says the server did not answer', async () => {
    setFetch(() => Promise.reject(new TypeError('Failed to fetch')));
    const e = (await request('/x').catch((x: unknown) => x)) as ApiError;
    expect(e.status).toBe(0);
    expect(describeError(e)).toContain('did not answer');
  });
  it('a non-JSON error keeps the status', async () => {
    setFetch(() => Promise.resolve(new Response('<html>', { status: 502, statusText: 'Bad Gateway' })));
    const e = (await request('/x').catch((x: unknown) => x)) as ApiError;
    expect([e.status, e.code]).toEqual([502, 'http_502']);
  });
  it('reads Retry-After of a 429', async () => {
    setFetch(() => Promise.resolve(json(429, { error: { code: 'too_many_attempts', message: 'slow down' } }, { 'Retry-After': '30' })));
    const e = (await request('/v1/auth/login', { body: {} }).catch((x: unknown) => x)) as ApiError;
    expect(e.retryAfter).toBe(30);
    expect(describeError(e)).toBe('Too many attempts: try again in 30 seconds.');
  });
  it('calls the unauthorized handler for protected routes only', async () => {
    const seen: string[] = [];
    setUnauthorizedHandler((p) => seen.push(p));
    setFetch(() => Promise.resolve(json(401, { error: { code: 'unauthorized', message: 'session expired' } })));
    await request('/v1/users/1/history').catch(() => undefined);
    await request('/v1/me').catch(() => undefined);
    await request('/v1/auth/login', { body: {} }).catch(() => undefined);
    expect(seen).toEqual(['/v1/users/1/history']);
  });
  it('sends JSON bodies with POST and same-origin credentials', async () => {
    let init: RequestInit | undefined;
    setFetch((_i, n) => {
      init = n;
      return Promise.resolve(json(200, {}));
    });
    await request('/v1/events', { body: { events: [] } });
    expect(init?.method).toBe('POST');
    expect(init?.credentials).toBe('same-origin');
    expect(init?.body).toBe('{"events":[]}');
  });
});

describe('query strings', () => {
  it('drops empty values', () => expect(qs({ a: 1, b: '', c: undefined, d: 'x y' })).toBe('?a=1&d=x+y'));
  it('builds the recommendations path with exclude, what_if and version', () => {
    expect(recommendationsPath(5, { k: 3, explain: true, exclude: [1, 2], what_if: 'view:9', version: 'v2' })).toBe(
      '/v1/users/5/recommendations?k=3&explain=1&exclude=1%2C2&what_if=view%3A9&version=v2',
    );
    expect(recommendationsPath(5, { exclude: Array.from({ length: 150 }, (_, i) => i + 1) }).split('%2C')).toHaveLength(100);
  });
});
