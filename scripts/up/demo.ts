/**
 * The demo job `up` submits: a small pipeline with a command, a gate and an artifact, followed
 * over the API until it finishes, printing its events as they are recorded.
 */
import type { JobSpecInput } from '@gantry/contracts';

export const DEMO_JOB: JobSpecInput = {
  type: 'demo',
  steps: [
    { name: 'prepare', phase: 'SETUP', type: 'COMMAND', spec: { shell: '/bin/sh', script: 'echo "hello from Gantry" > greeting.txt' } },
    { name: 'build', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['cat', 'greeting.txt'] } },
    { name: 'check', phase: 'VALIDATION', type: 'GATE', spec: { kind: 'command', argv: ['test', '-s', 'greeting.txt'] } },
    { name: 'publish', phase: 'VALIDATION', type: 'ARTIFACT', spec: { path: 'greeting.txt' } },
    { name: 'tidy', phase: 'CLEANUP', type: 'NOOP' },
  ],
};

const TERMINAL = new Set(['job.completed', 'job.failed', 'job.cancelled']);

interface EventPage {
  items: { sequence: number; type: string; payload: Record<string, unknown> }[];
}

/** Submits the demo job and prints its events until it ends; returns its final event type. */
export async function runDemo(apiUrl: string, token: string, print: (line: string) => void, timeoutMs = 120_000): Promise<string> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const res = await fetch(`${apiUrl}/runner-jobs`, { method: 'POST', headers, body: JSON.stringify(DEMO_JOB) });
  if (res.status !== 202) throw new Error(`submitting the demo job answered ${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  print(`demo job ${id} submitted`);
  const deadline = Date.now() + timeoutMs;
  let after = 0;
  for (;;) {
    const page = (await (await fetch(`${apiUrl}/runner-jobs/${id}/events?after=${after}`, { headers })).json()) as EventPage;
    for (const e of page.items) {
      after = e.sequence;
      const detail = e.type === 'step.output' ? ` ${JSON.stringify(String(e.payload.chunk).trim())}` : '';
      print(`  ${e.type}${detail}`);
      if (TERMINAL.has(e.type)) {
        print(`demo job ${id} ${e.type === 'job.completed' ? 'COMPLETED' : e.type.slice(4).toUpperCase()}`);
        return e.type;
      }
    }
    if (Date.now() > deadline) throw new Error(`the demo job did not finish within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
