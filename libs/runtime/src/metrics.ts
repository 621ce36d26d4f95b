/**
 * Prometheus metrics on a registry of the service's own (never prom-client's global one), with
 * the default process metrics and `gantry_service_info{service,version} 1`. Metric and label
 * names come from `@gantry/contracts` `MetricNames` / `MetricLabels`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CounterConfiguration, GaugeConfiguration, HistogramConfiguration, Metric } from 'prom-client';
import { MetricLabels, MetricNames } from '@gantry/contracts';

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  readonly service: string;
  readonly version: string;
  /** Collect prom-client's default process metrics (CPU, memory, event loop); default true. */
  readonly defaultMetrics?: boolean;
}

/** A service's metrics registry. */
export interface Metrics {
  readonly registry: Registry;
  /** The exposition text for `/metrics`. */
  render(): Promise<string>;
  /** The `Content-Type` of {@link render}'s text. */
  readonly contentType: string;
}

/** A fresh registry with default process metrics and the service-info gauge set to 1. */
export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const info = new Gauge({
    name: MetricNames.serviceInfo,
    help: 'Always 1; labels name the running service and its version.',
    labelNames: [MetricLabels.service, MetricLabels.version],
    registers: [registry],
  });
  info.set({ [MetricLabels.service]: opts.service, [MetricLabels.version]: opts.version }, 1);
  return {
    registry,
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

function registerOnce<M extends Metric>(
  registry: Registry,
  name: string,
  kind: new (...args: never[]) => M,
  create: () => M,
): M {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return create();
  if (!(existing instanceof kind)) {
    throw new TypeError(`metric ${name} is already registered as another kind`);
  }
  return existing;
}

/**
 * The counter `config.name` on `registry`, created on first use; components that share a
 * registry share the counter.
 */
export function counterOn<L extends string>(
  registry: Registry,
  config: Omit<CounterConfiguration<L>, 'registers'>,
): Counter<L> {
  return registerOnce(registry, config.name, Counter<L>, () => new Counter({ ...config, registers: [registry] }));
}

/** The gauge `config.name` on `registry`, created on first use. */
export function gaugeOn<L extends string>(
  registry: Registry,
  config: Omit<GaugeConfiguration<L>, 'registers'>,
): Gauge<L> {
  return registerOnce(registry, config.name, Gauge<L>, () => new Gauge({ ...config, registers: [registry] }));
}

/** The histogram `config.name` on `registry`, created on first use. */
export function histogramOn<L extends string>(
  registry: Registry,
  config: Omit<HistogramConfiguration<L>, 'registers'>,
): Histogram<L> {
  return registerOnce(
    registry,
    config.name,
    Histogram<L>,
    () => new Histogram({ ...config, registers: [registry] }),
  );
}

/** The label value of values beyond a {@link boundedLabel}'s first `max`. */
export const OTHER_LABEL = 'other';

/**
 * A label for values a client chooses (a job type, a model an AI endpoint names): the first
 * `max` distinct values get a series of their own, later ones count under
 * {@link OTHER_LABEL}, so that no client can grow the registry without bound.
 */
export function boundedLabel(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= max) return OTHER_LABEL;
    seen.add(value);
    return value;
  };
}
