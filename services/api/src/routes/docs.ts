/**
 * `GET /openapi.json` (the generated OpenAPI document) and `GET /docs` (a small, self-contained
 * HTML page listing every operation, for people). Both are public and built once.
 */
import { defineRoute, type ApiRoute } from '../http/route.js';
import { openApiDocument } from '../openapi.js';

type Json = { [key: string]: unknown };

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The HTML docs page of an OpenAPI document. */
export function docsPage(doc: Json): string {
  const info = doc.info as { title: string; version: string; description: string };
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const scope = typeof op['x-required-scope'] === 'string' ? `<code>${escape(op['x-required-scope'])}</code>` : 'public';
      const statuses = Object.keys(op.responses as Json).join(' ');
      rows.push(
        `<tr><td><code>${method.toUpperCase()} ${escape(path)}</code></td><td><b>${escape(String(op.summary))}</b>` +
          `${op.description ? `<br>${escape(String(op.description))}` : ''}</td><td>${scope}</td><td>${statuses}</td></tr>`,
      );
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)} ${escape(info.version)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%}td,th{border-top:1px solid #ddd;padding:.5rem;text-align:left;vertical-align:top}
code{font-size:14px}</style></head><body>
<h1>${escape(info.title)} <small>${escape(info.version)}</small></h1>
<p>${escape(info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1, with every request and answer schema).</p>
<table><thead><tr><th>Operation</th><th>What it does</th><th>Scope</th><th>Answers</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></body></html>
`;
}

/** The two docs routes, documenting `routes()` (which includes them). */
export function docsRoutes(routes: () => readonly ApiRoute[], version: string): ApiRoute[] {
  let doc: Json | undefined;
  let page: string | undefined;
  const document = () => (doc ??= openApiDocument(routes(), { version }));
  return [
    defineRoute({
      method: 'GET',
      url: '/openapi.json',
      summary: 'This API as an OpenAPI 3.1 document',
      scope: null,
      responses: { 200: { description: 'The document.', contentType: 'application/json' } },
      async handler() {
        return { status: 200, body: document() };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/docs',
      summary: 'This API’s operations, for people',
      scope: null,
      responses: { 200: { description: 'An HTML page.', contentType: 'text/html' } },
      async handler() {
        page ??= docsPage(document());
        return { status: 200, body: page, headers: { 'content-type': 'text/html; charset=utf-8' } };
      },
    }),
  ];
}
