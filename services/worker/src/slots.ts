/**
 * The worker's slots: how many jobs it holds (busy), how many it has asked the server for and
 * not received yet (reserved), how many it offers (all but those withheld), and how many are
 * free. The dispatch consumer never asks for more than the free slots, so the worker never
 * holds more jobs than its concurrency.
 */

/** See the module doc. */
export class Slots {
  readonly total: number;
  #withheld = 0;
  #busy = 0;
  #reserved = 0;
  #waiters: (() => void)[] = [];
  #unreserved: (() => void)[] = [];
  #idle: (() => void)[] = [];
  /** Called whenever the busy count, or the slots offered, change. */
  onChange: (() => void) | undefined;

  constructor(total: number) {
    if (!Number.isInteger(total) || total < 1) throw new RangeError(`slots must be a positive integer, got ${total}`);
    this.total = total;
  }

  /** Jobs held now. */
  get busy(): number {
    return this.#busy;
  }

  /** Slots asked for and not received yet. */
  get reserved(): number {
    return this.#reserved;
  }

  /** Slots offered to the scheduler: the total less those {@link withhold} keeps back. */
  get offered(): number {
    return this.total - this.#withheld;
  }

  /** Offered slots neither held nor reserved. */
  get free(): number {
    return Math.max(0, this.offered - this.#busy - this.#reserved);
  }

  /**
   * Keeps `n` slots (at most all) from being offered or filled, until withheld again with
   * another number: slots the worker cannot run a job in (its step users are held back).
   * Jobs held already run on.
   */
  withhold(n: number): void {
    const withheld = Math.min(Math.max(0, n), this.total);
    if (withheld === this.#withheld) return;
    this.#withheld = withheld;
    this.onChange?.();
    this.#wake();
  }

  /** Resolves with the free slots once there is at least one, or 0 when `signal` aborts. */
  waitForFree(signal: AbortSignal): Promise<number> {
    if (signal.aborted) return Promise.resolve(0);
    if (this.free > 0) return Promise.resolve(this.free);
    return new Promise((resolve) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve(0);
      };
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(this.free);
      };
      this.#waiters.push(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Resolves once no slot is reserved (every pull filled or ended), or after `ms`. */
  unreservedWithin(ms: number): Promise<void> {
    if (this.#reserved === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#unreserved = this.#unreserved.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#unreserved.push(done);
    });
  }

  /** Reserves `n` free slots for a pull. */
  reserve(n: number): void {
    if (n > this.free) throw new RangeError(`cannot reserve ${n} of ${this.free} free slots`);
    this.#reserved += n;
  }

  /** Gives back `n` reserved slots that no message filled. */
  unreserve(n: number): void {
    if (n <= 0) return;
    this.#reserved -= Math.min(n, this.#reserved);
    if (n > 0) this.#wake();
    this.#wakeUnreserved();
  }

  /** A reserved slot is now held by a received dispatch. */
  occupy(): void {
    if (this.#reserved > 0) this.#reserved -= 1;
    this.#busy += 1;
    this.onChange?.();
    this.#wakeUnreserved();
  }

  /** A held slot is free again. */
  release(): void {
    if (this.#busy === 0) throw new Error('release without a busy slot');
    this.#busy -= 1;
    this.onChange?.();
    this.#wake();
    if (this.#busy === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Resolves when no slot is held. */
  idle(): Promise<void> {
    if (this.#busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #wakeUnreserved(): void {
    if (this.#reserved === 0) for (const done of [...this.#unreserved]) done();
  }

  #wake(): void {
    if (this.free <= 0) return;
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
