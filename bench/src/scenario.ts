import type { StartCluster } from './cluster.js';

/** What a benchmark scenario is to `run.ts`: a name, a one-line description of its flags, and a run that returns its figures. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Runs the scenario; one that runs a Gantry cluster starts it with `start` (default `startCluster`; tests pass a wrapped or fake one). */
  run(args: ReadonlyMap<string, string>, start?: StartCluster): Promise<Record<string, unknown>>;
}
