/** JSON values and their serialised size, shared by the schemas. */
import { z } from 'zod';

const encoder = new TextEncoder();

/** Bytes of `value` serialised as UTF-8 JSON. */
export function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value) ?? '').length;
}

/** Any JSON object (a record of JSON values). */
export const JsonObject = z.record(z.string(), z.json());
export type JsonObject = z.infer<typeof JsonObject>;

/** A JSON object no larger than `maxBytes` once serialised. */
export function boundedJsonObject(maxBytes: number, what: string) {
  return JsonObject.check((ctx) => {
    const bytes = jsonBytes(ctx.value);
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
