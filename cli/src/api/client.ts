/**
 * The CLI's HTTP client of the Gantry API: where it is (`--url`, else `GANTRY_URL`, else
 * `http://127.0.0.1:8080`), the bearer token (`--token`, else `GANTRY_TOKEN`), JSON in and out.
 * An answer other than 2xx becomes an {@link ApiError} whose message is the problem document on
 * one line (`404 Not found: job … does not exist [NOT_FOUND]`) and whose exit code follows the
 * status (see `exit.ts`); a connection that cannot be made is exit code 5.
 */
import { type FlagKind, isUuid, type ParsedArgs } from '../args.js';
import { CliError, EXIT, exitCodeOfStatus } from '../exit.js';
import type { CliIo } from '../io.js';

/** The API's address when neither `--url` nor `GANTRY_URL` names one. */
export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

/** The flags every API command takes. */
export const API_FLAGS: Readonly<Record<string, FlagKind>> = { url: 'value', token: 'value' };

/** The parts of an RFC 9457 problem document the CLI prints. */
export interface ProblemBody {
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly code?: string;
  readonly errors?: readonly { path: string; message: string }[];
}

/** The API answered with an error. */
export class ApiError extends CliError {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly problem: ProblemBody | null,
  ) {
    super(describeProblem(status, problem), exitCodeOfStatus(status));
  }
}

/** A problem document as one line: status, title, detail, code, and how many more field errors. */
export function describeProblem(status: number, problem: ProblemBody | null): string {
  if (!problem) return `the API answered ${status}`;
  const title = problem.title ?? 'error';
  const detail = problem.detail && problem.detail !== title ? `: ${problem.detail}` : '';
  const more = (problem.errors?.length ?? 0) > 1 ? ` (and ${problem.errors!.length - 1} more)` : '';
  return `${status} ${title}${detail}${more}${problem.code ? ` [${problem.code}]` : ''}`;
}

/** Query values; undefined ones are left out. */
export type Query = Readonly<Record<string, string | number | undefined>>;

/** An answer: its status and its JSON body (null when it has none). */
export interface Answer<T> {
  readonly status: number;
  readonly body: T;
}

/** The API client of one command. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  /**
   * The URL of `path` (from the API's root, `/runner-jobs`…) with `query`, under the base URL's
   * own path: an API served at `https://ops.example.com/gantry` is asked at `/gantry/runner-jobs`.
   */
  url(path: string, query: Query = {}): string {
    const url = new URL(`${this.baseUrl}/${path.replace(/^\/+/, '')}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  /** Sends a request; resolves with the raw response (any status), rejects only when unreachable. */
  async fetch(path: string, init: { method?: string; query?: Query; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...init.headers };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(this.url(path, init.query), {
        method: init.method ?? 'GET',
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
      });
    } catch (err) {
      if (init.signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CliError(`cannot reach the API at ${this.baseUrl} (${why}); set GANTRY_URL or --url`, EXIT.unavailable, { cause: err });
    }
  }

  /** Sends a request and reads its JSON answer; throws an {@link ApiError} unless it is 2xx. */
  async request<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<Answer<T>> {
    const res = await this.fetch(path, { method, ...opts });
    if (!res.ok) throw await apiErrorOf(res);
    const text = await res.text();
    return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
  }

  /** GET `path` and return its JSON body. */
  async get<T>(path: string, query?: Query): Promise<T> {
    return (await this.request<T>('GET', path, { query })).body;
  }

  /** POST `body` to `path`. */
  post<T>(path: string, body?: unknown): Promise<Answer<T>> {
    return this.request<T>('POST', path, { body: body ?? {} });
  }
}

/** The ApiError of a non-2xx response (reads its body). */
export async function apiErrorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let problem: ProblemBody | null = null;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object') problem = parsed as ProblemBody;
  } catch {
    problem = text.trim() === '' ? null : { title: res.statusText || 'error', detail: text.trim().slice(0, 300) };
  }
  return new ApiError(res.status, problem);
}

/** The client a command's flags and environment describe. Usage error without a token or with a bad URL. */
export function apiClient(args: ParsedArgs, io: CliIo): ApiClient {
  const raw = args.values.get('url') ?? io.env.GANTRY_URL ?? DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`${JSON.stringify(raw)} is not a URL: set GANTRY_URL or --url to the API, e.g. ${DEFAULT_API_URL}`, EXIT.usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`the API URL must be http or https, not ${url.protocol}`, EXIT.usage);
  // fetch refuses such a URL, and every message naming the API would show the password.
  if (url.username !== '' || url.password !== '') {
    throw new CliError(`the API URL must not hold a user or password (${url.protocol}//${url.host}): the API takes a token, GANTRY_TOKEN or --token`, EXIT.usage);
  }
  const token = args.values.get('token') ?? io.env.GANTRY_TOKEN;
  if (!token) throw new CliError('no API token: set GANTRY_TOKEN or pass --token (`gantry token create` makes one)', EXIT.usage);
  return new ApiClient(url.toString().replace(/\/+$/, ''), token);
}

/**
 * `/runner-jobs/<id>` and what follows, each part encoded. The id must be a UUID, as every job's
 * is: `.` and `..` would survive the encoding and be taken out of the path by the URL, so that
 * `gantry cancel .` would have posted to `/runner-jobs/cancel`, the bulk cancel.
 */
export function jobPath(id: string, ...rest: string[]): string {
  if (!isUuid(id)) throw new CliError(`${JSON.stringify(id)} is not a job id (a UUID, as \`gantry list\` shows them)`, EXIT.usage);
  return ['/runner-jobs', id, ...rest].map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join('/');
}
