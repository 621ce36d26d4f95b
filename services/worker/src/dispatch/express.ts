/**
 * The express lane (docs/protocol.md, "Express dispatches"): the worker's own core-NATS subject
 * `<ns>.ctl.express.<workerId>`, on which the scheduler leader hands it a job at or above its
 * express priority while the pool has no ordinary credit. The request is a `Dispatch`; the
 * answer is an `ExpressAnswer`:
 * - refused at once (`full`, `draining`, `invalid`) when no express slot is free, the worker
 *   drains, or the dispatch is invalid;
 * - otherwise a free express slot is occupied, the attempt runs like any dispatch, claim first,
 *   and the answer goes back as soon as the claim committed (accepted) or was refused or not
 *   made (`unclaimed`). The scheduler returns a refused or unanswered job to the backlog, so an
 *   accepted answer means that the job is this worker's in PostgreSQL: if the worker dies
 *   before its claim, the job is back in the backlog when the answer's wait runs out, and after
 *   it, the lost-worker recovery applies as to any job.
 *
 * Express slots are a second `Slots`, which ordinary dispatches never use: the worker runs at
 * most WORKER_CONCURRENCY + WORKER_EXPRESS_SLOTS attempts. There is no message to ack: an
 * express dispatch's ack, nak, term and in-progress ack do nothing.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { Dispatch, type ExpressAnswer, type Names } from '@gantry/contracts';
import { aborted, type Logger, startStop, type StartStopComponent } from '@gantry/runtime';
import type { Slots } from '../slots.js';
import type { DispatchMessage } from './message.js';

/** Options of {@link createExpressListener}. */
export interface ExpressListenerOptions {
  readonly nc: NatsConnection;
  readonly names: Names;
  readonly workerId: string;
  /** The express slots. */
  readonly slots: Slots;
  readonly draining: () => boolean;
  readonly logger: Logger;
  /** Called for each dispatch taken, after an express slot was occupied for it; must release the slot. */
  readonly onDispatch: (msg: DispatchMessage) => Promise<void>;
}

/** Builds the express listener; see the module doc. */
export function createExpressListener(opts: ExpressListenerOptions): StartStopComponent {
  const logger = opts.logger.child({ component: 'express-listener' });
  let sub: Subscription | undefined;

  const answer = (msg: Msg, body: ExpressAnswer) => {
    try {
      msg.respond(JSON.stringify(body));
    } catch (err) {
      logger.warn({ err }, 'express answer not sent');
    }
  };

  const onRequest = (msg: Msg) => {
    let d: Dispatch;
    try {
      d = Dispatch.parse(msg.json());
    } catch (err) {
      logger.warn({ err }, 'invalid express dispatch refused');
      answer(msg, { v: 1, accepted: false, reason: 'invalid' });
      return;
    }
    if (opts.draining()) return answer(msg, { v: 1, accepted: false, reason: 'draining' });
    if (opts.slots.free <= 0) return answer(msg, { v: 1, accepted: false, reason: 'full' });
    opts.slots.occupy();
    let answered = false;
    const nothing = () => undefined;
    void opts.onDispatch({
      subject: msg.subject,
      json: <T>() => d as T,
      ack: nothing,
      nak: nothing,
      term: nothing,
      working: nothing,
      claimed: (ok) => {
        if (answered) return;
        answered = true;
        answer(msg, ok ? { v: 1, accepted: true } : { v: 1, accepted: false, reason: 'unclaimed' });
      },
    });
  };

  return startStop({
    name: 'express-listener',
    setup: async () => {
      sub = opts.nc.subscribe(opts.names.subjects.express(opts.workerId), {
        callback: (err, msg) => {
          if (err) logger.warn({ err }, 'express subscription error');
          else onRequest(msg);
        },
      });
      await opts.nc.flush();
    },
    run: async (signal) => {
      await aborted(signal);
      sub?.unsubscribe();
      sub = undefined;
    },
  });
}
