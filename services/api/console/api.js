/**
 * The console's only way to the API: the signed-in token (kept in sessionStorage, or in
 * localStorage when the user asks to be remembered), `call()` with `Authorization: Bearer`, and
 * problem+json answers turned into {@link ApiError}. A 401 signs the user out everywhere.
 */

const KEY = 'gantry.console.token';

/** Fired on `window` when the API refuses the token (401). */
export const UNAUTHENTICATED = 'gantry:unauthenticated';

/** The token the user signed in with, or null. */
export function currentToken() {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
}

/** Keeps `token` for this tab, or on this device when `remember`. */
export function signIn(token, remember) {
  signOut();
  (remember ? localStorage : sessionStorage).setItem(KEY, token);
}

/** Forgets the token (both storages). */
export function signOut() {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

/** An error answer of the API (RFC 9457 problem), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.title = problem.title ?? `HTTP ${status}`;
    this.code = problem.code ?? null;
    this.detail = problem.detail ?? '';
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.requestId = problem.requestId ?? null;
  }

  /** The error of a failed `Response` whose body was read as `text`. */
  static from(res, text) {
    let problem = {};
    try { problem = JSON.parse(text); } catch { problem = { detail: text.slice(0, 500) }; }
    if (typeof problem !== 'object' || problem === null) problem = {};
    if (res.status === 401) window.dispatchEvent(new CustomEvent(UNAUTHENTICATED, { detail: problem.detail }));
    return new ApiError(res.status, problem);
  }
}

/** The headers every call carries. */
export function authHeaders(extra = {}) {
  const token = currentToken();
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

/**
 * Calls the API: `call('GET', '/queue')`, `call('POST', path, body)`. Resolves with the parsed
 * JSON (or undefined for an empty answer); rejects with an {@link ApiError}.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{ signal?: AbortSignal }} [opts]
 */
export async function call(method, path, body, opts = {}) {
  const headers = authHeaders(body === undefined ? {} : { 'content-type': 'application/json' });
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new ApiError(0, { title: 'The API did not answer', detail: String(err?.message ?? err) });
  }
  const text = await res.text();
  if (!res.ok) throw ApiError.from(res, text);
  return text === '' ? undefined : JSON.parse(text);
}

/** A query string of the defined, non-empty values of `params` (with a leading `?`, or ''). */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/** A job's path: `/runner-jobs/<id>` plus `rest`. */
export function jobPath(id, rest = '') {
  return `/runner-jobs/${encodeURIComponent(id)}${rest}`;
}
