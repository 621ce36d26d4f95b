/**
 * `peekWorkspaceId(body)`: the workspace a command body names, found without decoding or parsing
 * it. The scheduler queues a command for its workspace as it arrives and reads it only when
 * that workspace's turn comes; a command that carries no `Gantry-Workspace` header is queued by
 * this peek. It reads the body's bytes up to its first top-level `workspaceId` and stops there:
 * for a command that names its workspace before its jobs, as producers do, a few microseconds
 * against 0.8 ms for reading a 200 KB submit (docs/performance.md, the twelfth session).
 *
 * The answer is the first top-level `workspaceId` exactly as `JSON.parse` would decode it, or
 * undefined when the bytes alone cannot tell: a `workspaceId` nested in a job's payload is not
 * it, a top-level key written with escapes is decoded, a leading byte-order mark is skipped as
 * the decoder does; a value with an escape, a byte outside printable ASCII or more than 64
 * bytes, or that is not a string, gives up. `JSON.parse` keeps the last of duplicate keys, so a
 * body that names two workspaces may parse to another than the peek's: the scheduler refuses
 * a command whose body names another workspace than the one it was queued for, as it does for
 * the header. A body that does not parse may be given any answer: the read refuses it anyway.
 * Structural bytes (`{}[]",:` and the backslash) are ASCII and never occur inside a multi-byte
 * UTF-8 sequence, so scanning bytes is scanning characters.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const KEY = new TextEncoder().encode('workspaceId');
const decoder = new TextDecoder('utf-8', { fatal: true });
/** Longer than any workspace id (a UUID has 36 characters): the schema check refuses it. */
const MAX_VALUE_BYTES = 64;

function isWhitespace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Scans one body; see the module doc. */
class Scan {
  readonly #b: Uint8Array;

  constructor(body: Uint8Array) {
    this.#b = body;
  }

  skipWhitespace(i: number): number {
    while (isWhitespace(this.#b[i])) i++;
    return i;
  }

  /** The index of the quote that closes the string whose first byte is at `from`; -1 if unterminated. */
  stringEnd(from: number): number {
    const b = this.#b;
    let quote = b.indexOf(QUOTE, from);
    // A quote after an odd run of backslashes is part of the string.
    while (quote !== -1 && b[quote - 1] === BACKSLASH) {
      let run = 1;
      while (b[quote - 1 - run] === BACKSLASH) run++;
      if (run % 2 === 0) break;
      quote = b.indexOf(QUOTE, quote + 1);
    }
    return quote;
  }

  /** Whether the bytes `[start, end)` hold an escape. */
  escaped(start: number, end: number): boolean {
    for (let k = start; k < end; k++) if (this.#b[k] === BACKSLASH) return true;
    return false;
  }

  /**
   * Whether the string `[start, end)` is the key `workspaceId`; undefined if it holds an escape
   * that does not decode.
   */
  isKey(start: number, end: number): boolean | undefined {
    if (this.escaped(start, end)) {
      // An escape may spell the key (`"workspace\u0049d"`); each of its characters takes six bytes at most.
      if (end - start > 6 * KEY.length) return false;
      try {
        return JSON.parse(decoder.decode(this.#b.subarray(start - 1, end + 1))) === 'workspaceId';
      } catch {
        return undefined;
      }
    }
    if (end - start !== KEY.length) return false;
    for (let k = 0; k < KEY.length; k++) if (this.#b[start + k] !== KEY[k]) return false;
    return true;
  }

  /** The bytes `[start, end)` as text when they are few and each is printable ASCII, else undefined. */
  ascii(start: number, end: number): string | undefined {
    if (end - start > MAX_VALUE_BYTES) return undefined;
    for (let k = start; k < end; k++) {
      const c = this.#b[k]!;
      if (c < 0x20 || c > 0x7e) return undefined;
    }
    return String.fromCharCode(...this.#b.subarray(start, end));
  }
}

/** The first top-level `workspaceId` of a command body, when its bytes tell it exactly; see the module doc. */
export function peekWorkspaceId(body: Uint8Array): string | undefined {
  const scan = new Scan(body);
  let i = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  i = scan.skipWhitespace(i);
  if (body[i] !== OPEN_OBJECT) return undefined;
  let depth = 0;
  let keyNext = false;
  for (; i < body.length; i++) {
    const c = body[i]!;
    if (c === QUOTE) {
      const end = scan.stringEnd(i + 1);
      if (end === -1) return undefined;
      if (depth === 1 && keyNext) {
        keyNext = false;
        const isKey = scan.isKey(i + 1, end);
        if (isKey === undefined) return undefined;
        if (isKey) {
          const colon = scan.skipWhitespace(end + 1);
          const valueAt = scan.skipWhitespace(colon + 1);
          if (body[colon] !== COLON || body[valueAt] !== QUOTE) return undefined;
          const valueEnd = scan.stringEnd(valueAt + 1);
          if (valueEnd === -1 || scan.escaped(valueAt + 1, valueEnd)) return undefined;
          return scan.ascii(valueAt + 1, valueEnd);
        }
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      keyNext = depth === 1;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
      if (depth === 0) return undefined;
    } else if (c === COMMA && depth === 1) {
      keyNext = true;
    }
  }
  return undefined;
}
