/**
 * `npm run -w @gantry/deploy generate`: writes the files derived from a source in this package —
 * the Grafana dashboards (JSON, from `src/dashboards/`) and the PrometheusRule (from
 * `prometheus/gantry-rules.yaml`). `-- --check` writes nothing and fails when a committed file
 * differs from a fresh generation (a unit test runs the same comparison).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { generatedFiles } from './generated.js';
import { deployPath } from './paths.js';

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [path, content] of generatedFiles()) {
  let current: string | undefined;
  try {
    current = readFileSync(deployPath(path), 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  if (check) stale.push(path);
  else {
    writeFileSync(deployPath(path), content);
    process.stdout.write(`wrote deploy/${path}\n`);
  }
}
if (stale.length > 0) {
  process.stderr.write(`out of date (run npm run -w @gantry/deploy generate): ${stale.map((p) => `deploy/${p}`).join(', ')}\n`);
  process.exitCode = 1;
}
