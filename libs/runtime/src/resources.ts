/**
 * A registry of open connections (NATS connections, PostgreSQL pools, listening servers), so
 * that tests can fail when one is left open and services can log what is still open at exit.
 */

export interface OpenResource {
  readonly kind: string;
  readonly name: string;
  readonly openedAt: Date;
}

const open = new Map<symbol, OpenResource>();

/** Records an open resource; call the returned function when it is closed (idempotent). */
export function trackResource(kind: string, name: string): () => void {
  const key = Symbol(`${kind}:${name}`);
  open.set(key, { kind, name, openedAt: new Date() });
  return () => {
    open.delete(key);
  };
}

/** What is open now, oldest first. */
export function openResources(): OpenResource[] {
  return [...open.values()];
}
