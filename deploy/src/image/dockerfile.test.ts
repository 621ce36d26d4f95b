/**
 * deploy/Dockerfile, read: two stages on the Node.js this repository runs on, a runtime stage
 * that installs exactly the workspaces the services need without dev dependencies, a numeric
 * non-root user, an exec-form entrypoint with a known default command, and a build context
 * that leaves node_modules behind. (image.int.test.ts builds and runs it.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../image/commands.js';
import { deployPath, REPO_ROOT } from '../paths.js';
import { instructionsOf, parseDockerfile } from './dockerfile.js';
import { dockerignore } from './emulate.js';

const file = parseDockerfile(readFileSync(deployPath('Dockerfile'), 'utf8'));
const [build, runtime] = file.stages;
const pkg = (dir: string) => JSON.parse(readFileSync(`${REPO_ROOT}${dir}/package.json`, 'utf8')) as { name: string; engines?: { node: string }; dependencies?: Record<string, string> };

/** Workspace directory of each @gantry package. */
const WORKSPACE_DIRS: Record<string, string> = Object.fromEntries(
  ['libs/contracts', 'libs/runtime', 'libs/store', 'libs/testkit', 'services/api', 'services/scheduler', 'services/worker', 'cli', 'bench', 'scripts', 'deploy'].map((d) => [pkg(d).name, d]),
);

/** The @gantry packages `names` depend on at run time, themselves included. */
function runtimeClosure(names: string[]): Set<string> {
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const dep of Object.keys(pkg(WORKSPACE_DIRS[n]!).dependencies ?? {})) if (dep.startsWith('@gantry/')) visit(dep);
  };
  names.forEach(visit);
  return seen;
}

describe('deploy/Dockerfile', () => {
  it('has a build stage and a runtime stage on the same Node.js image, of the major version Gantry runs on', () => {
    expect(file.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(build!.image).toBe(runtime!.image);
    const version = /^node:(\d+)\.(\d+)\.(\d+)-[\w-]+$/.exec(runtime!.image);
    expect(version, `a pinned node image: ${runtime!.image}`).not.toBeNull();
    expect(version![1]).toBe(process.versions.node.split('.')[0]);
    const minimum = /^>=(\d+)\.(\d+)/.exec(pkg('.').engines!.node)!;
    expect(Number(version![1]) * 1000 + Number(version![2])).toBeGreaterThanOrEqual(Number(minimum[1]) * 1000 + Number(minimum[2]));
  });

  it('runs as a numeric non-root user with an exec-form entrypoint and a known default command', () => {
    const user = instructionsOf(runtime!, 'USER')[0]!.user;
    expect(user).toMatch(/^[1-9]\d*:\d+$/);
    expect(instructionsOf(runtime!, 'ENTRYPOINT')[0]!.argv).toEqual(['node', '/app/dist/gantry.mjs']);
    expect(Object.keys(COMMANDS)).toContain(instructionsOf(runtime!, 'CMD')[0]!.argv[0]);
    expect(instructionsOf(runtime!, 'EXPOSE')[0]!.ports).toEqual([8080, 9464, 9465]);
  });

  it('installs the production dependencies of exactly the workspaces the services need, from the lockfile', () => {
    const runs = instructionsOf(runtime!, 'RUN').map((r) => r.command);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatch(/^npm ci --omit=dev /);
    const installed = [...runs[0]!.matchAll(/-w (\S+)/g)].map((m) => m[1]!);
    expect(new Set(installed)).toEqual(runtimeClosure(['@gantry/api', '@gantry/scheduler', '@gantry/worker']));
    const copied = instructionsOf(runtime!, 'COPY')
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', ...installed.map((n) => `${WORKSPACE_DIRS[n]}/package.json`)]));
    expect(instructionsOf(runtime!, 'COPY').filter((c) => c.from === 'build').map((c) => c.sources)).toEqual([['/src/dist']]);
  });

  it('builds with the lockfile and the bundle script, and sets no secret', () => {
    expect(instructionsOf(build!, 'RUN').map((r) => r.command)).toEqual(['npm ci --no-audit --no-fund', 'npx tsx deploy/image/build.ts dist']);
    for (const stage of file.stages) {
      for (const env of instructionsOf(stage, 'ENV')) expect(Object.keys(env.vars).filter((k) => /SECRET|PASSWORD|TOKEN|KEY/.test(k))).toEqual([]);
    }
  });

  it('keeps node_modules, build output and tests out of the build context', () => {
    const ignored = dockerignore(readFileSync(deployPath('Dockerfile.dockerignore'), 'utf8'));
    for (const path of ['node_modules', 'node_modules/pg/index.js', 'libs/store/node_modules/.vite', 'deploy/dist', '.git/config', 'services/api/src/app.int.test.ts']) {
      expect.soft(ignored(path), path).toBe(true);
    }
    for (const path of ['package.json', 'libs/store/src/index.ts', 'services/api/src/main.ts', 'deploy/image/build.ts', 'cli/src/main.ts']) {
      expect.soft(ignored(path), path).toBe(false);
    }
  });
});

describe('the Dockerfile parser', () => {
  it('refuses instructions the emulation cannot carry out', () => {
    expect(() => parseDockerfile('FROM node:20 AS a\nADD https://example.com/x /x\n')).toThrow(/ADD/);
    expect(() => parseDockerfile('FROM node:20 AS a\nRUN --mount=type=secret,id=x true\n')).toThrow(/cache mounts/);
    expect(() => parseDockerfile('FROM node:20 AS a\nCMD node x.js\n')).toThrow(/exec form/);
    expect(() => parseDockerfile('FROM node:${MISSING}\n')).toThrow(/MISSING/);
  });

  it('joins continued lines and reads flags, ENV pairs and cache mounts', () => {
    const f = parseDockerfile('ARG V=1\nFROM img:${V} AS s\nENV A=1 B=two\nRUN --mount=type=cache,target=/root/.npm npm ci \\\n  -w x\nCOPY --from=s /a b/\n');
    expect(f.stages[0]!.image).toBe('img:1');
    expect(f.stages[0]!.instructions).toEqual([
      { op: 'ENV', vars: { A: '1', B: 'two' } },
      { op: 'RUN', command: 'npm ci    -w x', cacheTargets: ['/root/.npm'] },
      { op: 'COPY', from: 's', sources: ['/a'], dest: 'b/' },
    ]);
  });
});
