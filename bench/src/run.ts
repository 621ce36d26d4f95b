/**
 * `npm run bench -- <scenario> [--flag value …]`: runs one benchmark scenario (or `all`), each
 * on its own database and namespace, and prints one JSON line with its figures last.
 * `--profile DIR` records a CPU profile of every service process into DIR and prints a summary
 * (see `profile.ts`).
 */
import { profileServicesInto, renderSummaries, summariseProfiles } from './profile.js';
import type { Scenario } from './scenario.js';
import { bullmq } from './scenarios/bullmq.js';
import { eventWriter } from './scenarios/event-writer.js';
import { floor } from './scenarios/floor.js';
import { submit } from './scenarios/submit.js';
import { fairness } from './scenarios/fairness.js';
import { latency } from './scenarios/latency.js';
import { priority } from './scenarios/priority.js';
import { recovery } from './scenarios/recovery.js';
import { scale } from './scenarios/scale.js';
import { throughput } from './scenarios/throughput.js';

const SCENARIOS: readonly Scenario[] = [eventWriter, submit, floor, throughput, latency, priority, fairness, recovery, scale, bullmq];

function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      args.set(arg.slice(2), next);
      i++;
    } else args.set(arg.slice(2), 'true');
  }
  return args;
}

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  const chosen = name === 'all' ? SCENARIOS : SCENARIOS.filter((s) => s.name === name);
  if (chosen.length === 0) {
    console.error(`usage: npm run bench -- <scenario|all> [--flag value …]\n\nscenarios:`);
    for (const s of SCENARIOS) console.error(`  ${s.name.padEnd(16)} ${s.description}`);
    process.exitCode = 2;
    return;
  }
  const args = parseArgs(rest);
  const profileDir = args.get('profile');
  if (profileDir !== undefined) profileServicesInto(profileDir);
  for (const scenario of chosen) {
    const figures = await scenario.run(args);
    if (profileDir !== undefined) console.error(renderSummaries(summariseProfiles()));
    console.log(JSON.stringify({ scenario: scenario.name, ...figures }));
  }
}

await main();
