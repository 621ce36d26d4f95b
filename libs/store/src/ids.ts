/**
 * Time-ordered UUIDs (version 7, RFC 9562) for rows inserted at a high rate: new keys land at
 * the right edge of their B-tree instead of on random pages; and UUIDs derived from their parts
 * (version 8) for ids that must come out the same when the same thing is done twice.
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

/**
 * A UUID (version 8, RFC 9562) derived from `parts`: the same parts always give the same id. A
 * command repeated for the same decision is then dropped by JetStream's duplicate window, and
 * an event named after the command that caused it is found when that command is delivered again
 * (see `JobWrite.replay`).
 */
export function derivedUuid(...parts: readonly (string | number)[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
