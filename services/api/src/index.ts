/**
 * @gantry/api — the HTTP face of Gantry. The process entry is `src/main.ts`; this entry exports
 * what tools and tests build on: the server component, the app factory, and the token format
 * the CLI mints tokens in.
 */
export { buildApp, type BuildAppOptions } from './app.js';
export { createApiServer, type ApiServer, type ApiServerConfig, type ApiServerOptions } from './server.js';
export { API_ENV } from './config.js';
export type { ApiDeps, ApiSettings } from './deps.js';
