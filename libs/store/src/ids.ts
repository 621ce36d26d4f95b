/**
 * Time-ordered UUIDs (version 7, RFC 9562) for rows inserted at a high rate: new keys land at
 * the right edge of their B-tree instead of on random pages.
 */
import { randomUUID } from 'node:crypto';

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
