import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StepEvent } from '../types.js';
import { OutputCollector, tailUtf8, takeUtf8 } from './output.js';

type Chunk = { stream: string; offset: number; chunk: string };

function collector(opts: { maxChunkBytes?: number; maxTailBytes?: number; maxStreamedBytes?: number } = {}) {
  const events: Chunk[] = [];
  let flushes = 0;
  const c = new OutputCollector({
    maxChunkBytes: opts.maxChunkBytes ?? 8,
    maxTailBytes: opts.maxTailBytes ?? 16,
    maxStreamedBytes: opts.maxStreamedBytes ?? 1_000,
    flushEveryMs: 100,
    emit: (e: StepEvent) => events.push(e.payload as Chunk),
    flush: async () => {
      flushes += 1;
    },
  });
  return { c, events, flushes: () => flushes };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('UTF-8 helpers', () => {
  it('takes whole characters only', () => {
    expect(takeUtf8('aéb', 2)).toEqual(['a', 'éb']);
    expect(takeUtf8('aéb', 3)).toEqual(['aé', 'b']);
    expect(takeUtf8('😀x', 3)).toEqual(['', '😀x']);
    expect(takeUtf8('😀x', 4)).toEqual(['😀', 'x']);
    expect(tailUtf8('aéb', 2)).toBe('b');
    expect(tailUtf8('aéb', 3)).toBe('éb');
  });
});

describe('OutputCollector', () => {
  it('emits full chunks at once, bounded in bytes, with contiguous offsets per stream', () => {
    const { c, events } = collector();
    c.write('stdout', Buffer.from('0123456789abcdefXY'));
    c.write('stderr', Buffer.from('err'));
    expect(events).toEqual([
      { stream: 'stdout', offset: 0, chunk: '01234567' },
      { stream: 'stdout', offset: 8, chunk: '89abcdef' },
    ]);
    const summary = c.end();
    expect(events.slice(2)).toEqual([
      { stream: 'stdout', offset: 16, chunk: 'XY' },
      { stream: 'stderr', offset: 0, chunk: 'err' },
    ]);
    expect(summary).toEqual({ tail: '56789abcdefXYerr', stdoutBytes: 18, stderrBytes: 3, truncated: false });
  });

  it('never cuts a character split across reads, and replaces NUL', () => {
    const { c, events } = collector({ maxChunkBytes: 4 });
    const bytes = Buffer.from('é\u0000é', 'utf8');
    c.write('stdout', bytes.subarray(0, 1));
    c.write('stdout', bytes.subarray(1));
    c.end();
    expect(events.map((e) => e.chunk).join('')).toBe('é\uFFFDé');
    for (const e of events) expect(Buffer.byteLength(e.chunk)).toBeLessThanOrEqual(4);
  });

  it('streams at most maxStreamedBytes and keeps counting and tailing the rest', () => {
    const { c, events } = collector({ maxStreamedBytes: 20 });
    c.write('stdout', Buffer.from('x'.repeat(50)));
    const summary = c.end();
    expect(events.reduce((n, e) => n + e.chunk.length, 0)).toBe(16);
    expect(summary).toMatchObject({ stdoutBytes: 50, truncated: true, tail: 'x'.repeat(16) });
  });

  it('emits partial chunks and flushes on its timer', async () => {
    vi.useFakeTimers();
    const { c, events, flushes } = collector();
    c.write('stdout', Buffer.from('abc'));
    expect(events).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    expect(events).toEqual([{ stream: 'stdout', offset: 0, chunk: 'abc' }]);
    expect(flushes()).toBe(1);
    c.end();
    expect(flushes()).toBe(1);
  });
});
