/** Every Gantry dashboard with the file it is written to under `grafana/dashboards/`. */
import type { GrafanaDashboard } from './builder.js';
import { eventWrites } from './event-writes.js';
import { overview } from './overview.js';
import { workers } from './workers.js';

export const DASHBOARDS: readonly { readonly file: string; readonly dashboard: GrafanaDashboard }[] = [
  { file: 'gantry-overview.json', dashboard: overview },
  { file: 'gantry-workers.json', dashboard: workers },
  { file: 'gantry-event-writes.json', dashboard: eventWrites },
];
