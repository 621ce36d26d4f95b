/**
 * Time-ordered UUIDs (version 7, RFC 9562) for rows inserted at a high rate: new keys land at
 * the right edge of their B-tree instead of on random pages.
 */
import { randomFillSync } from 'node:crypto';

const bytes = new Uint8Array(16);
let lastMs = 0;
let counter = 0;

/** A new UUIDv7: 48 bits of Unix milliseconds, then a 12-bit counter and random bits. */
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
  randomFillSync(bytes, 8, 8);
  bytes[0] = (ms / 2 ** 40) & 0xff;
  bytes[1] = (ms / 2 ** 32) & 0xff;
  bytes[2] = (ms >>> 24) & 0xff;
  bytes[3] = (ms >>> 16) & 0xff;
  bytes[4] = (ms >>> 8) & 0xff;
  bytes[5] = ms & 0xff;
  bytes[6] = 0x70 | (counter >>> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
