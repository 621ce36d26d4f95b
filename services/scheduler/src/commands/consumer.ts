/**
 * The leader's command consumer: a durable pull consumer on the commands stream. Messages are
 * taken in batches; each is parsed at the edge (size, JSON, version, schema), refused ones are
 * dead-lettered and acked, valid ones are handled by kind in one set-based pass per kind, and
 * every message is acked only after the commit that consumed it. A batch that fails for a
 * transient reason (PostgreSQL unreachable) is nak'ed with a delay; after the consumer's
 * `max_deliver` the server's advisory dead-letters it (see `advisories.ts`).
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { COMMAND_KINDS, type CommandKind, GantryError, Headers, isGantryError, type Names, parseCommand } from '@gantry/contracts';
import { aborted, type Logger } from '@gantry/runtime';
import type { SchedulerMetrics } from '../metrics.js';
import type { CommandContext, Incoming, Outcome } from './context.js';
import { commandKindOf, type DeadLetterer } from './dead-letter.js';
import { handleApprovals, handleCancels, handleRetries } from './job-commands.js';
import { handleSubmits } from './submit.js';

export interface CommandConsumerOptions {
  js: JetStreamClient;
  names: Names;
  ctx: CommandContext;
  deadLetter: DeadLetterer;
  metrics: SchedulerMetrics;
  logger: Logger;
  /** Messages handled in one pass at most. */
  batchSize?: number;
}

type Parsed = { msg: JsMsg; kind: CommandKind; incoming: Incoming<CommandKind> } | { msg: JsMsg; refusal: GantryError };

const HANDLERS: { [K in CommandKind]: (ctx: CommandContext, batch: readonly Incoming<K>[]) => Promise<Outcome[]> } = {
  submit: handleSubmits,
  cancel: handleCancels,
  retry: handleRetries,
  approve: handleApprovals,
};

const NAK_DELAY_MS = 1_000;

export class CommandConsumer {
  readonly #opts: CommandConsumerOptions;
  readonly #batchSize: number;

  constructor(opts: CommandConsumerOptions) {
    this.#opts = opts;
    this.#batchSize = opts.batchSize ?? 1_000;
  }

  /** Consumes until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { js, names } = this.#opts;
    const consumer = await js.consumers.get(names.streams.commands, names.consumers.scheduler);
    const messages = await consumer.consume({ max_messages: this.#batchSize * 2 });
    const queue: JsMsg[] = [];
    let notify: (() => void) | undefined;
    const pump = (async () => {
      for await (const msg of messages) {
        queue.push(msg);
        notify?.();
      }
    })();
    const stopped = aborted(signal).then(() => messages.close());
    try {
      while (!signal.aborted) {
        if (queue.length === 0) {
          await Promise.race([new Promise<void>((resolve) => (notify = resolve)), stopped]);
          notify = undefined;
          continue;
        }
        await this.process(queue.splice(0, this.#batchSize));
      }
    } finally {
      await messages.close();
      await pump.catch(() => undefined);
      // Messages fetched but not handled are redelivered after the ack wait.
      for (const msg of queue.splice(0)) msg.nak();
    }
  }

  /** Handles one batch: parse, refuse, handle by kind, ack after commit. */
  async process(batch: readonly JsMsg[]): Promise<void> {
    const parsed = batch.map((msg) => this.#parse(msg));
    for (const p of parsed) {
      if ('refusal' in p) await this.#refuse(p.msg, p.refusal.code, p.refusal.message);
    }
    for (const kind of COMMAND_KINDS) {
      const group = parsed.filter((p): p is Extract<Parsed, { kind: CommandKind }> => 'kind' in p && p.kind === kind);
      if (group.length > 0) await this.#handle(kind, group);
    }
  }

  #parse(msg: JsMsg): Parsed {
    const kind = commandKindOf(this.#opts.names, msg.subject);
    if (!(COMMAND_KINDS as readonly string[]).includes(kind)) {
      return { msg, refusal: new GantryError('UNKNOWN_SUBJECT', `no command is published on ${msg.subject}`) };
    }
    try {
      const command = parseCommand(kind as CommandKind, msg.data);
      return { msg, kind: kind as CommandKind, incoming: { command, token: msg.headers?.get(Headers.token) || undefined } };
    } catch (err) {
      if (isGantryError(err)) return { msg, refusal: err };
      throw err;
    }
  }

  async #handle(kind: CommandKind, group: readonly { msg: JsMsg; incoming: Incoming<CommandKind> }[]): Promise<void> {
    const handler = HANDLERS[kind] as (ctx: CommandContext, batch: readonly Incoming<CommandKind>[]) => Promise<Outcome[]>;
    let outcomes: Outcome[];
    try {
      outcomes = await handler(this.#opts.ctx, group.map((g) => g.incoming));
    } catch (err) {
      this.#opts.logger.error({ err, kind, count: group.length }, 'command batch failed; will be redelivered');
      this.#opts.metrics.commands.inc({ command: kind, outcome: 'retried' }, group.length);
      for (const g of group) g.msg.nak(NAK_DELAY_MS * g.msg.info.deliveryCount);
      return;
    }
    for (const [i, g] of group.entries()) {
      const outcome = outcomes[i]!;
      if (outcome.kind === 'refuse') {
        await this.#refuse(g.msg, outcome.code, outcome.reason);
      } else {
        g.msg.ack();
        this.#opts.metrics.commands.inc({ command: kind, outcome: outcome.effect });
      }
    }
  }

  async #refuse(msg: JsMsg, code: GantryError['code'], reason: string): Promise<void> {
    try {
      await this.#opts.deadLetter(
        { subject: msg.subject, data: msg.data, headers: msg.headers, streamSequence: msg.seq, deliveries: msg.info.deliveryCount },
        code,
        reason,
      );
      msg.ack();
      this.#opts.metrics.commands.inc({ command: commandKindOf(this.#opts.names, msg.subject), outcome: 'dead_lettered' });
    } catch (err) {
      this.#opts.logger.error({ err, seq: msg.seq }, 'could not dead-letter a command; it will be redelivered');
      msg.nak(NAK_DELAY_MS);
    }
  }
}
