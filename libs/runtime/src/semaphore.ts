/**
 * A counting semaphore with a FIFO queue of waiters: callers acquire a permit, or wait for one
 * in arrival order, and release it when done.
 */
export class Semaphore {
  #available: number;
  readonly #waiters: (() => void)[] = [];
  readonly #idle: (() => void)[] = [];
  readonly #permits: number;

  /** `permits` ≥ 1: how many holders at once. */
  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) {
      throw new RangeError(`permits must be a positive integer, got ${permits}`);
    }
    this.#permits = permits;
    this.#available = permits;
  }

  /** Permits held now. */
  get held(): number {
    return this.#permits - this.#available;
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves once the caller holds a permit; waiters are served first come, first served. */
  acquire(): Promise<void> {
    if (this.#available > 0 && this.#waiters.length === 0) {
      this.#available -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Returns a permit, handing it straight to the first waiter if there is one. */
  release(): void {
    const next = this.#waiters.shift();
    if (next) {
      next();
      return;
    }
    if (this.#available === this.#permits) throw new Error('release without a held permit');
    this.#available += 1;
    if (this.#available === this.#permits) this.#idle.splice(0).forEach((resolve) => resolve());
  }

  /** Resolves when no permit is held and no one waits. */
  idle(): Promise<void> {
    if (this.held === 0 && this.#waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
