import { describe, expect, it } from 'vitest';
import { copyField } from './copy-rows.js';

describe('copyField', () => {
  it('writes null as \\N, numbers and booleans as text, objects as JSON', () => {
    expect([null, undefined, 0, -1.5, true, false].map(copyField)).toEqual(['\\N', '\\N', '0', '-1.5', 'true', 'false']);
    expect(copyField({ a: 1, b: [null, 'x'] })).toBe('{"a":1,"b":[null,"x"]}');
  });

  it('leaves text without special characters as it is, and escapes backslash, tab, newline and CR', () => {
    const plain = '01a2b3c4-0000-7000-8000-000000000000 é ✓ 🚀 "quoted"';
    expect(copyField(plain)).toBe(plain);
    expect(copyField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyField('\\N')).toBe('\\\\N');
    // JSON escapes its own quotes and control characters with backslashes, which COPY must see doubled.
    expect(copyField({ s: 'say "hi"\n' })).toBe('{"s":"say \\\\"hi\\\\"\\\\n"}');
  });
});
