import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { boundedJsonObject, jsonBytes, utf8Bytes } from './json.js';

const encoder = new TextEncoder();

describe('utf8Bytes', () => {
  it('counts what TextEncoder encodes, for every width and for lone surrogates', () => {
    const samples = ['', 'plain ascii', 'é', '€ and 中文', '😀 pair', 'x\ud800', '\udc00x', '\ud800\ud800', 'end\ud83d'];
    for (const s of samples) expect(utf8Bytes(s), JSON.stringify(s)).toBe(encoder.encode(s).length);
  });

  it('agrees with TextEncoder on random strings', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let n = 0; n < 500; n++) {
      const units = Array.from({ length: next() % 40 }, () => [0x41, 0xe9, 0x20ac, 0xd83d, 0xde00, 0xfffd][next() % 6]!);
      const s = String.fromCharCode(...units);
      expect(utf8Bytes(s)).toBe(encoder.encode(s).length);
    }
  });

  it('is what jsonBytes counts of the serialised value', () => {
    expect(jsonBytes({ a: 'é' })).toBe(encoder.encode('{"a":"é"}').length);
  });
});

describe('boundedJsonObject', () => {
  it('accepts a value at the limit and refuses one byte more, counting UTF-8 bytes', () => {
    const schema = boundedJsonObject(12, 'thing');
    // {"a":"éé"} is 10 characters and 12 bytes.
    expect(schema.safeParse({ a: 'éé' }).success).toBe(true);
    const over = schema.safeParse({ a: 'ééx' });
    expect(over.success).toBe(false);
    expect(z.prettifyError(over.error!)).toContain('thing is 13 bytes serialised; the limit is 12 bytes');
  });
});
