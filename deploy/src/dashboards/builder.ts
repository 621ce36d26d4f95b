/**
 * Builds Grafana dashboard JSON (schema version 39) from short panel specs: rows of panels laid
 * out left to right on Grafana's 24-column grid, every query on the `$datasource` Prometheus data
 * source, and the template variables every Gantry dashboard has: `datasource`, `namespace`
 * (the Kubernetes namespace of a deployment) and `service` (the scrape job: gantry-api,
 * gantry-scheduler, gantry-worker). Output is deterministic, so the committed JSON can be
 * compared with a fresh build.
 */

/** Grafana's `$__rate_interval`: at least four scrape intervals, for rate() and increase(). */
export const RATE = '$__rate_interval';
/** Selector of the chosen namespace. */
export const NS = 'namespace="$namespace"';
/** Selector of the chosen namespace and services. */
export const NS_SVC = 'namespace="$namespace", job=~"$service"';

/** One query of a panel. */
export interface QuerySpec {
  readonly expr: string;
  /** Legend template, e.g. `{{status_class}}`. */
  readonly legend?: string;
}

/** One panel. */
export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly queries: readonly QuerySpec[];
  /** Grafana unit id: `reqps`, `s`, `percentunit`, `bytes`, `short`, `ops`. */
  readonly unit?: string;
  /** `stat` for a single number, default `timeseries`. */
  readonly kind?: 'timeseries' | 'stat';
  /** Grid columns out of 24; default 12. */
  readonly width?: number;
  readonly stacked?: boolean;
  readonly min?: number;
  readonly max?: number;
}

/** A titled row of panels. */
export interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

/** A dashboard. */
export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly rows: readonly RowSpec[];
}

/** A Grafana panel as written to the JSON (the fields the checks read are typed). */
export interface GrafanaPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly h: number; readonly w: number; readonly x: number; readonly y: number };
  readonly targets?: readonly { readonly expr: string; readonly refId: string; readonly legendFormat?: string }[];
  readonly [key: string]: unknown;
}

/** A template variable as written to the JSON. */
export interface GrafanaVariable {
  readonly name: string;
  readonly type: string;
  readonly query: string | { readonly query: string; readonly refId: string };
  readonly [key: string]: unknown;
}

/** A Grafana dashboard as written to the JSON. */
export interface GrafanaDashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly GrafanaPanel[];
  readonly templating: { readonly list: readonly GrafanaVariable[] };
  readonly [key: string]: unknown;
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;
const PANEL_HEIGHT = 8;
const STAT_HEIGHT = 4;

function queryVariable(name: string, label: string, query: string, extra: Record<string, unknown>): GrafanaVariable {
  return {
    name,
    label,
    type: 'query',
    datasource: DATASOURCE,
    definition: query,
    query: { query, refId: `${name}-variable` },
    refresh: 2,
    sort: 1,
    current: {},
    options: [],
    hide: 0,
    skipUrlSync: false,
    ...extra,
  };
}

/** The template variables of every Gantry dashboard. */
export function variables(): GrafanaVariable[] {
  return [
    {
      name: 'datasource',
      label: 'Data source',
      type: 'datasource',
      query: 'prometheus',
      current: {},
      hide: 0,
      refresh: 1,
      skipUrlSync: false,
    },
    queryVariable('namespace', 'Namespace', 'label_values(gantry_service_info, namespace)', { multi: false, includeAll: false }),
    queryVariable('service', 'Service', 'label_values(gantry_service_info{namespace="$namespace"}, job)', {
      multi: true,
      includeAll: true,
      allValue: 'gantry-.*',
    }),
  ];
}

function panel(spec: PanelSpec, id: number, gridPos: GrafanaPanel['gridPos']): GrafanaPanel {
  const kind = spec.kind ?? 'timeseries';
  const defaults: Record<string, unknown> = { unit: spec.unit ?? 'short' };
  if (spec.min !== undefined) defaults.min = spec.min;
  if (spec.max !== undefined) defaults.max = spec.max;
  if (kind === 'timeseries') {
    defaults.custom = {
      drawStyle: 'line',
      lineWidth: 1,
      fillOpacity: spec.stacked ? 30 : 10,
      showPoints: 'never',
      stacking: { mode: spec.stacked ? 'normal' : 'none', group: 'A' },
    };
  }
  return {
    id,
    type: kind,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos,
    targets: spec.queries.map((q, i) => ({
      datasource: DATASOURCE,
      expr: q.expr,
      refId: String.fromCharCode(65 + i),
      ...(q.legend === undefined ? {} : { legendFormat: q.legend }),
    })),
    fieldConfig: { defaults, overrides: [] },
    options:
      kind === 'stat'
        ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', textMode: 'auto' }
        : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
  };
}

/** Lays out `spec` and returns the dashboard JSON object. */
export function dashboard(spec: DashboardSpec): GrafanaDashboard {
  const panels: GrafanaPanel[] = [];
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const w = p.width ?? 12;
      const h = (p.kind ?? 'timeseries') === 'stat' ? STAT_HEIGHT : PANEL_HEIGHT;
      if (x + w > 24) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      panels.push(panel(p, id++, { h, w, x, y }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['gantry'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    timezone: 'browser',
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    links: [{ title: 'Gantry', type: 'dashboards', tags: ['gantry'], asDropdown: true, includeVars: true, keepTime: true }],
    annotations: { list: [] },
    templating: { list: variables() },
    panels,
  };
}
