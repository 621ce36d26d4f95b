/**
 * The parts of the AsyncAPI document that describe NATS specifics: channel parameters (subject
 * tokens such as `{pool}`) and message headers, both derived from contracts.
 */
import { COMMAND_KINDS, DEFAULT_POOL, Headers, POOL_PATTERN } from '../src/names.js';
import type { ConsumerSettings } from '../src/streams.js';
import { ERROR_CODES_FILE } from './layout.js';

export type Doc = { [key: string]: unknown };

/** Valid stand-ins for channel parameters: names() builds a subject with them, then each becomes `{param}`. */
export const Sentinel = {
  pool: 'sentinel-pool',
  workspaceId: '11111111-1111-4111-8111-111111111111',
  jobId: '22222222-2222-4222-8222-222222222222',
  workerId: 'sentinel-worker',
  source: 'sentinel-source',
} as const;
export type Param = keyof typeof Sentinel;

/** What each header means; `satisfies` fails the build when a header in contracts has no text. */
export const HEADER_DOCS = {
  msgId: 'JetStream de-duplication id: a repeat within the stream’s duplicate window is dropped.',
  requestId: 'The HTTP request id that caused the message, for log correlation.',
  token: 'API token authorising a command published by a service outside Gantry.',
  grant: 'Set by the Gantry API instead of Gantry-Token when it has a COMMAND_SIGNING_KEY: `v1.<token id>.<signature>`, the base64url HMAC-SHA256 of the version, the token id and the message’s exact bytes under the key the API and the scheduler share. It authorises that message only.',
  workspace: 'The command’s workspaceId. Optional: the scheduler queues a command for its workspace’s turn before reading its body, by this header or else by the body’s first top-level workspaceId, found by a scan of its bytes; with the header it scans nothing. A command whose header and body name different workspaces is dead-lettered.',
  deadLetterCode: `Why it was dead-lettered: an error code from ${ERROR_CODES_FILE}.`,
  deadLetterReason: 'Why it was dead-lettered, as a sentence.',
  originalSubject: 'The subject the original message was published on.',
  originalSequence: 'The original message’s sequence in its stream.',
  deliveries: 'How many times the original message was delivered.',
  originalMsgId: 'The original message’s Nats-Msg-Id (the command id), when it had one.',
  droppedHeaders: 'The original headers left out, comma-separated, when the original headers passed 32 KiB: the largest are dropped first, so that the dead letter stays within JetStream’s header limit.',
} as const satisfies Record<keyof typeof Headers, string>;

/** Replaces every sentinel in `text` by its `{param}`. */
export function withParams(text: string): string {
  return (Object.keys(Sentinel) as Param[]).reduce((out, p) => out.split(Sentinel[p]).join(`{${p}}`), text);
}

/** A channel address: `subject` with each of `params` (which must each occur once) as `{param}`. */
export function address(subject: string, params: readonly Param[]): string {
  for (const p of params) {
    if (subject.split(Sentinel[p]).length !== 2) throw new Error(`${p} must occur once in ${subject}`);
  }
  return withParams(subject);
}

export function consumerTemplate(c: ConsumerSettings): ConsumerSettings {
  return {
    ...c,
    durableName: withParams(c.durableName),
    filterSubject: withParams(c.filterSubject),
    description: withParams(c.description),
  };
}

export function parameters(params: readonly Param[]): Doc {
  const docs: Record<Param, Doc> = {
    pool: { description: `Worker pool, matching ${POOL_PATTERN.source}.`, default: DEFAULT_POOL },
    workspaceId: { description: 'The job’s workspace id, a lower-case UUID.' },
    jobId: { description: 'The job id, a lower-case UUID.' },
    workerId: { description: 'The worker’s id, as in its heartbeats.' },
    source: { description: `What the dead-lettered message was, e.g. a command kind (${COMMAND_KINDS.join(', ')}).` },
  };
  return Object.fromEntries(params.map((p) => [p, docs[p]]));
}

export function headers(
  fields: readonly (keyof typeof Headers)[],
  required: readonly (keyof typeof Headers)[],
  overrides: Partial<Record<keyof typeof Headers, Doc>> = {},
): Doc {
  return {
    type: 'object',
    properties: Object.fromEntries(
      fields.map((f) => [Headers[f], { type: 'string', description: HEADER_DOCS[f], ...overrides[f] }]),
    ),
    ...(required.length === 0 ? {} : { required: required.map((f) => Headers[f]) }),
  };
}
