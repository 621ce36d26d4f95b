/**
 * Reads Prometheus text exposition (what `/metrics` serves): which metric families are
 * registered (`# TYPE`), which series names have samples, and the label names (and, for `le`,
 * the values) seen on each.
 */

/** Metric families and samples of one or more scrapes. */
export interface Exposition {
  /** Family name → type (`counter`, `gauge`, `histogram`, `summary`, `untyped`). */
  readonly types: Map<string, string>;
  /** Sample name → label name → values seen. */
  readonly samples: Map<string, Map<string, Set<string>>>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** An empty exposition to merge scrapes into. */
export function emptyExposition(): Exposition {
  return { types: new Map(), samples: new Map() };
}

/** Adds the families and samples of `text` to `into` (default a new one) and returns it. */
export function parseExposition(text: string, into: Exposition = emptyExposition()): Exposition {
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(/\s+/);
      if (name && type) into.types.set(name, type);
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels = into.samples.get(m[1]!) ?? new Map<string, Set<string>>();
    into.samples.set(m[1]!, labels);
    for (const [, label, value] of (m[2] ?? '').matchAll(LABEL)) {
      const values = labels.get(label!) ?? new Set<string>();
      values.add(value!);
      labels.set(label!, values);
    }
  }
  return into;
}

/** Sample names a family of `type` exposes. */
function seriesNames(family: string, type: string): string[] {
  if (type === 'histogram') return [`${family}_bucket`, `${family}_sum`, `${family}_count`];
  if (type === 'summary') return [family, `${family}_sum`, `${family}_count`];
  return [family];
}

/** How a series name used in a query is served: with samples, registered without any, or not at all. */
export function lookup(exp: Exposition, name: string): { state: 'sampled'; labels: Map<string, Set<string>> } | { state: 'registered' | 'missing' } {
  const labels = exp.samples.get(name);
  if (labels) return { state: 'sampled', labels };
  for (const [family, type] of exp.types) if (seriesNames(family, type).includes(name)) return { state: 'registered' };
  return { state: 'missing' };
}
