/**
 * The express lane (docs/protocol.md, "Express dispatches"): the worker's own core-NATS subject
 * `<ns>.ctl.express.<workerId>`, on which the scheduler leader hands it a job at or above its
 * express priority while the pool has no ordinary credit. The request is a `Dispatch`; the
 * answer, an `ExpressAnswer`, goes back before anything else happens:
 * - accepted: a free express slot is occupied for the attempt, which then runs like any other
 *   dispatch, claim first (the answer promises nothing the claim does not check);
 * - refused (`full`, `draining`, `invalid`): the scheduler returns the job to the backlog.
 *
 * An accepted attempt this worker cannot start (drained before its claim, PostgreSQL
 * unreachable) is handed to the pool's dispatch stream, where any worker takes it.
 *
 * Express slots are a second `Slots`, which ordinary dispatches never use: the worker runs at
 * most WORKER_CONCURRENCY + WORKER_EXPRESS_SLOTS attempts.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { Dispatch, dispatchMsgId, type ExpressAnswer, type Names } from '@gantry/contracts';
import { aborted, type Logger, type Publisher, startStop, type StartStopComponent } from '@gantry/runtime';
import type { Slots } from '../slots.js';
import type { DispatchMessage } from './message.js';

/** Options of {@link createExpressListener}. */
export interface ExpressListenerOptions {
  readonly nc: NatsConnection;
  readonly names: Names;
  readonly workerId: string;
  readonly pool: string;
  /** The express slots. */
  readonly slots: Slots;
  readonly draining: () => boolean;
  /** Hands an attempt the worker cannot start to the pool's dispatch stream. */
  readonly publisher: Publisher;
  readonly logger: Logger;
  /** Called for each accepted dispatch after an express slot was occupied for it; must release the slot. */
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

  /** The pool's dispatch stream takes a dispatch this worker accepted and cannot start. */
  const handBack = (data: Uint8Array, d: Dispatch) => {
    opts.publisher
      .publish(opts.names.subjects.dispatch(opts.pool), data, { msgId: dispatchMsgId(d.jobId, d.attempt) })
      .catch((err: unknown) => logger.warn({ err, jobId: d.jobId, attempt: d.attempt }, 'express dispatch not handed back; the reconciler dispatches it again'));
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
    answer(msg, { v: 1, accepted: true });
    const data = msg.data;
    const message: DispatchMessage = {
      subject: msg.subject,
      json: <T>() => d as T,
      ack: () => undefined,
      term: () => undefined,
      working: () => undefined,
      nak: (millis) => {
        if (millis === undefined || millis <= 0) handBack(data, d);
        else setTimeout(() => handBack(data, d), millis).unref();
      },
    };
    void opts.onDispatch(message);
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
