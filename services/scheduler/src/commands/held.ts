/**
 * The commands the leader holds — queued for a pass, or in one — kept from redelivery.
 *
 * The commands consumer redelivers a message its first backoff step after delivery (1 s), so
 * that the commands of a leader that died reach the next leader quickly. A live leader may hold
 * a flood's commands far longer than that: they wait for their pass in its queue. Without care
 * the server delivers them again meanwhile, each copy takes a pass of its own (a job read and no
 * effect), and the commands behind them wait longer still; after `max_deliver` copies the
 * server would even give a command up while it is still queued.
 *
 * So every held message is reported in progress (`working()`) once it has been held for a third
 * of the redelivery wait, and again every third; and a copy of a message still held (sent before
 * a report arrived) is dropped, not queued twice. A held message leaves with its pass, settled
 * — unless the pass deferred it behind a put-back command of its workspace: then it stays held,
 * back in the queue, for a later pass.
 */
import type { JsMsg } from '@nats-io/jetstream';

interface Held {
  touchedAt: number;
  readonly msg: JsMsg;
}

export class HeldMessages {
  readonly #everyMs: number;
  readonly #held = new Map<number, Held>();
  #timer: NodeJS.Timeout | undefined;

  /** `redeliveryMs`: how long the server waits for an ack before it delivers a message again. */
  constructor(redeliveryMs: number) {
    this.#everyMs = Math.max(10, Math.floor(redeliveryMs / 3));
  }

  /** Holds `msg`; false when it is a copy of a message held already (drop it). */
  hold(msg: JsMsg): boolean {
    if (this.#held.has(msg.seq)) return false;
    this.#held.set(msg.seq, { msg, touchedAt: Date.now() });
    this.#timer ??= setInterval(() => this.#touch(), this.#everyMs).unref();
    return true;
  }

  /** True while message `seq` of the stream is held. */
  has(seq: number): boolean {
    return this.#held.has(seq);
  }

  /**
   * Forgets settled messages. A copy of one that came back meanwhile (it was put back, and the
   * server delivered it again before its pass ended) is another delivery: it stays held.
   */
  release(messages: readonly JsMsg[]): void {
    for (const msg of messages) if (this.#held.get(msg.seq)?.msg === msg) this.#held.delete(msg.seq);
    if (this.#held.size === 0) this.#stopTimer();
  }

  /** Forgets everything (the consumer stopped; what is unsettled is redelivered). */
  clear(): void {
    this.#held.clear();
    this.#stopTimer();
  }

  #touch(): void {
    const due = Date.now() - this.#everyMs;
    for (const h of this.#held.values()) {
      if (h.touchedAt > due) continue;
      h.msg.working();
      h.touchedAt = Date.now();
    }
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
