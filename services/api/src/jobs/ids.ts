/**
 * Job ids: time-ordered UUIDs (version 7, RFC 9562). New keys land at the right edge of the
 * primary-key B-tree, and jobs created in one transaction (which share `created_at`) sort by id
 * in the order they were submitted, so lists show a batch in its request order.
 *
 * The store makes the same ids for its events (`libs/store/src/ids.ts`) but does not export the
 * generator; this is the same algorithm.
 */
import { randomUUID } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/** A new UUIDv7: 48 bits of Unix milliseconds, a 12-bit counter within the millisecond, then random bits. */
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
  const random = randomUUID().slice(19);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${counter.toString(16).padStart(3, '0')}-${random}`;
}
