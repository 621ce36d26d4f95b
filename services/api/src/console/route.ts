/**
 * The web console at `/ui`: a static shell (HTML, CSS and a few ES modules from
 * `services/api/console/`, read once when the app is built) that anyone may load. It holds no
 * data: every call it makes goes to the API with the bearer token the user signs in with, so the
 * console can do exactly what that token can do and nothing more.
 *
 * Every console answer carries a strict Content-Security-Policy (scripts, styles and connections
 * only from this origin, no inline script, no framing), `nosniff` and no referrer. Assets are
 * revalidated on every load (`no-cache` with a strong ETag), so a new version shows at once.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GantryError } from '@gantry/contracts';
import { sendProblem } from '../problems.js';

/** The path the console is served under. */
export const CONSOLE_PATH = '/ui';

/** The headers of every console answer. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  'cache-control': 'no-cache',
});

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** One file of the console, ready to send. */
interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

/**
 * Where the console's files may be: beside `src/` in the source tree, or beside the bundle in
 * the container image (`dist/console/`, next to the entry or its chunks).
 */
const CANDIDATE_DIRS = ['../../console/', '../console/', './console/'].map((p) => fileURLToPath(new URL(p, import.meta.url)));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

/** Reads the console's files (those of a known type) into memory, keyed by their path under `/ui/`. */
export function loadConsoleAssets(dir = CANDIDATE_DIRS.find((d) => existsSync(join(d, 'index.html')))): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (dir === undefined) return assets;
  for (const file of filesUnder(dir)) {
    const contentType = CONTENT_TYPES[extname(file)];
    if (contentType === undefined) continue;
    const body = readFileSync(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    assets.set(relative(dir, file).split(sep).join('/'), { body, contentType, etag });
  }
  return assets;
}

function serve(asset: Asset | undefined, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (asset === undefined) {
    const path = req.url.split('?')[0]!;
    return sendProblem(new GantryError('NOT_FOUND', `the console has no file ${path}`), req, reply.headers(CONSOLE_HEADERS));
  }
  reply.headers(CONSOLE_HEADERS).header('etag', asset.etag);
  if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.type(asset.contentType).send(asset.body);
}

/** Registers `GET /ui` (the shell) and `GET /ui/*` (its assets) on `app`; public routes. */
export function registerConsole(app: FastifyInstance, assets: ReadonlyMap<string, Asset> = loadConsoleAssets()): void {
  const index = assets.get('index.html');
  app.get(CONSOLE_PATH, async (req, reply) => serve(index, req, reply));
  app.get<{ Params: { '*': string } }>(`${CONSOLE_PATH}/*`, async (req, reply) => {
    const path = req.params['*'];
    return serve(path === '' ? index : assets.get(path), req, reply);
  });
}
