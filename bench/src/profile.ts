/**
 * CPU profiles of a benchmark's services: `npm run bench -- <scenario> --profile DIR` starts
 * every service process with `--cpu-prof` into DIR (one `<service>-<n>.cpuprofile` each, written
 * when the process exits gracefully) and, after the run, prints where each process spent its
 * CPU: self time by frame and by origin (a package, a Gantry project, Node's internals, the
 * garbage collector). The profiles open in Chrome DevTools for the full picture.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

let profileDir: string | undefined;
let started = 0;

/** Profiles every service started after this call into `dir`. */
export function profileServicesInto(dir: string): void {
  profileDir = dir;
}

/** The `node` arguments that profile a service about to start, if profiling is on. */
export function profilingArgs(service: string): string[] {
  if (profileDir === undefined) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${service}-${started++}.cpuprofile`];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where one process spent its CPU. */
export interface ProfileSummary {
  readonly file: string;
  /** Sampled CPU time, in ms (idle excluded). */
  readonly busyMs: number;
  /** Wall time the profile covers, in ms. */
  readonly wallMs: number;
  /** Self time per origin, largest first, in ms. */
  readonly byOrigin: readonly [string, number][];
  /** Self time per frame, largest first, in ms. */
  readonly topFrames: readonly [string, number][];
}

/** The package or project a script URL belongs to. */
export function originOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const project = /\/(libs|services)\/([^/]+)\//.exec(url);
  if (project) return `@gantry/${project[2]}`;
  return url;
}

function top(map: Map<string, number>, n: number): [string, number][] {
  return [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => [k, Math.round(v)]);
}

/** Summarises one `.cpuprofile` file. */
export function summariseProfile(path: string, frames = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const origins = new Map<string, number>();
  const frameMs = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    busyUs += us;
    const origin = originOf(url, functionName);
    origins.set(origin, (origins.get(origin) ?? 0) + us / 1000);
    const frame = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|libs|services)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
    frameMs.set(frame, (frameMs.get(frame) ?? 0) + us / 1000);
  }
  return {
    file: path,
    busyMs: Math.round(busyUs / 1000),
    wallMs: Math.round((profile.endTime - profile.startTime) / 1000),
    byOrigin: top(origins, 12),
    topFrames: top(frameMs, frames),
  };
}

/** Summaries of every profile in the directory profiling wrote to. */
export function summariseProfiles(): ProfileSummary[] {
  if (profileDir === undefined) return [];
  const dir = profileDir;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => summariseProfile(join(dir, f)));
}

/** Renders summaries as plain text for the terminal. */
export function renderSummaries(summaries: readonly ProfileSummary[]): string {
  return summaries
    .map((s) => {
      const lines = [`${s.file}: ${s.busyMs} ms CPU over ${s.wallMs} ms`, '  by origin:'];
      for (const [o, ms] of s.byOrigin) lines.push(`    ${String(ms).padStart(7)} ms  ${o}`);
      lines.push('  top frames (self time):');
      for (const [f, ms] of s.topFrames) lines.push(`    ${String(ms).padStart(7)} ms  ${f}`);
      return lines.join('\n');
    })
    .join('\n\n');
}
