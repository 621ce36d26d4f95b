/**
 * Reads a service process's Prometheus metrics (its /metrics on the health port it logged), so a
 * scenario can tell which component did the repair — the reconciler, the lost-worker check —
 * from the service's own counters rather than from its log text.
 */
import type { ServiceProcess } from '@gantry/testkit';

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
  const text = await (await fetch(`${await metricsBase(p)}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
