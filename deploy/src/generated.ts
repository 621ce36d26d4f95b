/**
 * The files of this package that are generated from a source, with their fresh content: the
 * Grafana dashboards from `src/dashboards/` and the PrometheusRule from the plain rule file.
 */
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { DASHBOARDS } from './dashboards/index.js';
import { deployPath } from './paths.js';

/** The Prometheus rule file everything else derives from. */
export const RULES_FILE = 'prometheus/gantry-rules.yaml';
/** The PrometheusRule generated from {@link RULES_FILE}. */
export const PROMETHEUS_RULE_FILE = 'prometheus/prometheusrule.yaml';

/** The PrometheusRule manifest carrying the groups of {@link RULES_FILE}. */
export function prometheusRule(): string {
  const rules = parse(readFileSync(deployPath(RULES_FILE), 'utf8')) as { groups: unknown[] };
  const manifest = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'gantry',
      labels: { 'app.kubernetes.io/name': 'gantry', 'app.kubernetes.io/part-of': 'gantry' },
    },
    spec: { groups: rules.groups },
  };
  return (
    `# Generated from deploy/${RULES_FILE} by \`npm run -w @gantry/deploy generate\`; edit that file.\n` +
    stringify(manifest, { lineWidth: 0 })
  );
}

/** Path inside `deploy/` → content, for every generated file. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const { file, dashboard } of DASHBOARDS) files.set(`grafana/dashboards/${file}`, `${JSON.stringify(dashboard, null, 2)}\n`);
  files.set(PROMETHEUS_RULE_FILE, prometheusRule());
  return files;
}
