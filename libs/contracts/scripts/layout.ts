/**
 * Where each exported document lives under `docs/contracts/`, relative to that directory. The
 * JSON Schema files, the AsyncAPI document that references them and the README index all take
 * their paths from here, so a file never moves in one place only.
 */
import type { StepType } from '../src/enums.js';
import type { EventType } from '../src/events.js';
import type { CommandKind } from '../src/names.js';

export const ASYNCAPI_FILE = 'asyncapi.json';
export const ERROR_CODES_FILE = 'error-codes.json';
export const README_FILE = 'README.md';

export const SchemaFiles = {
  /** One command kind's body, e.g. `schemas/commands/submit.json`. */
  command: (kind: CommandKind) => `schemas/commands/${kind}.json`,
  /** Every JobEvent, discriminated on `type`. */
  jobEvent: 'schemas/events/job-event.json',
  /** One event type: the envelope shared by all events with this type's payload. */
  eventType: (type: EventType) => `schemas/events/types/${type}.json`,
  /** The message on the events stream. */
  eventBatch: 'schemas/events/event-batch.json',
  dispatch: 'schemas/control/dispatch.json',
  heartbeat: 'schemas/control/heartbeat.json',
  cancelSignal: 'schemas/control/cancel-signal.json',
  expressAnswer: 'schemas/control/express-answer.json',
  jobSpec: 'schemas/jobs/job-spec.json',
  /** One built-in step type's spec, e.g. `schemas/steps/ai-action.json`. */
  stepSpec: (type: StepType) => `schemas/steps/${type.toLowerCase().replaceAll('_', '-')}.json`,
} as const;

/** A path as the AsyncAPI document (at the root of `docs/contracts/`) references it. */
export function relativeRef(file: string): string {
  return `./${file}`;
}

/** `job.cancel_requested` → `JobCancelRequested`; `AI_ACTION` → `AiAction`. */
export function pascalCase(words: string): string {
  return words
    .split(/[._\s-]+/)
    .filter((w) => w.length > 0)
    .map((w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase())
    .join('');
}
