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
