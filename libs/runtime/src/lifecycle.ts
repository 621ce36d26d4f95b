/**
 * One lifecycle contract for every long-running component: `start()` returns once the
 * component is running (or rejects if it could not start), `stop()` aborts its work through an
 * `AbortSignal` and waits for in-flight work up to a timeout.
 *
 * Invariants of a component built with {@link startStop}:
 * - `stop()` before `start()` resolves at once; `stop()` twice, or concurrently, shares one stop;
 * - `start()` while starting or running is a no-op sharing the first start;
 * - after a clean stop the component may start again; after a stop that timed out it may not,
 *   because its previous work may still be running.
 *
 * ```
 *  idle ──start()──► starting ──setup ok──► running ──stop()──► stopping ──run settled──► idle
 *                        │ setup failed ─► idle                     └──timeout──► stuck
 * ```
 */

/** Options of {@link Component.stop}. */
export interface StopOptions {
  /** How long to wait for in-flight work after the abort; default {@link DEFAULT_STOP_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

/** A long-running part of a service, started and stopped by {@link runService}. */
export interface Component {
  /** A short name for logs. */
  readonly name: string;
  /** Starts the component; resolves once it runs, rejects if it could not start. */
  start(): Promise<void>;
  /** Stops it; idempotent, safe before start; rejects with a {@link StopTimeoutError} on timeout. */
  stop(opts?: StopOptions): Promise<void>;
  /**
   * Resolves with the error if the component's work fails on its own (not through `stop()`);
   * never rejects. A service stops when one of its components fails.
   */
  readonly failed?: Promise<Error>;
}

/** How long `stop()` waits for in-flight work when not told. */
export const DEFAULT_STOP_TIMEOUT_MS = 25_000;

/** `stop()` gave up waiting for a component's in-flight work. */
export class StopTimeoutError extends Error {
  override readonly name = 'StopTimeoutError';
  constructor(
    readonly component: string,
    readonly timeoutMs: number,
  ) {
    super(`${component} did not stop within ${timeoutMs} ms`);
  }
}

/** The abort reason a component's signal carries when `stop()` was called. */
export class StopRequested extends Error {
  override readonly name = 'StopRequested';
  constructor(component: string) {
    super(`${component} is stopping`);
  }
}

/** The state of a {@link startStop} component. */
export type ComponentState = 'idle' | 'starting' | 'running' | 'stopping' | 'stuck';

/** What {@link startStop} builds a component from. */
export interface StartStopOptions {
  readonly name: string;
  /**
   * Acquires what the component needs (listen on a port, open a subscription); `start()` waits
   * for it and rejects with its error. It must release what it took if it fails.
   */
  readonly setup?: (signal: AbortSignal) => Promise<void>;
  /**
   * The component's work, started after `setup`; it must return soon after `signal` aborts and
   * release what `setup` acquired. A rejection before the abort is a failure, and so is a return
   * before it: the work stopped while the service runs on.
   */
  readonly run: (signal: AbortSignal) => Promise<void>;
}

/** A {@link Component} built by {@link startStop}. */
export interface StartStopComponent extends Component {
  readonly state: ComponentState;
  readonly failed: Promise<Error>;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function isAbortError(err: unknown, signal: AbortSignal): boolean {
  return err === signal.reason || (err instanceof Error && err.name === 'AbortError');
}

async function settleWithin(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([work.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Builds a {@link Component} from a `setup` and a `run(signal)` loop, with the start/stop
 * guarantees listed in this module's doc.
 */
export function startStop(opts: StartStopOptions): StartStopComponent {
  let state: ComponentState = 'idle';
  let controller = new AbortController();
  let starting: Promise<void> | undefined;
  let finished: Promise<unknown> = Promise.resolve();
  let stopping: Promise<void> | undefined;
  let failure = deferred<Error>();

  const launch = async (signal: AbortSignal, failed: Deferred<Error>): Promise<void> => {
    await opts.setup?.(signal);
    finished = opts.run(signal).then(
      () => {
        // Its work is a loop until stopped: one that ended on its own stopped doing it, and the
        // service would run on without it.
        if (!signal.aborted) failed.resolve(new Error(`${opts.name} stopped on its own`));
      },
      (err: unknown) => {
        if (isAbortError(err, signal) && signal.aborted) return;
        const error = err instanceof Error ? err : new Error(String(err));
        if (signal.aborted) throw error;
        failed.resolve(error);
      },
    );
    finished.catch(() => undefined);
    if (state === 'starting') state = 'running';
  };

  const start = (): Promise<void> => {
    if (state === 'stuck') {
      return Promise.reject(new Error(`${opts.name} cannot start: its last stop timed out`));
    }
    if (state !== 'idle') return starting ?? Promise.resolve();
    state = 'starting';
    controller = new AbortController();
    failure = deferred<Error>();
    finished = Promise.resolve();
    starting = launch(controller.signal, failure).catch((err: unknown) => {
      state = 'idle';
      starting = undefined;
      throw err;
    });
    return starting;
  };

  const drain = async (timeoutMs: number): Promise<void> => {
    const work = (starting ?? Promise.resolve()).catch(() => undefined).then(() => finished);
    const settled = await settleWithin(work.catch(() => undefined), timeoutMs);
    if (!settled) {
      state = 'stuck';
      throw new StopTimeoutError(opts.name, timeoutMs);
    }
    state = 'idle';
    starting = undefined;
    await work;
  };

  const stop = (stopOpts?: StopOptions): Promise<void> => {
    if (stopping) return stopping;
    if (state === 'idle' || state === 'stuck') return Promise.resolve();
    state = 'stopping';
    controller.abort(new StopRequested(opts.name));
    stopping = drain(stopOpts?.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS).finally(() => {
      stopping = undefined;
    });
    return stopping;
  };

  return {
    name: opts.name,
    start,
    stop,
    get state() {
      return state;
    },
    get failed() {
      return failure.promise;
    },
  };
}

/**
 * `component` with the members of `views` added to it, getters kept as getters: how a component
 * built by {@link startStop} also exposes what it holds (a port, a snapshot) without forwarding
 * each lifecycle member by hand.
 */
export function withViews<C extends Component, V extends object>(component: C, views: V): C & V {
  return Object.defineProperties(component, Object.getOwnPropertyDescriptors(views)) as C & V;
}

/**
 * Waits `ms` milliseconds unless `signal` aborts first. Resolves true when the time passed,
 * false when aborted; never rejects.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves when `signal` aborts (at once if it already has); never rejects. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
