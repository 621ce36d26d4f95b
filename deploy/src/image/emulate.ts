/**
 * Carries out a Dockerfile's build on this machine, where no Docker engine runs: every stage
 * gets a scratch directory standing for its root filesystem, and its `WORKDIR`, `ENV`, `COPY`
 * (from the build context, honouring the Dockerfile's `.dockerignore`, or from an earlier
 * stage) and `RUN` instructions are executed in order, `RUN` with `/bin/sh -c` in the mapped
 * working directory. What cannot be reproduced is the base image: the machine's own Node.js
 * stands in for it, so a check must compare the base image's Node.js version with this one.
 *
 * `RUN` commands must not name absolute paths (they would touch this machine, not the stage);
 * a cache mount of `/root/.npm` maps to this machine's npm cache, as BuildKit's cache mount
 * would persist it between builds.
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, posix, relative } from 'node:path';
import { type Dockerfile, parseDockerfile, type Stage } from './dockerfile.js';

/** The result of an emulated build: the final stage's filesystem and run settings. */
export interface BuiltImage {
  /** Host directory standing for the final stage's `/`. */
  readonly root: string;
  /** The final stage's working directory, inside the image. */
  readonly workdir: string;
  /** `ENV` of the final stage. */
  readonly env: Readonly<Record<string, string>>;
  /** `USER` of the final stage as numeric ids, if it set one. */
  readonly user?: { readonly uid: number; readonly gid: number };
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly exposed: readonly number[];
  /** The host path of a path inside the final stage. */
  hostPath(imagePath: string): string;
  /**
   * What `docker run <image> [args…]` would execute, on this machine: the entrypoint followed by
   * `args` (or by `CMD` without them), `node` being this machine's Node.js and absolute paths
   * mapped into the stage, in the stage's working directory.
   */
  command(args?: readonly string[]): { file: string; args: string[]; cwd: string };
}

/** Options of {@link emulateBuild}. */
export interface EmulateOptions {
  /** Path of the Dockerfile; `<path>.dockerignore` beside it applies when it exists. */
  readonly dockerfile: string;
  /** The build context (the repository root). */
  readonly context: string;
  /** An empty scratch directory for the stages' filesystems. */
  readonly dir: string;
  /** This machine's npm cache, standing for the `/root/.npm` cache mount. */
  readonly npmCache: string;
  /** Receives one line per instruction carried out. */
  readonly log?: (line: string) => void;
}

/** `.dockerignore` patterns (`**`, `*`, `?`; no negation) as a predicate on context-relative paths. */
export function dockerignore(text: string): (relPath: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((p) => {
      if (p.startsWith('!')) throw new Error(`negated .dockerignore patterns are not supported: ${p}`);
      let re = '';
      for (let i = 0; i < p.length; i++) {
        const c = p[i]!;
        if (c === '*' && p[i + 1] === '*') {
          i += 1;
          if (p[i + 1] === '/') {
            i += 1;
            re += '(?:.*/)?';
          } else re += '.*';
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return new RegExp(`^${re.replace(/\/$/, '')}$`);
    });
  return (relPath) => {
    const parts = relPath.split('/');
    for (let n = 1; n <= parts.length; n++) {
      const prefix = parts.slice(0, n).join('/');
      if (patterns.some((re) => re.test(prefix))) return true;
    }
    return false;
  };
}

function userIds(user: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!m) throw new Error(`USER must be numeric (uid[:gid]) so that runAsNonRoot can verify it: ${user}`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}

function runShell(command: string, cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`RUN ${command} failed (${code ?? signal}):\n${output}`));
    });
  });
}

interface StageState {
  readonly root: string;
  cwd: string;
  env: Record<string, string>;
  user?: { uid: number; gid: number };
  entrypoint: readonly string[];
  cmd: readonly string[];
  exposed: number[];
}

