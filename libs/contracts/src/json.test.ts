import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { boundedJsonObject, jsonBytes, storableJson, storableText, unstorable, utf8Bytes } from './json.js';

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

describe('storableText and storableJson', () => {
  it('replace a NUL and unpaired surrogates with U+FFFD, and keep pairs and everything else', () => {
    expect(storableText('a\u0000b')).toBe('a\ufffdb');
    expect(storableText('😀 x \ud83d')).toBe('😀 x \ufffd');
    expect(storableText('\ude00 and \ud83d\ude00')).toBe('\ufffd and 😀');
    const plain = 'plain ✓ 😀';
    expect(storableText(plain)).toBe(plain);
  });

  it('agree with unstorable on random strings', () => {
    const units = [0, 0x41, 0xe9, 0x2713, 0xd83d, 0xde00, 0xdbff, 0xdc00];
    for (let n = 0; n < 500; n++) {
      const text = String.fromCharCode(...Array.from({ length: 1 + (n % 9) }, (_, i) => units[(n * 7 + i * 3) % units.length]!));
      expect(unstorable(storableText(text))).toBeUndefined();
      if (unstorable(text) === undefined) expect(storableText(text)).toBe(text);
    }
  });

  it('reach every string of a value, keys included, and return the value itself when none needs it', () => {
    expect(storableJson({ 'k\u0000': ['x\ud800', 1, null, { y: 'z\u0000' }] })).toEqual({ 'k\ufffd': ['x\ufffd', 1, null, { y: 'z\ufffd' }] });
    const clean = { a: ['b', 2], c: { d: true } };
    expect(storableJson(clean)).toBe(clean);
  });
});
