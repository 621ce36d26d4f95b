/** The README's deploy guide stays true to deploy/: every alert explained, every path real. */
import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ruleGroups } from './checks/queries.js';
import { REPO_ROOT } from './paths.js';

const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
const start = readme.indexOf('\n## Deploying\n');
const section = readme.slice(start, readme.indexOf('\n## ', start + 1));

it('has a Deploying section with prerequisites, install order, configuration, scaling, upgrading and alerts', () => {
  expect(start).toBeGreaterThan(0);
  for (const heading of ['Prerequisites', 'Install order', 'Configuration', 'Scaling', 'Upgrading', 'Alerts']) {
    expect.soft(section).toContain(`\n### ${heading}\n`);
  }
});

it('explains every alert of the rule file', () => {
  const alerts = ruleGroups().flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
  for (const alert of alerts) expect.soft(section, alert).toMatch(new RegExp(`\\| \`${alert}\` \\| (critical|warning) \\|`));
});

it('names only files and directories that exist', () => {
  // `deploy/gantry-api` and the like are kubectl's names of Deployments, not paths.
  const paths = [...new Set([...section.matchAll(/deploy\/[\w./-]*[\w/]/g)].map((m) => m[0]))].filter((p) => !p.startsWith('deploy/gantry-'));
  expect(paths.length).toBeGreaterThan(5);
  for (const path of paths) expect.soft(existsSync(`${REPO_ROOT}${path}`), path).toBe(true);
});
