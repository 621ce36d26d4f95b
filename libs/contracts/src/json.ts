/** JSON values and their serialised size, shared by the schemas. */
import { z } from 'zod';

/** Bytes of `text` encoded as UTF-8, counted without encoding it. */
export function utf8Bytes(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    // A surrogate pair is 2 UTF-16 units and 4 bytes; a lone surrogate encodes as U+FFFD (3 bytes).
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** Bytes of `value` serialised as UTF-8 JSON. */
export function jsonBytes(value: unknown): number {
  return utf8Bytes(JSON.stringify(value) ?? '');
}

/** Any JSON object (a record of JSON values). */
export const JsonObject = z.record(z.string(), z.json());
export type JsonObject = z.infer<typeof JsonObject>;

/** A JSON object no larger than `maxBytes` once serialised. */
export function boundedJsonObject(maxBytes: number, what: string) {
  return JsonObject.check((ctx) => {
    const text = JSON.stringify(ctx.value) ?? '';
    // A UTF-16 unit is at most 3 bytes of UTF-8: most values need no exact count.
    if (text.length * 3 <= maxBytes) return;
    const bytes = utf8Bytes(text);
    if (bytes > maxBytes) {
      ctx.issues.push({
        code: 'too_big',
        origin: 'string',
        maximum: maxBytes,
        inclusive: true,
        input: ctx.value,
        message: `${what} is ${bytes} bytes serialised; the limit is ${maxBytes} bytes`,
      });
    }
  });
}

/** A NUL or any surrogate: most strings have neither, and are done with one native scan. */
const SUSPECT = /[\u0000\ud800-\udfff]/;

/** Why PostgreSQL cannot store `text`, or undefined when it can: text and jsonb hold no NUL, and jsonb no unpaired surrogate. */
export function unstorable(text: string): string | undefined {
  if (!SUSPECT.test(text)) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) return 'must not contain the NUL character (U+0000)';
    if (c >= 0xd800 && c <= 0xdbff) {
      if (i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
      else return 'must not contain an unpaired surrogate';
    } else if (c >= 0xdc00 && c <= 0xdfff) return 'must not contain an unpaired surrogate';
  }
  return undefined;
}

/**
 * `text` with every character PostgreSQL cannot store (a NUL, an unpaired surrogate) replaced
 * by U+FFFD; `text` itself when it has none. For text Gantry writes on someone's behalf (a
 * step's error message, its output), which is kept as well as it can be rather than refused.
 */
export function storableText(text: string): string {
  if (unstorable(text) === undefined) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out += text.slice(i, i + 2);
      i++;
    } else if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) out += '\ufffd';
    else out += text[i];
  }
  return out;
}

/** `value` with {@link storableText} applied to each of its strings, keys included; `value` itself when none needs it. */
export function storableJson<T>(value: T): T {
  return anyUnstorable(value) ? (withStorableStrings(value) as T) : value;
}

function withStorableStrings(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(withStorableStrings);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableText(k), withStorableStrings(v)]));
  }
  return value;
}

/** A string of at most `max` characters that PostgreSQL can store ({@link unstorable}): free text from a client, refused at the edge otherwise. */
export function storableString(max: number) {
  return z.string().max(max).check((ctx) => {
    const why = unstorable(ctx.value);
    if (why !== undefined) ctx.issues.push({ code: 'custom', message: why, input: ctx.value });
  });
}

/**
 * True when `value` nests objects and arrays more than `max` levels deep (a bare object or
 * array is one level); it descends no further than that, so a value of any depth is checked
 * without deep recursion.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max <= 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (nestsDeeperThan(item, max - 1)) return true;
    return false;
  }
  for (const key in value) {
    if (Object.hasOwn(value, key) && nestsDeeperThan((value as Record<string, unknown>)[key], max - 1)) return true;
  }
  return false;
}

/** True when a string in `value` (keys included) is one PostgreSQL cannot store; allocates nothing. */
function anyUnstorable(value: unknown): boolean {
  if (typeof value === 'string') return unstorable(value) !== undefined;
  if (Array.isArray(value)) return value.some(anyUnstorable);
  if (typeof value === 'object' && value !== null) {
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      if (unstorable(key) !== undefined || anyUnstorable((value as Record<string, unknown>)[key])) return true;
    }
  }
  return false;
}

/** Every string in `value` (keys included) that PostgreSQL cannot store, with its path and why; a quick scan first, paths only when one is found. */
export function unstorableStrings(value: unknown, path: (string | number)[] = []): { path: (string | number)[]; message: string }[] {
  return anyUnstorable(value) ? pathsOfUnstorable(value, path) : [];
}

function pathsOfUnstorable(value: unknown, path: (string | number)[]): { path: (string | number)[]; message: string }[] {
  if (typeof value === 'string') {
    const why = unstorable(value);
    return why === undefined ? [] : [{ path, message: why }];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => pathsOfUnstorable(v, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => {
      const why = unstorable(k);
      return [...(why === undefined ? [] : [{ path: [...path, k], message: `its key ${why}` }]), ...pathsOfUnstorable(v, [...path, k])];
    });
  }
  return [];
}
