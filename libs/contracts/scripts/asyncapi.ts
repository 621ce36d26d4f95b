/**
 * The AsyncAPI 3.0.0 document of Gantry's NATS interface, rendered for the default namespace.
 * Every subject, stream, consumer, header and setting comes from contracts; message payloads
 * reference the exported JSON Schema files.
 *
 * Operations are from Gantry's point of view: `receive` for the commands other services
 * publish, `send` for what Gantry publishes (events, dead letters). Messages between Gantry's
 * own services (dispatches, heartbeats, cancel signals) have both, each naming the service.
 * Exact stream and consumer settings are on the channels and operations as `x-gantry-stream`
 * and `x-gantry-consumer`.
 */
import type { z } from 'zod';
import { COMMAND_SCHEMAS, CURRENT_COMMAND_VERSION } from '../src/commands.js';
import { CancelSignal, Dispatch, ExpressAnswer, Heartbeat, HeartbeatPolicy, dispatchMsgId } from '../src/control.js';
import { ERROR_CODES, type ErrorCode } from '../src/errors.js';
import { CURRENT_EVENT_VERSION, EventBatch } from '../src/events.js';
import { Limits } from '../src/limits.js';
import { COMMAND_KINDS, DEFAULT_NAMESPACE, Headers, NAMESPACE_PATTERN, type CommandKind, names } from '../src/names.js';
import { dispatchConsumer, schedulerConsumer, streamSettings } from '../src/streams.js';
import {
  type Doc,
  HEADER_DOCS,
  Sentinel,
  address,
  consumerTemplate,
  headers,
  parameters,
} from './asyncapi-fields.js';
import { commandExamples } from './examples.js';
import { ERROR_CODES_FILE, SchemaFiles, pascalCase, relativeRef } from './layout.js';
import { describeConsumer, describeStream, formatBytes, formatDuration } from './settings-text.js';

/** An example namespace, to show how names change with it. */
const OTHER_NAMESPACE = 'acme-ci';

function metaOf(schema: z.ZodType): { id: string; description?: string } {
  const meta = schema.meta();
  if (typeof meta?.id !== 'string') throw new Error('every message schema needs an id (.meta({ id }))');
  return { id: meta.id, ...(typeof meta.description === 'string' ? { description: meta.description } : {}) };
}

function message(schema: z.ZodType, file: string, extra: Doc = {}): Doc {
  const { id, description } = metaOf(schema);
  return {
    name: id,
    title: id,
    ...(description === undefined ? {} : { summary: description }),
    contentType: 'application/json',
    ...extra,
    payload: { $ref: relativeRef(file) },
  };
}

function operation(
  action: 'send' | 'receive',
  channel: string,
  messageIds: readonly string[],
  title: string,
  description: string,
  extra: Doc = {},
): Doc {
  return {
    action,
    channel: { $ref: `#/channels/${channel}` },
    title,
    description,
    messages: messageIds.map((m) => ({ $ref: `#/channels/${channel}/messages/${m}` })),
    ...extra,
  };
}

const messageRef = (id: string) => ({ [id]: { $ref: `#/components/messages/${id}` } });
const commandMessageId = (kind: CommandKind) => `${kind}Command`;

