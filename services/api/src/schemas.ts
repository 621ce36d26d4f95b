/**
 * The HTTP API's own schemas: `schemas/requests.ts` (parameters, queries, small bodies) and
 * `schemas/responses.ts` (what it answers). Job specs, events and problems come from
 * `@gantry/contracts`. The routes validate with these schemas and `/openapi.json` is generated
 * from the same ones, so the two cannot drift.
 */
export * from './schemas/requests.js';
export * from './schemas/responses.js';
