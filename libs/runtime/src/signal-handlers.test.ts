import { describe, expect, it } from 'vitest';
import { withoutNewSignalHandlers } from './signal-handlers.js';

describe('withoutNewSignalHandlers', () => {
  it('takes off the signal listeners the load added, keeps those there before, and answers what it loaded', async () => {
    const mine = () => undefined;
    const theirs = () => undefined;
    process.on('SIGHUP', mine);
    try {
      const loaded = await withoutNewSignalHandlers(async () => {
        process.on('SIGHUP', theirs);
        process.on('SIGTERM', theirs);
        return 'module';
      });
      expect(loaded).toBe('module');
      expect(process.listeners('SIGHUP')).toContain(mine);
      expect(process.listeners('SIGHUP')).not.toContain(theirs);
      expect(process.listeners('SIGTERM')).not.toContain(theirs);
    } finally {
      process.off('SIGHUP', mine);
      process.off('SIGHUP', theirs);
      process.off('SIGTERM', theirs);
    }
  });
});
