/**
 * The Grafana dashboards and the generated files: the committed JSON and PrometheusRule are what
 * their sources generate; every query of a panel, a variable, a rule or the KEDA trigger parses
 * as PromQL (promtool); every dashboard is scoped by its namespace and service variables and
 * shows what the issue lists.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MetricNames } from '@gantry/contracts';
import { DASHBOARDS } from './dashboards/index.js';
import { generatedFiles } from './generated.js';
import { renderOverlay } from './checks/manifests.js';
import { queryRefs } from './checks/promql.js';
import { dashboardQueries, parseWithPromtool, ruleQueries, scalingQueries } from './checks/queries.js';
import { deployPath } from './paths.js';

const byUid = (uid: string) => DASHBOARDS.find((d) => d.dashboard.uid === uid)!.dashboard;
const metricsOf = (uid: string) =>
  new Set(
    byUid(uid)
      .panels.flatMap((p) => p.targets ?? [])
      .flatMap((t) => queryRefs(t.expr.replace(/\$__rate_interval/g, '5m')).selectors.map((s) => s.name)),
  );

describe('generated files', () => {
  it.each([...generatedFiles()])('deploy/%s is up to date (npm run -w @gantry/deploy generate)', (path, content) => {
    expect(readFileSync(deployPath(path), 'utf8')).toBe(content);
  });
});

describe('queries', () => {
  it('all parse as PromQL: every panel, variable, rule and scaling query (promtool check rules)', () => {
    const uses = [...dashboardQueries(), ...ruleQueries(), ...scalingQueries(renderOverlay('production'), 'production')];
    expect(uses.length).toBeGreaterThan(60);
    expect(parseWithPromtool(uses)).toEqual([]);
  });

  it('a query that does not parse is reported with where it comes from', () => {
    const problems = parseWithPromtool([
      { origin: 'good', expr: 'sum(up)' },
      { origin: 'dashboard x, panel "broken" A', expr: 'sum(rate(gantry_jobs_finished_total[5m])' },
    ]);
    expect(problems.join('\n')).toContain('panel "broken" A');
    expect(problems.join('\n')).not.toContain('good:');
  });
});

describe('dashboards', () => {
  it.each(DASHBOARDS.map((d) => [d.dashboard.uid, d.dashboard] as const))('%s has the datasource, namespace and service variables and scopes every query by namespace', (_, dash) => {
    expect(dash.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace', 'service']);
    for (const p of dash.panels) for (const t of p.targets ?? []) expect.soft(t.expr, p.title).toContain('namespace="$namespace"');
  });

  it.each(DASHBOARDS.map((d) => [d.dashboard.uid, d.dashboard] as const))('%s lays its panels out on the grid with unique ids', (_, dash) => {
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dash.panels) expect.soft(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    expect(new Set(DASHBOARDS.map((d) => d.dashboard.uid)).size).toBe(DASHBOARDS.length);
  });

  it('the overview shows API rate, errors and latency, queue depth and wait, throughput, failures, workers, dead letters and the leader', () => {
    const used = metricsOf('gantry-overview');
    for (const m of [
      'gantry_http_request_duration_seconds_count',
      'gantry_http_request_duration_seconds_bucket',
      'gantry_queue_depth',
      'gantry_queue_wait_seconds_bucket',
      'gantry_jobs_finished_total',
      'gantry_slots_total',
      'gantry_slots_busy',
      'gantry_dead_letters_total',
      'gantry_scheduler_leader',
    ]) {
      expect.soft(used, m).toContain(m);
    }
    const depth = byUid('gantry-overview').panels.find((p) => p.title === 'Queue depth by priority')!;
    expect(queryRefs(depth.targets![0]!.expr).groupingLabels).toContain('priority');
  });

  it('the workers view shows slots, step durations by type, command exit classes and AI tokens', () => {
    const used = metricsOf('gantry-workers');
    for (const m of ['gantry_slots_total', 'gantry_slots_busy', 'gantry_express_slots_total', 'gantry_express_slots_busy', 'gantry_step_duration_seconds_bucket', 'gantry_command_exits_total', 'gantry_ai_tokens_total']) {
      expect.soft(used, m).toContain(m);
    }
  });

  it('the event write path shows events written, commit sizes and durations, failures and publishes', () => {
    const used = metricsOf('gantry-event-writes');
    for (const m of [
      'gantry_events_written_total',
      'gantry_write_batch_size_bucket',
      'gantry_write_flush_duration_seconds_bucket',
      'gantry_write_errors_total',
      'gantry_nats_publishes_total',
      'gantry_nats_publish_errors_total',
    ]) {
      expect.soft(used, m).toContain(m);
    }
  });

  it('together show every metric the services export', () => {
    const used = new Set(DASHBOARDS.flatMap((d) => [...metricsOf(d.dashboard.uid)]));
    const shown = (name: string) => [name, `${name}_bucket`, `${name}_count`, `${name}_sum`].some((n) => used.has(n));
    expect(Object.values(MetricNames).filter((name) => !shown(name))).toEqual([]);
  });

  it('comes with Grafana provisioning for a dashboards folder and a Prometheus data source', () => {
    const dashboards = parse(readFileSync(deployPath('grafana/provisioning/dashboards/gantry.yaml'), 'utf8')) as { apiVersion: number; providers: { type: string; options: { path: string } }[] };
    expect(dashboards.apiVersion).toBe(1);
    expect(dashboards.providers[0]).toMatchObject({ type: 'file', options: { path: expect.stringMatching(/^\//) as unknown } });
    const sources = parse(readFileSync(deployPath('grafana/provisioning/datasources/prometheus.yaml'), 'utf8')) as { datasources: { type: string }[] };
    expect(sources.datasources.map((d) => d.type)).toEqual(['prometheus']);
  });
});
