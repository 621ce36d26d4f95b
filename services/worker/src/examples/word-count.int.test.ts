import { describe, expect, it } from 'vitest';
import { useWorkerHarness } from '../testing/harness.js';
import { wordCount } from './word-count.js';

const h = useWorkerHarness();

const write = { name: 'write', phase: 'SETUP' as const, type: 'COMMAND', spec: { shell: '/bin/sh', script: 'echo "the quick brown fox" > notes.txt' } };

describe('the README example step type', () => {
  it('runs as a custom step type without touching the engine', async () => {
    const { worker } = await h.startWorker({ stepTypes: [wordCount] });
    expect(worker.registry.types()).toContain('WORD_COUNT');
    const ok = await h.createJob({ steps: [write, { name: 'count', phase: 'VALIDATION', type: 'WORD_COUNT', spec: { path: 'notes.txt', minWords: 3 } }] });
    expect(await h.run(worker, ok.id)).toBe('COMPLETED');
    expect((await h.steps(ok.id))[1]!.output).toEqual({ words: 4 });
    expect((await h.job(ok.id)).result).toMatchObject({ count: { words: 4 } });

    const short = await h.createJob({ maxAttempts: 3, steps: [write, { name: 'count', phase: 'VALIDATION', type: 'WORD_COUNT', spec: { path: 'notes.txt', minWords: 10 } }] });
    expect(await h.run(worker, short.id)).toBe('FAILED');
    expect((await h.steps(short.id))[1]!.error).toMatchObject({ code: 'TOO_SHORT', message: '4 words, fewer than 10' });
    expect((await h.job(short.id)).failures).toBe(1);
  });
});
