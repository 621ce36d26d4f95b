import { describe, expect, it } from 'vitest';
import { rssVerdicts, type SoakSample } from './samples.js';

/** One sample a minute (from minute 1) with `rss` MiB for a service named `w`. */
function samples(rss: readonly number[]): SoakSample[] {
  return rss.map((miB, i) => ({ minute: i + 1, submitted: 0, ended: 0, jobsPerSecond: 0, p99Ms: 0, backlog: 0, rssMiB: { w: miB } }));
}

const verdictOf = (rss: readonly number[]) => rssVerdicts(samples(rss))[0]!;

describe('rssVerdicts', () => {
  it('calls flat a worker whose RSS swings above a steady baseline, even when the last sample is a swing', () => {
    // A worker's RSS in a 10-minute soak at 300 jobs/s on a busy host (2026-11-29): its heap grew
    // and shrank back; the same run sampled every 20 s stayed at 153–160 MiB between swings.
    const verdict = verdictOf([157.7, 160.5, 178.2, 158.5, 157.6, 160.4, 191.1, 232.2, 177.8, 207.9]);
    expect(verdict.verdict).toBe('flat');
    expect(verdict.firstMiB).toBe(158.5);
  });

  it('calls growing a baseline that rises, whatever swings ride on it', () => {
    const leak = Array.from({ length: 10 }, (_, i) => 150 + 8 * i + (i % 3 === 1 ? 60 : 0));
    const verdict = verdictOf(leak);
    expect(verdict.verdict).toBe('growing');
    expect(verdict.slopeMiBPerMinute).toBeGreaterThan(5);
  });

  it('calls growing a rising baseline whose last sample happens to be low', () => {
    expect(verdictOf([150, 160, 170, 180, 190, 200, 210, 220, 230, 205]).verdict).toBe('growing');
  });

  it('calls flat a rise below the growth fraction', () => {
    expect(verdictOf([150, 150, 152, 154, 156, 158, 160, 162, 164, 166]).verdict).toBe('flat');
  });
});
