/**
 * Time-ordered UUIDs (version 7, RFC 9562) for rows inserted at a high rate: new keys land at
 * the right edge of their B-tree instead of on random pages; and name-based UUIDs (version 5)
 * for ids that must come out the same when the same thing is done twice.
 */
import { createHash, randomUUID } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/**
 * A new UUIDv7: 48 bits of Unix milliseconds, a 12-bit counter that orders ids made in the same
 * millisecond, then the variant and 62 random bits (taken from `randomUUID`, whose random
 * source is buffered and cheap).
 */
export function uuidv7(): string {
  let ms = Date.now();
  if (ms <= lastMs) {
    counter = (counter + 1) & 0xfff;
    if (counter === 0) lastMs += 1; // 4096 ids in one millisecond: borrow the next one
    ms = lastMs;
  } else {
    counter = 0;
    lastMs = ms;
  }
  const time = ms.toString(16).padStart(12, '0');
  // randomUUID() is xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx with V already the RFC variant.
  const random = randomUUID().slice(19);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${counter.toString(16).padStart(3, '0')}-${random}`;
}

/** Gantry's namespace for {@link nameUuid} (a fixed random UUID). */
const NAMESPACE = Buffer.from('5b0c3d2e8f1a4c6e9d7b2a4f6e8c0d1b', 'hex');

/**
 * The UUIDv5 (RFC 9562) of `name` in Gantry's namespace: the same name always gives the same
 * id, so an event named after the command that caused it is recognised when that command is
 * delivered again (see `JobWrite.replay`).
 */
export function nameUuid(name: string): string {
  const h = createHash('sha1').update(NAMESPACE).update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
