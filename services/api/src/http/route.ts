/**
 * One declaration per route: method, path, required scope, the zod schemas of its parameters,
 * query and body, its answers, and its handler. `app.ts` registers routes from these
 * declarations (authenticating, then validating with `parseWith` before the handler runs) and
 * `openapi.ts` documents them from the same declarations.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Principal } from '../auth/authenticator.js';
import type { TokenScope } from '@gantry/store';
import type { ApiDeps } from '../deps.js';

type Schema = z.ZodType | undefined;
type Out<S extends Schema> = S extends z.ZodType ? z.output<S> : undefined;

/** What a handler answers; `undefined` when it wrote the response itself (event streams). */
export interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a handler receives: the validated input and everything the app was built with. */
export interface RouteContext<P, Q, B> {
  readonly req: FastifyRequest;
  readonly reply: FastifyReply;
  /** The caller; present on every route with a scope. */
  readonly principal: Principal;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly deps: ApiDeps;
}

/** A documented answer of a route. */
export interface ResponseDoc {
  readonly description: string;
  /** The body's schema (JSON unless `contentType` says otherwise). */
  readonly schema?: z.ZodType;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A request header a route reads, for the docs. */
export interface HeaderDoc {
  readonly name: string;
  readonly description: string;
}

/** A route declaration; build it with {@link defineRoute}. */
export interface RouteSpec<P extends Schema, Q extends Schema, B extends Schema> {
  readonly method: 'GET' | 'POST';
  /** Fastify path template, e.g. `/runner-jobs/:id`. */
  readonly url: string;
  readonly summary: string;
  readonly description?: string;
  /** The scope the token must hold; null for a public route. */
  readonly scope: TokenScope | null;
  /** Path parameters; input that fails them answers 404 (no such resource). */
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** A missing body is read as `{}`. */
  readonly bodyOptional?: boolean;
  /** The route answers with a long-lived stream: no HEAD route is made for it. */
  readonly streaming?: boolean;
  readonly headers?: readonly HeaderDoc[];
  /** Successful answers by status; problem answers are documented for every route. */
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Error statuses this route can answer beyond the common ones, for the docs. */
  readonly errors?: readonly number[];
  handler(ctx: RouteContext<Out<P>, Out<Q>, Out<B>>): Promise<Answer | undefined>;
}

/** A route of any input types. */
export type ApiRoute = RouteSpec<Schema, Schema, Schema>;

/** Declares a route; the handler's input types follow from its schemas. */
export function defineRoute<P extends Schema = undefined, Q extends Schema = undefined, B extends Schema = undefined>(
  spec: RouteSpec<P, Q, B>,
): ApiRoute {
  return spec as unknown as ApiRoute;
}
