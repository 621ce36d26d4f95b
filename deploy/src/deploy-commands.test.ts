/**
 * Every `npm run -w @gantry/deploy <script>` an operator is told to run — in the deploy files'
 * comments and in the README — names a script of deploy/package.json (`nats:auth` did not).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { DEPLOY_DIR, REPO_ROOT } from './paths.js';

const scripts = Object.keys((JSON.parse(readFileSync(join(DEPLOY_DIR, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name === 'node_modules') return [];
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

it('names only scripts deploy/package.json has', () => {
  const mentions: string[] = [];
  for (const path of [...files(DEPLOY_DIR), join(REPO_ROOT, 'README.md')]) {
    const text = readFileSync(path, 'utf8');
    text.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(/npm run (?:-w|--workspace) @gantry\/deploy ([\w:-]+)/g)) {
        if (!scripts.includes(m[1]!)) mentions.push(`${relative(REPO_ROOT, path)}:${i + 1}: ${m[1]}`);
      }
    });
  }
  expect(mentions).toEqual([]);
});
