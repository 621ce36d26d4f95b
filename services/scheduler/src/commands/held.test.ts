import type { JsMsg } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { HeldMessages } from './held.js';

/** A delivery of stream message `seq` (each call another delivery, as the client gives them). */
const delivery = (seq: number) => ({ seq, working: () => undefined }) as unknown as JsMsg;

describe('HeldMessages', () => {
  it('drops a copy of a message it holds, and releases a message once settled', () => {
    const held = new HeldMessages(1_000);
    const first = delivery(7);
    expect(held.hold(first)).toBe(true);
    expect(held.hold(delivery(7))).toBe(false);
    held.release([first]);
    expect(held.has(7)).toBe(false);
  });

  it('keeps holding the copy of a put-back message that came back before its pass ended', () => {
    const held = new HeldMessages(1_000);
    const first = delivery(7);
    held.hold(first);
    // Put back: released and naked; the server delivers it again while the pass still runs.
    held.release([first]);
    const again = delivery(7);
    expect(held.hold(again)).toBe(true);
    // The pass ends and releases what it took: the first delivery, not the copy.
    held.release([first]);
    expect(held.has(7)).toBe(true);
    held.release([again]);
    expect(held.has(7)).toBe(false);
  });
});
