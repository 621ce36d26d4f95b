import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRoute } from './http/route.js';
import { openApiDocument } from './openapi.js';
import { API_ROUTES } from './routes/index.js';

type Doc = { paths: Record<string, Record<string, Record<string, unknown>>>; components: { schemas: Record<string, unknown> } };

describe('openApiDocument', () => {
  const doc = openApiDocument(API_ROUTES, { version: '1.2.3' }) as unknown as Doc;

  it('documents every route with its scope, parameters and problem answers', () => {
    const list = doc.paths['/runner-jobs']!.get!;
    expect(list['x-required-scope']).toBe('jobs:read');
    const params = (list.parameters as { name: string; in: string; style?: string }[]).map((p) => [p.name, p.in, p.style]);
    expect(params).toContainEqual(['status', 'query', 'form']);
    expect(params).toContainEqual(['limit', 'query', undefined]);
    const detail = doc.paths['/runner-jobs/{id}']!.get!;
    expect((detail.parameters as { name: string; in: string; required: boolean }[])[0]).toMatchObject({ name: 'id', in: 'path', required: true });
    expect(Object.keys(detail.responses as object).sort()).toEqual(['200', '400', '401', '403', '404', '429', '500']);
    const submit = doc.paths['/runner-jobs']!.post!;
    expect(submit.requestBody).toMatchObject({ required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/JobSpec' } } } });
  });

  it('documents request bodies as input (defaults optional) and answers as output', () => {
    const spec = doc.components.schemas.JobSpec as { required: string[] };
    expect(spec.required.sort()).toEqual(['steps', 'type']);
    const job = doc.components.schemas.Job as { required: string[] };
    expect(job.required).toEqual(expect.arrayContaining(['id', 'status', 'priority', 'steps']));
  });

  it('keeps output and input versions apart when a schema differs between them', () => {
    const Thing = z.strictObject({ size: z.int().default(1) }).meta({ id: 'Thing' });
    const route = defineRoute({
      method: 'POST',
      url: '/things',
      summary: 'things',
      scope: null,
      body: Thing,
      responses: { 200: { description: 'a thing', schema: Thing } },
      handler: async () => ({ status: 200 }),
    });
    const d = openApiDocument([route], { version: '0' }) as unknown as Doc;
    expect(Object.keys(d.components.schemas)).toEqual(expect.arrayContaining(['Thing', 'ThingOutput']));
    expect((d.components.schemas.ThingOutput as { required: string[] }).required).toEqual(['size']);
  });
});
