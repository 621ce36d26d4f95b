/**
 * Every NATS stream, consumer, subject, header and bucket name, derived from one namespace
 * (`GANTRY_NAMESPACE`, default `gantry`) so that several deployments or test runs share a NATS
 * cluster without touching each other.
 */

/** The namespace when none is configured. */
export const DEFAULT_NAMESPACE = 'gantry';

/** Lower case letter first, then lower case letters, digits, `_` or `-`; at most 32 characters. */
export const NAMESPACE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

/** Worker pools are subject tokens: same alphabet as a namespace. */
export const POOL_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

/** The pool a job runs in when it does not name one. */
export const DEFAULT_POOL = 'default';

/** The command kinds, each with its own subject. */
export const COMMAND_KINDS = ['submit', 'cancel', 'retry', 'approve'] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

/** HTTP response headers of Gantry's own, beside the standard ones. */
export const HttpHeaders = {
  /**
   * On an event stream: the milliseconds between the keep-alive comments the server sends while
   * nothing else happens (SSE_KEEPALIVE_MS), so that a client can tell a quiet stream from a dead one.
   */
  keepaliveMs: 'Gantry-Keepalive-Ms',
} as const;

/** Header names Gantry reads or writes on NATS messages. */
export const Headers = {
  /** JetStream's de-duplication id: the command id, or `<jobId>:<attempt>` for a dispatch. */
  msgId: 'Nats-Msg-Id',
  /** The HTTP request id that caused the message, for log correlation. */
  requestId: 'Gantry-Request-Id',
  /** An API token authorising a command published by a service outside Gantry. */
  token: 'Gantry-Token',
  /** On a command the API publishes for its caller: the caller's token id, signed with the message (see `command-grant.ts` in @gantry/store). */
  grant: 'Gantry-Grant',
  /** On a command: its `workspaceId`, so that the scheduler can queue it before reading its body. */
  workspace: 'Gantry-Workspace',
  /** On a dead letter: the error code from the catalog. */
  deadLetterCode: 'Gantry-Dead-Letter-Code',
  /** On a dead letter: a sentence saying why. */
  deadLetterReason: 'Gantry-Dead-Letter-Reason',
  /** On a dead letter: the subject the original message was published on. */
  originalSubject: 'Gantry-Original-Subject',
  /** On a dead letter: the original message's stream sequence. */
  originalSequence: 'Gantry-Original-Sequence',
  /** On a dead letter: how many times the original was delivered. */
  deliveries: 'Gantry-Deliveries',
  /** On a dead letter: the original message's `Nats-Msg-Id` (absent when it had none), for tracing. */
  originalMsgId: 'Gantry-Original-Msg-Id',
  /** On a dead letter: the original headers left out (comma-separated names), the largest first, to keep within JetStream's header limit. */
  droppedHeaders: 'Gantry-Dropped-Headers',
} as const;

function assertNamespace(namespace: string): void {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new RangeError(
      `namespace ${JSON.stringify(namespace)} must match ${NAMESPACE_PATTERN.source}`,
    );
  }
}

function assertToken(kind: string, value: string, pattern: RegExp): void {
  if (!pattern.test(value)) {
    throw new RangeError(`${kind} ${JSON.stringify(value)} must match ${pattern.source}`);
  }
}

