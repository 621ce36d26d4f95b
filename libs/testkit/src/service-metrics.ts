/**
 * Reads a service process's Prometheus metrics (its /metrics on the health port it logged), so a
 * test or a benchmark can read what the service counted — which component did a repair, how
 * many express dispatches it sent — rather than its log text.
 */
import type { ServiceProcess } from './process.js';

/** The base URL of a scheduler's or worker's health and metrics server, or the API's. */
export async function metricsBase(p: ServiceProcess): Promise<string> {
  const line = await p.waitForLog((l) => l.msg === 'health server listening' || l.msg === 'api listening', 60_000);
  return `http://127.0.0.1:${String(line.port)}`;
}

/**
 * Sum of the samples of metric `name` whose labels include every pair of `labels` (0 when there
 * is none) in the process's /metrics.
 */
export async function metricSum(p: ServiceProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  return (await metricSums(p, [name], labels))[0]!;
}

/**
 * {@link metricSum} of each of `names`, from one scrape: a scrape resets some metrics (the
 * event-loop delay's percentiles and maximum are over the time since the last one).
 */
export async function metricSums(p: ServiceProcess, names: readonly string[], labels: Record<string, string> = {}): Promise<number[]> {
  const text = await (await fetch(`${await metricsBase(p)}/metrics`)).text();
  const sums = names.map(() => 0);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (m === null) continue;
    const at = names.indexOf(m[1]!);
    if (at < 0) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sums[at]! += Number(m[3]);
  }
  return sums;
}
