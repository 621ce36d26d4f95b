/**
 * Every PromQL query the deployment ships — dashboard panels and variables, alerting and
 * recording rules, KEDA's scaling query — and the two checks run on them: each parses
 * (promtool), and each metric and label it uses is served by the running services.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DASHBOARDS } from '../dashboards/index.js';
import { RULES_FILE } from '../generated.js';
import { deployPath } from '../paths.js';
import { type Exposition, lookup } from './exposition.js';
import type { K8sObject } from './manifests.js';
import { labelValuesAsQuery, queryRefs, substituteGrafanaVariables } from './promql.js';
import { promtool } from './promtool.js';

/** A query and where it comes from. */
export interface QueryUse {
  readonly origin: string;
  /** PromQL, Grafana variables already substituted. */
  readonly expr: string;
}

/** A rule of the rule file. */
export interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The rule groups of `prometheus/gantry-rules.yaml`. */
export function ruleGroups(): { name: string; rules: Rule[] }[] {
  return (parse(readFileSync(deployPath(RULES_FILE), 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups;
}

/** Names the recording rules define. */
export function recordedNames(): Set<string> {
  return new Set(ruleGroups().flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
}

/** The queries of the dashboards (panels and `label_values` variables). */
export function dashboardQueries(): QueryUse[] {
  const uses: QueryUse[] = [];
  for (const { dashboard } of DASHBOARDS) {
    for (const v of dashboard.templating.list) {
      if (v.type !== 'query') continue;
      const query = typeof v.query === 'string' ? v.query : v.query.query;
      uses.push({ origin: `dashboard ${dashboard.uid}, variable ${v.name}`, expr: substituteGrafanaVariables(labelValuesAsQuery(query)) });
    }
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        uses.push({ origin: `dashboard ${dashboard.uid}, panel "${panel.title}" ${target.refId}`, expr: substituteGrafanaVariables(target.expr) });
      }
    }
  }
  return uses;
}

/** The expressions of every rule. */
export function ruleQueries(): QueryUse[] {
  return ruleGroups().flatMap((g) => g.rules.map((r) => ({ origin: `rule ${r.alert ?? r.record} (group ${g.name})`, expr: r.expr })));
}

/** KEDA prometheus-trigger queries of rendered ScaledObjects. */
export function scalingQueries(objects: readonly K8sObject[], overlay: string): QueryUse[] {
  return objects
    .filter((o) => o.kind === 'ScaledObject')
    .flatMap((o) =>
      ((o.spec as { triggers?: { type: string; metadata: Record<string, string> }[] }).triggers ?? [])
        .filter((t) => t.type === 'prometheus')
        .map((t) => ({ origin: `overlay ${overlay}, ScaledObject ${o.metadata.name}`, expr: t.metadata.query ?? '' })),
    );
}

/**
 * Parses every query with promtool: each becomes a recording rule of a scratch rule file, which
 * `promtool check rules` parses with Prometheus's own PromQL parser. Returns promtool's
 * complaints, each with the origin of the query, or [] when all parse.
 */
export function parseWithPromtool(uses: readonly QueryUse[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-promql-'));
  try {
    const file = join(dir, 'queries.yaml');
    const rules = uses.map((u, i) => ({ record: `gantry_query_check:q${i}`, expr: u.expr }));
    writeFileSync(file, stringify({ groups: [{ name: 'queries', rules }] }, { lineWidth: 0 }));
    const { code, output } = promtool(['check', 'rules', file]);
    if (code === 0) return [];
    const named = [...output.matchAll(/gantry_query_check:q(\d+)/g)].map((m) => Number(m[1]));
    const origins = [...new Set(named)].map((i) => `${uses[i]!.origin}: ${uses[i]!.expr}`);
    return [`promtool check rules failed:\n${output}`, ...origins];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Labels Prometheus adds to every series it scrapes through the PodMonitor. */
export const TARGET_LABELS: ReadonlySet<string> = new Set(['namespace', 'pod', 'job', 'instance', 'container', 'endpoint']);
/** Series Prometheus makes itself rather than scraping them. */
export const SYNTHETIC_SERIES: ReadonlySet<string> = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'ALERTS', 'ALERTS_FOR_STATE']);

/**
 * Checks each query's references against what the services exposed: every metric is served
 * (a sample, or at least its registration), every label a selector matches on appears on the
 * metric's samples, every `le` bucket exists, every grouping label exists on some metric of the
 * query or is a target label. Returns the problems, or [] when there are none.
 */
export function checkAgainstExposition(uses: readonly QueryUse[], exp: Exposition, recorded: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const use of uses) {
    const refs = queryRefs(use.expr);
    const seen = new Set<string>(TARGET_LABELS);
    const complain = (msg: string) => problems.push(`${use.origin}: ${msg}`);
    for (const sel of refs.selectors) {
      if (sel.name === '') {
        complain('a selector names no metric');
        continue;
      }
      if (recorded.has(sel.name)) continue;
      if (SYNTHETIC_SERIES.has(sel.name)) {
        for (const m of sel.matchers) if (!TARGET_LABELS.has(m.label)) complain(`${sel.name} has no label ${m.label}`);
        continue;
      }
      const found = lookup(exp, sel.name);
      if (found.state === 'missing') {
        complain(`metric ${sel.name} is not exposed by any service`);
        continue;
      }
      const labels = found.state === 'sampled' ? found.labels : undefined;
      for (const l of labels?.keys() ?? []) seen.add(l);
      for (const m of sel.matchers) {
        if (TARGET_LABELS.has(m.label)) continue;
        if (!labels) {
          complain(`${sel.name} has no samples, so its label ${m.label} cannot be confirmed (drive the activity that records it)`);
        } else if (!labels.has(m.label)) {
          complain(`${sel.name} has no label ${m.label} (it has: ${[...labels.keys()].join(', ') || 'none'})`);
        } else if (m.label === 'le' && m.op === '=' && !labels.get('le')!.has(m.value)) {
          complain(`${sel.name} has no bucket le="${m.value}" (buckets: ${[...labels.get('le')!].join(', ')})`);
        }
      }
    }
    for (const label of refs.groupingLabels) {
      if (!seen.has(label)) complain(`groups or matches on label ${label}, which none of its metrics has`);
    }
  }
  return problems;
}