const UUID_TOKEN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WORKER_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The NATS names of one Gantry deployment. Build with {@link names}. */
export interface Names {
  readonly namespace: string;
  readonly streams: {
    /** Work queue of commands from the API and other services. */
    readonly commands: string;
    /** Work queue of dispatches from the scheduler to workers. */
    readonly dispatch: string;
    /** Limits stream of committed JobEvents, for live consumers. */
    readonly events: string;
    /** Commands that were refused or exhausted their deliveries, with the reason. */
    readonly deadLetters: string;
  };
  readonly consumers: {
    /** The scheduler's durable consumer on the commands stream. */
    readonly scheduler: string;
    /** A pool's durable consumer on the dispatch stream. */
    dispatch(pool: string): string;
  };
  readonly subjects: {
    /** Subject of one command kind. */
    command(kind: CommandKind): string;
    /** Every command subject (the commands stream's filter). */
    readonly commandsAll: string;
    /** Dispatches for one worker pool. */
    dispatch(pool: string): string;
    readonly dispatchAll: string;
    /** One job's events. */
    events(workspaceId: string, jobId: string): string;
    /** Every event of a workspace. */
    workspaceEvents(workspaceId: string): string;
    readonly eventsAll: string;
    /** A dead-lettered message; `source` names what it was (e.g. `submit`). */
    deadLetter(source: string): string;
    readonly deadLettersAll: string;
    /** Core NATS: the cancel signal to the worker holding a job. */
    cancel(workerId: string): string;
    /** Core NATS request/reply: an express dispatch to one worker (a `Dispatch`, answered with an `ExpressAnswer`). */
    express(workerId: string): string;
    /** Core NATS: a worker's liveness beat. */
    heartbeat(workerId: string): string;
    readonly heartbeatsAll: string;
    /** The server's advisory when a consumer gives up on a message. */
    maxDeliveriesAdvisory(stream: string, consumer: string): string;
  };
  readonly buckets: {
    /** Object store holding ARTIFACT step outputs under `<workspace>/<job>/<name>`. */
    readonly artifacts: string;
  };
}

/** Derives every name from `namespace`. Throws a RangeError for an invalid namespace. */
export function names(namespace: string = DEFAULT_NAMESPACE): Names {
  assertNamespace(namespace);
  const ns = namespace;
  // Upper case only: folding '-' into '_' would give `team-a` and `team_a` the same streams.
  const NS = namespace.toUpperCase();
  const pool = (p: string) => {
    assertToken('pool', p, POOL_PATTERN);
    return p;
  };
  const uuid = (kind: string, v: string) => {
    assertToken(kind, v, UUID_TOKEN);
    return v;
  };
  const worker = (id: string) => {
    assertToken('worker id', id, WORKER_ID);
    return id;
  };
  return Object.freeze({
    namespace,
    streams: Object.freeze({
      commands: `${NS}_COMMANDS`,
      dispatch: `${NS}_DISPATCH`,
      events: `${NS}_EVENTS`,
      deadLetters: `${NS}_DEAD_LETTERS`,
    }),
    consumers: Object.freeze({
      scheduler: 'scheduler',
      dispatch: (p: string) => `dispatch-${pool(p)}`,
    }),
    subjects: Object.freeze({
      command: (kind: CommandKind) => `${ns}.cmd.${kind}`,
      commandsAll: `${ns}.cmd.>`,
      dispatch: (p: string) => `${ns}.dispatch.${pool(p)}`,
      dispatchAll: `${ns}.dispatch.>`,
      events: (w: string, j: string) => `${ns}.events.${uuid('workspace id', w)}.${uuid('job id', j)}`,
      workspaceEvents: (w: string) => `${ns}.events.${uuid('workspace id', w)}.*`,
      eventsAll: `${ns}.events.>`,
      deadLetter: (source: string) => `${ns}.dlq.${source.replace(/[^A-Za-z0-9_-]/g, '_')}`,
      deadLettersAll: `${ns}.dlq.>`,
      cancel: (id: string) => `${ns}.ctl.cancel.${worker(id)}`,
      express: (id: string) => `${ns}.ctl.express.${worker(id)}`,
      heartbeat: (id: string) => `${ns}.ctl.heartbeat.${worker(id)}`,
      heartbeatsAll: `${ns}.ctl.heartbeat.*`,
      maxDeliveriesAdvisory: (stream: string, consumer: string) =>
        `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`,
    }),
    buckets: Object.freeze({
      artifacts: `${ns}-artifacts`,
    }),
  });
}