/** Runs the build; resolves with the final stage. */
export async function emulateBuild(opts: EmulateOptions): Promise<BuiltImage> {
  const text = readFileSync(opts.dockerfile, 'utf8');
  const file: Dockerfile = parseDockerfile(text);
  const ignorePath = `${opts.dockerfile}.dockerignore`;
  const ignored = existsSync(ignorePath) ? dockerignore(readFileSync(ignorePath, 'utf8')) : () => false;
  const log = opts.log ?? (() => undefined);
  chmodSync(opts.dir, 0o755);
  const states = new Map<string, StageState>();
  let last: StageState | undefined;

  for (const [index, stage] of file.stages.entries()) {
    const root = join(opts.dir, `stage-${index}-${stage.name}`);
    mkdirSync(join(root, 'root'), { recursive: true });
    chmodSync(root, 0o755);
    const state: StageState = { root, cwd: '/', env: {}, entrypoint: [], cmd: [], exposed: [] };
    const host = (p: string) => join(root, posix.resolve(state.cwd, p));
    await runStage(stage, state, host, { ...opts, ignored, states, log });
    states.set(stage.name, state);
    last = state;
  }
  if (!last) throw new Error('the Dockerfile has no stage');
  const final = last;
  return {
    root: final.root,
    workdir: final.cwd,
    env: final.env,
    ...(final.user ? { user: final.user } : {}),
    entrypoint: final.entrypoint,
    cmd: final.cmd,
    exposed: final.exposed,
    hostPath: (p) => join(final.root, posix.resolve(final.cwd, p)),
    command(args) {
      const [program, ...rest] = [...final.entrypoint, ...(args ?? final.cmd)];
      if (program !== 'node') throw new Error(`only a node entrypoint can run here, not ${program}`);
      return {
        file: process.execPath,
        args: rest.map((a) => (a.startsWith('/') ? join(final.root, a) : a)),
        cwd: join(final.root, final.cwd),
      };
    },
  };
}

async function runStage(
  stage: Stage,
  state: StageState,
  host: (p: string) => string,
  ctx: EmulateOptions & { ignored: (rel: string) => boolean; states: Map<string, StageState>; log: (line: string) => void },
): Promise<void> {
  for (const ins of stage.instructions) {
    switch (ins.op) {
      case 'WORKDIR':
        state.cwd = posix.resolve(state.cwd, ins.path);
        mkdirSync(host('.'), { recursive: true });
        break;
      case 'ENV':
        Object.assign(state.env, ins.vars);
        break;
      case 'COPY': {
        const from = ins.from === undefined ? undefined : ctx.states.get(ins.from);
        if (ins.from !== undefined && !from) throw new Error(`COPY --from=${ins.from}: no such earlier stage`);
        const intoDir = ins.dest.endsWith('/') || ins.sources.length > 1;
        for (const source of ins.sources) {
          const src = from ? join(from.root, posix.resolve('/', source)) : join(ctx.context, source);
          if (!from && ctx.ignored(source)) throw new Error(`COPY ${source}: excluded by the .dockerignore`);
          if (!existsSync(src)) throw new Error(`COPY ${source}: not found`);
          const isDir = statSync(src).isDirectory();
          const dest = intoDir && !isDir ? join(host(ins.dest), basename(source)) : host(ins.dest);
          mkdirSync(isDir ? dest : join(dest, '..'), { recursive: true });
          cpSync(src, dest, {
            recursive: true,
            filter: (path) => from !== undefined || !ctx.ignored(relative(ctx.context, path)),
          });
        }
        ctx.log(`${stage.name}: COPY ${ins.from ? `--from=${ins.from} ` : ''}${ins.sources.join(' ')} ${ins.dest}`);
        break;
      }
      case 'RUN': {
        const absolute = ins.command.split(/\s+/).filter((t) => t.startsWith('/'));
        if (absolute.length > 0) throw new Error(`RUN names absolute paths (${absolute.join(', ')}): ${ins.command}`);
        const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(state.root, 'root'), ...state.env };
        for (const target of ins.cacheTargets) {
          if (target !== '/root/.npm') throw new Error(`cache mount ${target} has no stand-in on this machine`);
          env.npm_config_cache = ctx.npmCache;
        }
        ctx.log(`${stage.name}: RUN ${ins.command}`);
        await runShell(ins.command, host('.'), env);
        break;
      }
      case 'USER':
        state.user = userIds(ins.user);
        break;
      case 'EXPOSE':
        state.exposed.push(...ins.ports);
        break;
      case 'ENTRYPOINT':
        state.entrypoint = ins.argv;
        break;
      case 'CMD':
        state.cmd = ins.argv;
        break;
    }
  }
}
