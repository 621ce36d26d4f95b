/**
 * What happens to one received dispatch: parse it, claim the attempt (the claim loads the job)
 * and run it, and settle the message — acked only after the write that ends the worker's hold
 * committed (protocol rows 6–9, 14, 15), or at once when the claim is refused (a stale or
 * duplicate dispatch: nothing is written). The slot the consumer took for the message is
 * released when the message is settled and the job directory is gone.
 *
 * | attempt outcome | message |
 * |---|---|
 * | COMPLETED, FAILED, CANCELLED, WAITING, RETRY, HANDED_BACK, FENCED | ack |
 * | REFUSED (claim refused: counted as a stale dispatch) | ack |
 * | another message of an attempt this worker holds (counted as a duplicate) | ack; the held one redelivered: left to its attempt |
 * | UNCLAIMED (drained before the claim) | nak: another worker takes it now |
 * | ABANDONED (PostgreSQL unreachable) | nak after a delay |
 * | invalid message | term |
 *
 * The message is a JetStream message from the pool's dispatch consumer, or an express dispatch
 * (`express.ts`), which has nothing to settle and answers the scheduler once the claim is
 * decided (`claimed`).
 */
import { Dispatch } from '@gantry/contracts';
import type { Logger } from '@gantry/runtime';
import type { AttemptRun } from '../engine/job-runner.js';
import type { AttemptOutcome } from '../engine/types.js';
import { type InFlight, InFlightAttempt } from '../in-flight.js';
import type { WorkerSignals } from '../signals.js';
import type { Slots } from '../slots.js';
import type { DispatchMessage } from './message.js';

/** Delay before a dispatch whose job could not be written is delivered again. */
export const RETRY_DISPATCH_DELAY_MS = 5_000;

/** What {@link createDispatchHandler} needs. */
export interface DispatchHandlerDeps {
  readonly inFlight: InFlight;
  readonly slots: Slots;
  readonly signals: WorkerSignals;
  readonly logger: Logger;
  /** `onClaim` is told once whether the attempt was claimed. */
  readonly startAttempt: (dispatch: Dispatch, onClaim: (claimed: boolean) => void) => AttemptRun;
}

function settle(msg: DispatchMessage, outcome: AttemptOutcome): void {
  if (outcome === 'UNCLAIMED') msg.nak();
  else if (outcome === 'ABANDONED') msg.nak(RETRY_DISPATCH_DELAY_MS);
  else msg.ack();
}

/** Builds the handler of received dispatches; the consumer has occupied a slot for each. */
export function createDispatchHandler(deps: DispatchHandlerDeps): (msg: DispatchMessage) => Promise<void> {
  const { inFlight, signals, logger } = deps;
  return async function handle(msg) {
    try {
      let d: Dispatch;
      try {
        d = Dispatch.parse(msg.json());
      } catch (err) {
        logger.warn({ err, subject: msg.subject, seq: msg.seq }, 'invalid dispatch: terminated');
        msg.term();
        msg.claimed?.(false);
        signals.emit('dispatchDropped', { reason: 'invalid' });
        return;
      }
      const held = inFlight.get(d.jobId, d.attempt);
      if (held !== undefined) {
        // Another message of the attempt (published again): acked, as a stale dispatch is, or it
        // would come back after each ack wait and stay in the work queue once its deliveries ran
        // out. The held message redelivered (the same stream sequence) is the held attempt's to
        // settle: acked now, a nak of its attempt would no longer give it back.
        if (held.msg.seq === undefined || held.msg.seq !== msg.seq) msg.ack();
        signals.emit('dispatchDropped', { jobId: d.jobId, attempt: d.attempt, reason: 'duplicate' });
        msg.claimed?.(false);
        return;
      }
      const entry = new InFlightAttempt(d.jobId, d.attempt, msg);
      inFlight.add(entry);
      try {
        const run = deps.startAttempt(d, (ok) => msg.claimed?.(ok));
        entry.attach((kind) => run.signal(kind));
        const outcome = await run.run();
        settle(msg, outcome);
        if (outcome === 'REFUSED') signals.emit('dispatchDropped', { jobId: d.jobId, attempt: d.attempt, reason: 'stale' });
        else signals.emit('attemptEnded', { jobId: d.jobId, attempt: d.attempt, outcome });
      } finally {
        inFlight.delete(entry);
      }
    } catch (err) {
      logger.error({ err }, 'dispatch handling failed');
      msg.claimed?.(false);
      // Settling fails too when the connection is closed (a drain that ran out of time): the
      // message is then redelivered after its ack wait, and the handler must not reject.
      try {
        msg.nak(RETRY_DISPATCH_DELAY_MS);
      } catch (nakErr) {
        logger.warn({ err: nakErr }, 'dispatch not settled');
      }
    } finally {
      deps.slots.release();
    }
  };
}
