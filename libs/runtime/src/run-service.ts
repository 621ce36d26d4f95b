/**
 * The main loop of a service process: start its components in order, wait for SIGTERM or
 * SIGINT (or a component failure), stop them in reverse order within one shared deadline, log
 * the resources still open (a warning: the caller may close some after), and set the exit code.
 * A second signal during shutdown forces the exit.
 *
 * With `stopWhenStdinCloses` (`STOP_ON_STDIN_EOF`), the end of standard input stops the service
 * like a SIGTERM: a supervisor that holds a pipe to it — the test harness, the bench — then never
 * leaves it running when it dies, whatever kills it, since the kernel closes the pipe. A service
 * that something still holds open after its stop (a component that did not stop cleanly, a
 * connection still registered as open) exits {@link EXIT_GRACE_MS} later with its exit code.
 */
import type { BaseConfig } from './config.js';
import type { Logger } from './logger.js';
import type { Component } from './lifecycle.js';
import { openResources } from './resources.js';

/** What {@link runService} reads of standard input: its end. */
export interface ServiceStdin {
  once(event: 'end' | 'error', listener: () => void): unknown;
  off(event: 'end' | 'error', listener: () => void): unknown;
  resume(): unknown;
  destroy(): unknown;
}

/** The part of `process` that {@link runService} uses; tests pass a stand-in. */
export interface ServiceProcess {
  on(event: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  off(event: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  exit(code: number): void;
  exitCode?: number | string | null | undefined;
  /** Read only with `stopWhenStdinCloses`. */
  readonly stdin?: ServiceStdin;
}

/** Options of {@link runService}. */
export interface RunServiceOptions {
  readonly logger: Logger;
  /** Started in this order, stopped in the reverse order. */
  readonly components: readonly Component[];
  /** Total time all components have to stop after the first signal (`SHUTDOWN_TIMEOUT_MS`). */
  readonly timeoutMs: number;
  /** Stop when standard input ends (`STOP_ON_STDIN_EOF`); default false: it is not read. */
  readonly stopWhenStdinCloses?: boolean;
  /** Default: the real `process`. */
  readonly process?: ServiceProcess;
}

/** The options of {@link runService} every service takes from its configuration. */
export function shutdownOptions(config: Pick<BaseConfig, 'shutdownTimeoutMs' | 'stopOnStdinEof'>): Pick<RunServiceOptions, 'timeoutMs' | 'stopWhenStdinCloses'> {
  return { timeoutMs: config.shutdownTimeoutMs, stopWhenStdinCloses: config.stopOnStdinEof === 'true' };
}

/** Exit code after a clean shutdown. */
export const EXIT_OK = 0;
/** Exit code when a component failed to start, failed while running, or did not stop in time. */
export const EXIT_FAILURE = 1;
/** Exit code when a second signal forces the exit. */
export const EXIT_FORCED = 130;

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

interface StopReason {
  readonly reason: string;
  readonly error?: Error;
}

function watchSignals(proc: ServiceProcess, logger: Logger, onFirst: (signal: string) => void) {
  let received = 0;
  const listeners = SIGNALS.map((signal) => {
    const listener = () => {
      received += 1;
      if (received === 1) {
        onFirst(signal);
        return;
      }
      logger.fatal({ signal }, 'second signal during shutdown: exiting now');
      proc.exit(EXIT_FORCED);
    };
    proc.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => listeners.forEach(([signal, listener]) => proc.off(signal, listener));
}

/** Calls `onEnd` once `stdin` ends or fails; returns what undoes the watch and lets the stream go. */
function watchStdin(stdin: ServiceStdin, onEnd: () => void): () => void {
  const ended = () => onEnd();
  stdin.once('end', ended);
  stdin.once('error', ended);
  stdin.resume();
  return () => {
    stdin.off('end', ended);
    stdin.off('error', ended);
    // An open pipe would keep the event loop, and so the process, alive after the stop.
    stdin.destroy();
  };
}

async function startAll(
  components: readonly Component[],
  stopRequested: Promise<StopReason>,
  started: Component[],
): Promise<Error | undefined> {
  for (const component of components) {
    started.push(component);
    const outcome = await Promise.race([
      component.start().then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      ),
      stopRequested.then(() => 'stop' as const),
    ]);
    if (outcome === 'stop') return undefined;
    if (outcome instanceof Error) return outcome;
  }
  return undefined;
}

async function stopAll(components: readonly Component[], timeoutMs: number, logger: Logger): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let clean = true;
  for (const component of [...components].reverse()) {
    const remainingMs = Math.max(0, deadline - Date.now());
    try {
      await component.stop({ timeoutMs: remainingMs });
      logger.info({ component: component.name }, 'stopped');
    } catch (err) {
      clean = false;
      logger.error({ err, component: component.name }, 'component did not stop cleanly');
    }
  }
  return clean;
}

/** Logs each resource still open; answers how many. */
function reportOpenResources(logger: Logger): number {
  const open = openResources();
  for (const resource of open) {
    logger.warn({ resource: { kind: resource.kind, name: resource.name } }, 'still open after stop');
  }
  return open.length;
}

/** How long a stopped service that something still holds open waits before it exits anyway. */
export const EXIT_GRACE_MS = 1_000;

/**
 * Runs a service until SIGTERM/SIGINT or a component failure, then stops it. Resolves with the
 * exit code, which it also sets on the process: {@link EXIT_OK} after a clean stop,
 * {@link EXIT_FAILURE} otherwise.
 */
export async function runService(opts: RunServiceOptions): Promise<number> {
  const proc = opts.process ?? process;
  const { logger } = opts;
  let requestStop!: (reason: StopReason) => void;
  const stopRequested = new Promise<StopReason>((resolve) => {
    requestStop = resolve;
  });
  const unwatchSignals = watchSignals(proc, logger, (signal) => requestStop({ reason: signal }));
  const stdin = opts.stopWhenStdinCloses === true ? proc.stdin : undefined;
  const unwatchStdin = stdin === undefined ? undefined : watchStdin(stdin, () => requestStop({ reason: 'stdin closed' }));
  const started: Component[] = [];
  try {
    const startError = await startAll(opts.components, stopRequested, started);
    if (startError) {
      requestStop({ reason: 'start failed', error: startError });
    } else {
      for (const c of started) void c.failed?.then((error) => requestStop({ reason: `${c.name} failed`, error }));
      logger.info({ components: started.map((c) => c.name) }, 'service started');
    }
    const stop = await stopRequested;
    logger.info({ reason: stop.reason, err: stop.error }, 'shutting down');
    const stoppedClean = await stopAll(started, opts.timeoutMs, logger);
    const stillOpen = reportOpenResources(logger);
    const code = stop.error === undefined && stoppedClean ? EXIT_OK : EXIT_FAILURE;
    logger.info({ exitCode: code }, 'service stopped');
    proc.exitCode = code;
    // A connection left open (to a server that has gone, reconnecting forever) would keep the
    // process alive after its stop: a service whose supervisor died would then never end. It
    // exits once its last log lines have had a moment to go out; otherwise it ends as its
    // event loop empties.
    if (!stoppedClean || stillOpen > 0) setTimeout(() => proc.exit(code), EXIT_GRACE_MS).unref();
    return code;
  } finally {
    unwatchSignals();
    unwatchStdin?.();
  }
}
