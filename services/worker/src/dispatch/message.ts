/**
 * A received dispatch as the dispatch handler sees it: a JetStream message from the pool's
 * dispatch consumer (a `JsMsg` has all of this), or an express dispatch (`express.ts`).
 */

/** What the handler needs of a received dispatch (a `JsMsg` has all of it). */
export interface DispatchMessage {
  readonly subject: string;
  /** The stream sequence; none for an express dispatch. */
  readonly seq?: number;
  json<T = unknown>(): T;
  ack(): void;
  /** Gives the dispatch back for another worker, after `millis` when given. */
  nak(millis?: number): void;
  term(): void;
  /** Tells the server the attempt is still running (postpones redelivery). */
  working(): void;
  /** Told once whether the attempt was claimed (an express dispatch answers the scheduler then). */
  claimed?(ok: boolean): void;
}
