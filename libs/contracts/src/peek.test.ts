import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { peekWorkspaceId } from './peek.js';

const WS = '8f14e45f-ceea-467f-a0e6-0d6f5d5c0a11';
const OTHER = '0193b8f2-7c1e-7a4d-9b3a-6e5f4d3c2b1a';
const bytes = (text: string) => new TextEncoder().encode(text);
const peek = (text: string) => peekWorkspaceId(bytes(text));

describe('peekWorkspaceId', () => {
  it('finds the top-level workspaceId wherever it stands among the keys', () => {
    expect(peek(JSON.stringify({ v: 1, kind: 'submit', workspaceId: WS, jobs: [{ type: 'x' }] }))).toBe(WS);
    expect(peek(JSON.stringify({ jobs: [{ type: 'x', payload: { a: [1, '}', '"'] } }], workspaceId: WS }))).toBe(WS);
    expect(peek(JSON.stringify({ v: 1, workspaceId: WS }, null, 2))).toBe(WS);
    expect(peek(` \r\n\t{ "workspaceId" \n : \t "${WS}" } \n`)).toBe(WS);
  });

  it('skips a byte-order mark, as the decoder does', () => {
    expect(peekWorkspaceId(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes(`{"workspaceId":"${WS}"}`)]))).toBe(WS);
  });

  it('ignores a workspaceId nested in the command, in keys or values of strings', () => {
    const nested = { v: 1, job: { payload: { workspaceId: OTHER } }, note: '"workspaceId":"x"', workspaceId: WS };
    expect(peek(JSON.stringify(nested))).toBe(WS);
    expect(peek(JSON.stringify({ job: { workspaceId: OTHER } }))).toBeUndefined();
    expect(peek(JSON.stringify([{ workspaceId: WS }]))).toBeUndefined();
  });

  it('decodes a top-level key written with escapes', () => {
    expect(peek(`{"workspace\\u0049d":"${WS}"}`)).toBe(WS);
    expect(peek(`{"note":"a\\"b","\\u0077orkspaceId":"${WS}","x\\ty":1}`)).toBe(WS);
    expect(peek(`{"workspace\\u0049d":"${WS}","workspace\\u0069d":"${OTHER}"}`)).toBe(WS);
    expect(peek(`{"workspace\\q":"${WS}"}`)).toBeUndefined(); // not an escape: the parse fails
  });

  it('takes the first of duplicate keys (the scheduler refuses a body that parses to another)', () => {
    expect(peek(`{"workspaceId":"${OTHER}","v":1,"workspaceId":"${WS}"}`)).toBe(OTHER);
    expect(peek(`{"workspaceId":"${WS}","workspaceId":7}`)).toBe(WS);
    expect(peek(`{"workspaceId":7,"workspaceId":"${WS}"}`)).toBeUndefined();
  });

  it('gives up where the bytes alone cannot agree with a parse', () => {
    expect(peek(`{"workspaceId":"8f14e45f\\u002d"}`)).toBeUndefined(); // an escaped value
    expect(peek(`{"workspaceId":"${'a'.repeat(65)}"}`)).toBeUndefined(); // longer than any id
    expect(peek('{"workspaceId":"é"}')).toBeUndefined(); // not ASCII
    expect(peek('{"workspaceId":null}')).toBeUndefined();
    expect(peek('{"workspaceId":{"id":"x"}}')).toBeUndefined();
  });

  it('answers nothing for bodies that end or break before a top-level workspaceId', () => {
    for (const text of ['', '[]', '"workspaceId"', '{}', `{"job":{"workspaceId":"${WS}"}}`, `{"workspaceId" "${WS}"}`, `{"workspaceId":"${WS}`, `{"a":"${WS}`]) {
      expect(peek(text), text).toBeUndefined();
    }
  });

  it('steps over escaped quotes and backslashes inside strings', () => {
    expect(peek(JSON.stringify({ a: 'x\\', b: '\\"}{', c: ['\\\\"'], workspaceId: WS }))).toBe(WS);
    expect(peek(`{"a":"\\\\","workspaceId":"${WS}"}`)).toBe(WS);
  });

  it('agrees with JSON.parse on bodies without duplicate keys, and finds every plain top-level id', () => {
    const key = fc.constantFrom('workspaceId', 'workspaceid', 'workspace', 'v', 'jobs', 'a"b', 'x\\y', 'é', '');
    const leaf = fc.oneof(fc.string(), fc.constantFrom(WS, OTHER, '"', '\\', '}', '{"workspaceId":"x"}'), fc.integer(), fc.boolean(), fc.constant(null));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(key, tie('v'), { maxKeys: 3 })),
    })).v;
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 6 }), fc.option(fc.constantFrom(WS, OTHER)), fc.constantFrom(0, 1, 2, '\t'), (top, id, indent) => {
        const command = id === null ? top : { ...top, workspaceId: id };
        const text = JSON.stringify(command, null, indent);
        const peeked = peek(text);
        const parsed = (JSON.parse(text) as { workspaceId?: unknown }).workspaceId;
        if (peeked !== undefined) expect(peeked).toBe(parsed);
        // A plain id (no escapes, ASCII) is always found.
        if (id !== null) expect(peeked).toBe(id);
      }),
      { numRuns: 2_000 },
    );
  });

  it('never disagrees with JSON.parse on arbitrary text but for duplicate keys', () => {
    const piece = fc.constantFrom('{', '}', '[', ']', '"', '\\', ':', ',', ' ', '"workspaceId"', `"${WS}"`, `"${OTHER}"`, '1', 'null', '"x"');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const text = pieces.join('');
        const peeked = peek(text);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return; // the read refuses it: any answer will do
        }
        const id = (parsed as { workspaceId?: unknown } | null)?.workspaceId;
        // Only a body that writes the key twice may parse to another workspace than the peek's.
        if (peeked !== undefined && peeked !== id) expect(text.split('"workspaceId"').length - 1).toBeGreaterThan(1);
      }),
      { numRuns: 20_000 },
    );
  });
});
