/** What a benchmark scenario is to `run.ts`: a name, a one-line description of its flags, and a run that returns its figures. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  run(args: ReadonlyMap<string, string>): Promise<Record<string, unknown>>;
}