/** The AsyncAPI document, as a plain object in a fixed key order. */
export function asyncApiDocument(version: string): Doc {
  const n = names(DEFAULT_NAMESPACE);
  const other = names(OTHER_NAMESPACE);
  const streams = new Map(streamSettings(n).map((s) => [s.name, s]));
  const stream = (name: string) => {
    const s = streams.get(name);
    if (s === undefined) throw new Error(`no settings for stream ${name}`);
    return { ...s };
  };
  const scheduler = schedulerConsumer(n);
  const workers = consumerTemplate(dispatchConsumer(n, Sentinel.pool));
  const examples = commandExamples();
  const refused: ErrorCode[] = ['VALIDATION_FAILED', 'MALFORMED_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_VERSION'];
  const advisory = n.subjects.maxDeliveriesAdvisory(n.streams.commands, n.consumers.scheduler);
  const dispatchId = dispatchMsgId(Sentinel.jobId, 7).replace(Sentinel.jobId, '<jobId>').replace(/7$/, '<attempt>');

  const channels: Doc = {};
  const operations: Doc = {};
  const messages: Doc = {};

  for (const kind of COMMAND_KINDS) {
    const id = commandMessageId(kind);
    const ex = examples[kind];
    messages[id] = message(COMMAND_SCHEMAS[kind], SchemaFiles.command(kind), {
      headers: headers(['msgId', 'token', 'grant', 'workspace', 'requestId'], ['msgId'], {
        msgId: { description: `${HEADER_DOCS.msgId} Set it to the command id.` },
      }),
      examples: [{ name: ex.name, summary: ex.summary, headers: ex.headers, payload: ex.payload }],
    });
    channels[id] = {
      address: n.subjects.command(kind),
      title: `${pascalCase(kind)} command`,
      description: `Where ${kind} commands are published. ${describeStream(stream(n.streams.commands))}`,
      messages: messageRef(id),
      'x-gantry-stream': stream(n.streams.commands),
    };
    operations[`receive${pascalCase(kind)}Command`] = operation(
      'receive',
      id,
      [id],
      `Receive ${kind} commands`,
      describeConsumer(scheduler),
      { 'x-gantry-consumer': { ...scheduler } },
    );
  }

  messages.dispatch = message(Dispatch, SchemaFiles.dispatch, {
    headers: headers(['msgId'], ['msgId'], { msgId: { description: `${HEADER_DOCS.msgId} It is ${dispatchId}.` } }),
  });
  channels.dispatch = {
    address: address(n.subjects.dispatch(Sentinel.pool), ['pool']),
    title: 'Dispatch',
    description: `Job attempts handed to a worker pool. ${describeStream(stream(n.streams.dispatch))}`,
    parameters: parameters(['pool']),
    messages: messageRef('dispatch'),
    'x-gantry-stream': stream(n.streams.dispatch),
  };
  operations.sendDispatch = operation('send', 'dispatch', ['dispatch'], 'Dispatch a job attempt',
    'The scheduler leader publishes one dispatch per job attempt, only while the pool has free slots.');
  operations.receiveDispatch = operation('receive', 'dispatch', ['dispatch'], 'Pull dispatches',
    `Workers pull as many dispatches as they have free slots, claim each attempt, and ack once the write that ends their hold commits (or at once when the claim is refused), with an in-progress ack every third of the ack wait meanwhile. ${describeConsumer(workers)}`,
    { 'x-gantry-consumer': workers });

  messages.eventBatch = message(EventBatch, SchemaFiles.eventBatch);
  channels.jobEvents = {
    address: address(n.subjects.events(Sentinel.workspaceId, Sentinel.jobId), ['workspaceId', 'jobId']),
    title: 'Job events',
    description:
      `A job’s events, published after the transaction that recorded them commits. Subscribe to one job, to a ` +
      `workspace (${address(n.subjects.workspaceEvents(Sentinel.workspaceId), ['workspaceId'])}) or to every job ` +
      `(${n.subjects.eventsAll}); events carry a gap-free per-job sequence. ${describeStream(stream(n.streams.events))}`,
    parameters: parameters(['workspaceId', 'jobId']),
    messages: messageRef('eventBatch'),
    'x-gantry-stream': stream(n.streams.events),
  };
  operations.sendJobEvents = operation('send', 'jobEvents', ['eventBatch'], 'Publish job events',
    'The service that commits events publishes them: one message per job per commit, in sequence order.');

  messages.deadLetter = {
    name: 'DeadLetter',
    title: 'DeadLetter',
    summary: 'A refused or undeliverable command, byte for byte, with the reason in its headers.',
    contentType: 'application/octet-stream',
    headers: headers(
      ['deadLetterCode', 'deadLetterReason', 'originalSubject', 'originalSequence', 'deliveries', 'originalMsgId', 'droppedHeaders'],
      ['deadLetterCode', 'deadLetterReason', 'originalSubject'],
      {
        deadLetterCode: { enum: [...ERROR_CODES] },
        originalSequence: { pattern: '^[0-9]+$' },
        deliveries: { pattern: '^[0-9]+$' },
      },
    ),
    payload: { description: 'The original message body, unchanged; it may be invalid JSON.' },
  };
  channels.deadLetters = {
    address: address(n.subjects.deadLetter(Sentinel.source), ['source']),
    title: 'Dead letters',
    description:
      `Commands the scheduler refused (${refused.join(', ')}, …) or that exhausted their deliveries ` +
      `(announced by the server on ${advisory}), each also recorded as a command.dead_lettered event. ` +
      describeStream(stream(n.streams.deadLetters)),
    parameters: parameters(['source']),
    messages: messageRef('deadLetter'),
    'x-gantry-stream': stream(n.streams.deadLetters),
  };
  operations.sendDeadLetter = operation('send', 'deadLetters', ['deadLetter'], 'Dead-letter a command',
    'The scheduler publishes a dead letter for each command it refuses or that exhausted its deliveries.');

  messages.heartbeat = message(Heartbeat, SchemaFiles.heartbeat);
  channels.heartbeats = {
    address: address(n.subjects.heartbeat(Sentinel.workerId), ['workerId']),
    title: 'Worker heartbeats',
    description:
      `Core NATS, not stored. A worker beats every ${formatDuration(HeartbeatPolicy.intervalMs)}; after ` +
      `${formatDuration(HeartbeatPolicy.lostAfterMs)} without a beat it is lost and the scheduler recovers its jobs.`,
    parameters: parameters(['workerId']),
    messages: messageRef('heartbeat'),
  };
  operations.sendHeartbeat = operation('send', 'heartbeats', ['heartbeat'], 'Beat', 'Each worker publishes its beat.');
  operations.receiveHeartbeats = operation('receive', 'heartbeats', ['heartbeat'], 'Track workers',
    `The scheduler subscribes to ${n.subjects.heartbeatsAll} and grants dispatch credit from the free slots.`);

  messages.cancelSignal = message(CancelSignal, SchemaFiles.cancelSignal);
  channels.cancelSignals = {
    address: address(n.subjects.cancel(Sentinel.workerId), ['workerId']),
    title: 'Cancel signals',
    description: 'Core NATS, not stored. Tells the worker holding a job to abort that attempt.',
    parameters: parameters(['workerId']),
    messages: messageRef('cancelSignal'),
  };
  operations.sendCancelSignal = operation('send', 'cancelSignals', ['cancelSignal'], 'Signal a cancel',
    'The scheduler signals the worker holding a job that was cancelled or ran past its timeout.');
  operations.receiveCancelSignal = operation('receive', 'cancelSignals', ['cancelSignal'], 'Abort an attempt',
    'A worker subscribes to its own subject, aborts the running step, runs CLEANUP and records the outcome.');

  messages.expressDispatch = message(Dispatch, SchemaFiles.dispatch, { name: 'ExpressDispatch', title: 'ExpressDispatch' });
  messages.expressAnswer = message(ExpressAnswer, SchemaFiles.expressAnswer);
  channels.expressDispatches = {
    address: address(n.subjects.express(Sentinel.workerId), ['workerId']),
    title: 'Express dispatches',
    description:
      'Core NATS request/reply, not stored. While a pool has no ordinary credit, the leader hands a job at or above ' +
      'its express priority to one worker with a free express slot (beyond its ordinary slots); the worker claims the ' +
      'attempt and answers whether the claim went through. A refused or unanswered dispatch returns the job to the backlog.',
    parameters: parameters(['workerId']),
    messages: { ...messageRef('expressDispatch'), ...messageRef('expressAnswer') },
  };
  const expressReply = { reply: { channel: { $ref: '#/channels/expressDispatches' }, messages: [{ $ref: '#/channels/expressDispatches/messages/expressAnswer' }] } };
  operations.sendExpressDispatch = operation('send', 'expressDispatches', ['expressDispatch'], 'Dispatch express',
    'The scheduler leader sends an express dispatch to one worker and waits for its answer.', expressReply);
  operations.receiveExpressDispatch = operation('receive', 'expressDispatches', ['expressDispatch'], 'Take an express dispatch',
    'A worker with express slots subscribes to its own subject, claims the attempt in a free express slot, answers once the claim is decided, and runs it.', expressReply);

  const commands = stream(n.streams.commands);
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Gantry NATS interface',
      version,
      description: [
        'Publish job commands to Gantry and follow what happens to jobs, over NATS JetStream.',
        `Every subject, stream and consumer name derives from one namespace (GANTRY_NAMESPACE, matching ` +
          `${NAMESPACE_PATTERN.source}). This document shows the default, ${n.namespace}: its submit subject is ` +
          `${n.subjects.command('submit')} and its commands stream ${n.streams.commands}; with namespace ` +
          `${other.namespace} they are ${other.subjects.command('submit')} and ${other.streams.commands}.`,
        `Command bodies carry v = ${CURRENT_COMMAND_VERSION}, events v = ${CURRENT_EVENT_VERSION}. A command that is ` +
          `not valid JSON, is larger than ${formatBytes(Limits.maxCommandBytes)}, has an unknown version or breaks ` +
          `its schema is dead-lettered with an error code from ${ERROR_CODES_FILE}.`,
        `Set ${Headers.msgId} to the command id: JetStream drops a repeat within ` +
          `${formatDuration(commands.duplicateWindowMs)} and Gantry’s idempotency keys decide beyond that. ` +
          `Services outside Gantry send their API token in ${Headers.token}.`,
        'Payloads are JSON Schema (draft 2020-12) files next to this document.',
      ].join('\n\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      nats: {
        host: '{host}',
        protocol: 'nats',
        description: 'A NATS server (2.9 or later, JetStream enabled) of the deployment’s cluster.',
        variables: { host: { default: '127.0.0.1:4222', description: 'host:port, as in NATS_URL.' } },
      },
    },
    channels,
    operations,
    components: { messages },
  };
}
