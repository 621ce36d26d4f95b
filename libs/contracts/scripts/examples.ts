/**
 * One example of each command, as a service outside Gantry would publish it. Each is parsed
 * with `parseCommand` when the documents are generated, so an example that the contracts no
 * longer accept stops the export instead of reaching the docs.
 */
import { CURRENT_COMMAND_VERSION, type CommandOf } from '../src/commands.js';
import { StepPhase, StepType } from '../src/enums.js';
import { Headers, type CommandKind } from '../src/names.js';
import { parseCommand } from '../src/parse.js';

export interface CommandExample<K extends CommandKind = CommandKind> {
  readonly name: string;
  readonly summary: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: CommandOf<K>;
}

const WORKSPACE_ID = '5b0e5f2c-9d43-4c51-8a8e-1f2d3c4b5a69';
const JOB_ID = '0193b8f2-7c1e-7a4d-9b3a-6e5f4d3c2b1a';
const STEP_ID = '0193b8f2-7c1e-7a4d-9b3a-6e5f4d3c2b1b';
const ISSUED_AT = '2025-01-15T09:30:00Z';
const TOKEN = '<api token>';

function example<K extends CommandKind>(
  kind: K,
  id: string,
  summary: string,
  body: Record<string, unknown>,
): CommandExample<K> {
  const payload = { v: CURRENT_COMMAND_VERSION, kind, id, workspaceId: WORKSPACE_ID, issuedAt: ISSUED_AT, ...body };
  parseCommand(kind, new TextEncoder().encode(JSON.stringify(payload)));
  return {
    name: `${kind}-example`,
    summary,
    headers: { [Headers.msgId]: id, [Headers.token]: TOKEN, [Headers.workspace]: WORKSPACE_ID },
    payload: payload as unknown as CommandOf<K>,
  };
}

/** The example of each command kind. */
export function commandExamples(): { readonly [K in CommandKind]: CommandExample<K> } {
  return {
    submit: example('submit', JOB_ID, 'Build and test a repository, keeping the coverage report.', {
      actor: 'service:ci',
      job: {
        type: 'build',
        priority: 60,
        idempotencyKey: 'ci-build-4711',
        payload: { ref: 'refs/heads/main' },
        steps: [
          {
            name: 'checkout',
            phase: StepPhase.SETUP,
            type: StepType.COMMAND,
            spec: { argv: ['git', 'clone', '--depth=1', 'https://example.com/repo.git', '.'] },
          },
          {
            name: 'test',
            phase: StepPhase.EXECUTION,
            type: StepType.COMMAND,
            spec: { script: 'npm ci && npm test', shell: '/bin/bash', timeoutMs: 600_000 },
          },
          { name: 'coverage', phase: StepPhase.CLEANUP, type: StepType.ARTIFACT, spec: { path: 'coverage' } },
        ],
      },
    }),
    cancel: example('cancel', '0193b8f3-0000-7000-8000-000000000001', 'Cancel a job.', {
      jobId: JOB_ID,
      reason: 'superseded by a newer commit',
    }),
    retry: example('retry', '0193b8f3-0000-7000-8000-000000000002', 'Retry a failed or cancelled job.', {
      jobId: JOB_ID,
    }),
    approve: example('approve', '0193b8f3-0000-7000-8000-000000000003', 'Approve a manual gate.', {
      actor: 'user:release-manager',
      jobId: JOB_ID,
      stepId: STEP_ID,
      decision: 'approve',
      comment: 'release notes checked',
    }),
  };
}
