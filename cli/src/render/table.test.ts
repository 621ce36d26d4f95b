import { describe, expect, it } from 'vitest';
import { printable, table } from './table.js';

describe('printable', () => {
  it('writes out what a terminal would act on, and keeps tabs and ordinary text', () => {
    expect(printable('a\x1b[31mb\x07c\x00\x7f')).toBe('a^[[31mb^Gc^@^?');
    expect(printable('x\ny\r')).toBe('x^Jy^M');
    expect(printable('\x9b1m\u202eabc\u2066')).toBe('\\u009b1m\\u202eabc\\u2066');
    expect(printable('tab\there, ünïcödé ✓ 日本')).toBe('tab\there, ünïcödé ✓ 日本');
  });

  it('is idempotent', () => {
    const once = printable('\x1b]52;c;eA==\x07\u202e');
    expect(printable(once)).toBe(once);
  });
});

describe('table', () => {
  it('prints cells that come from a job as printable text', () => {
    expect(table([{ name: 'x\x1b[2Jy' }], [{ header: 'NAME', cell: (r) => r.name }])).toEqual(['NAME', 'x^[[2Jy']);
  });
});
