/**
 * What the soak measures each minute and how it judges memory: per window the jobs that ended,
 * their throughput and p99 latency (submit → terminal event), the backlog, and the RSS of each
 * service process; at the end a flat/growing verdict per service from the RSS samples.
 */
import type { Pool } from '@gantry/store';
import { rssBytes } from '../cluster/processes.js';

/** One sampling window of the soak. */
export interface SoakSample {
  /** Minutes since the load started, at the end of the window. */
  readonly minute: number;
  readonly submitted: number;
  readonly ended: number;
  /** Jobs that ended in this window, per second. */
  readonly jobsPerSecond: number;
  /** p99 of submit → terminal event of the jobs that ended in this window, in ms. */
  readonly p99Ms: number;
  /** Jobs submitted and not yet ended at the end of the window. */
  readonly backlog: number;
  /** RSS per service process (`scheduler`, `w0`, …) in MiB. */
  readonly rssMiB: Readonly<Record<string, number>>;
}

/**
 * The memory verdict of one service, judged on its RSS baseline: the lowest sample of the first
 * and of the last third of the run (the first sample, the warm-up, left out). A Node process's
 * RSS swings above its baseline while V8 grows its heap and gives it back (172 → 220 → 159 MiB
 * within 40 s, a worker on a busy host), so one sample says little; a leak raises the baseline.
 */
export interface RssVerdict {
  readonly service: string;
  /** The baseline of the first third, MiB. */
  readonly firstMiB: number;
  /** The baseline of the last third, MiB. */
  readonly lastMiB: number;
  /** The baseline's rise from the first third to the last, MiB per minute (between their middles). */
  readonly slopeMiBPerMinute: number;
  readonly verdict: 'flat' | 'growing';
}

/** A service is "growing" when its baseline rises by more than this fraction over the run… */
export const GROWTH_FRACTION = 0.2;
/** …and by more than this many MiB per minute. */
export const GROWTH_SLOPE_MIB_PER_MINUTE = 1;

/** p-th percentile (0–100), nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * The terminal events of `jobIds` written before `before`, as job id → instant (ms). Looked up by
 * job (the events' primary key), so a sample costs the same on a table of millions of events.
 */
export async function endedAmong(pool: Pool, jobIds: readonly string[], before: number): Promise<Map<string, number>> {
  if (jobIds.length === 0) return new Map();
  const { rows } = await pool.query<{ job_id: string; at: Date }>(
    `SELECT job_id, created_at AS at FROM job_events
     WHERE job_id = ANY($1::uuid[]) AND type IN ('job.completed', 'job.failed', 'job.cancelled') AND created_at < $2`,
    [jobIds, new Date(before)],
  );
  return new Map(rows.map((r) => [r.job_id, r.at.getTime()]));
}

/** RSS in MiB of each named process (absent when it is gone). */
export async function rssOf(pids: Readonly<Record<string, number | undefined>>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const bytes = await rssBytes(pid);
    if (bytes !== undefined) out[name] = Math.round((bytes / 1_048_576) * 10) / 10;
  }
  return out;
}

/** The lowest RSS of `points` and the middle of their minutes. */
function baseline(points: readonly [number, number][]): { miB: number; minute: number } {
  return { miB: Math.min(...points.map(([, y]) => y)), minute: (points[0]![0] + points.at(-1)![0]) / 2 };
}

/** Judges each service's RSS over the samples (see {@link RssVerdict}). */
export function rssVerdicts(samples: readonly SoakSample[]): RssVerdict[] {
  const services = [...new Set(samples.flatMap((s) => Object.keys(s.rssMiB)))];
  return services.map((service) => {
    const points = samples.filter((s) => s.rssMiB[service] !== undefined).map((s) => [s.minute, s.rssMiB[service]!] as [number, number]);
    const steady = points.length > 2 ? points.slice(1) : points;
    if (steady.length === 0) return { service, firstMiB: 0, lastMiB: 0, slopeMiBPerMinute: 0, verdict: 'flat' };
    const third = Math.max(1, Math.floor(steady.length / 3));
    const first = baseline(steady.slice(0, third));
    const last = baseline(steady.slice(-third));
    const perMinute = last.minute > first.minute ? (last.miB - first.miB) / (last.minute - first.minute) : 0;
    const growing = last.miB > first.miB * (1 + GROWTH_FRACTION) && perMinute > GROWTH_SLOPE_MIB_PER_MINUTE;
    return {
      service,
      firstMiB: first.miB,
      lastMiB: last.miB,
      slopeMiBPerMinute: Math.round(perMinute * 100) / 100,
      verdict: growing ? 'growing' : 'flat',
    };
  });
}
