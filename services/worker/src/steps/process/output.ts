/**
 * A running command's output, turned into `step.output` events and a tail.
 *
 * Invariants:
 * - each chunk is valid UTF-8 text of at most `maxChunkBytes` bytes (no multi-byte character is
 *   cut; NUL, which PostgreSQL cannot store in text, becomes U+FFFD);
 * - `offset` counts the bytes of the stream emitted before the chunk, so chunks of one stream
 *   concatenate in order without gaps;
 * - at most `maxStreamedBytes` bytes of a step's output become events; the rest is counted and
 *   kept in the tail only;
 * - the tail holds the last `maxTailBytes` bytes of both streams as they arrived.
 */
import { StringDecoder } from 'node:string_decoder';
import type { StepEvent } from '../types.js';

/** The output streams of a command. */
export type OutputStream = 'stdout' | 'stderr';

/** Options of an {@link OutputCollector}. */
export interface OutputOptions {
  readonly maxChunkBytes: number;
  readonly maxTailBytes: number;
  readonly maxStreamedBytes: number;
  /** Milliseconds between flushes of partial chunks. */
  readonly flushEveryMs: number;
  readonly emit: (event: StepEvent) => void;
  /** Writes what was emitted (the step context's flush). */
  readonly flush: () => Promise<void>;
}

/** What the output amounted to. */
export interface OutputSummary {
  readonly tail: string;
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  /** True when some output was not streamed as events. */
  readonly truncated: boolean;
}

/** UTF-8 bytes of the code unit at `i` of `s` (4 for a surrogate pair, counted on its first unit). */
function unitBytes(s: string, i: number): [bytes: number, units: number] {
  const c = s.charCodeAt(i);
  if (c < 0x80) return [1, 1];
  if (c < 0x800) return [2, 1];
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return [4, 2];
  }
  return [3, 1];
}

/** Splits `s` after at most `maxBytes` UTF-8 bytes without cutting a character: `[head, rest]`. */
export function takeUtf8(s: string, maxBytes: number): [string, string] {
  if (s.length * 3 <= maxBytes) return [s, ''];
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const [b, u] = unitBytes(s, i);
    if (bytes + b > maxBytes) break;
    bytes += b;
    i += u;
  }
  return [s.slice(0, i), s.slice(i)];
}

/** The last `maxBytes` bytes of `s`, starting at a character boundary. */
export function tailUtf8(s: string, maxBytes: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= maxBytes) return s;
  let start = buf.length - maxBytes;
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start += 1;
  return buf.subarray(start).toString('utf8');
}

const NUL = /\u0000/g;

/** See the module doc. */
export class OutputCollector {
  readonly #o: OutputOptions;
  readonly #decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  readonly #pending = { stdout: '', stderr: '' };
  readonly #offset = { stdout: 0, stderr: 0 };
  readonly #raw = { stdout: 0, stderr: 0 };
  #tail: string[] = [];
  #tailLength = 0;
  #streamed = 0;
  #truncated = false;
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;

  constructor(options: OutputOptions) {
    this.#o = options;
  }

  /** Takes `chunk` of `stream`. */
  write(stream: OutputStream, chunk: Buffer): void {
    this.#raw[stream] += chunk.length;
    const text = this.#decoders[stream].write(chunk).replace(NUL, '\uFFFD');
    if (text === '') return;
    this.#addTail(text);
    this.#pending[stream] += text;
    this.#emitFull(stream);
    this.#timer ??= setTimeout(() => this.#tick(), this.#o.flushEveryMs);
  }

  /** Emits what is left and returns the summary; the caller writes the last events with the step's end. */
  end(): OutputSummary {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.#decoders[stream].end().replace(NUL, '\uFFFD');
      if (rest !== '') {
        this.#addTail(rest);
        this.#pending[stream] += rest;
      }
      this.#emitAll(stream);
    }
    return {
      tail: tailUtf8(this.#tail.join(''), this.#o.maxTailBytes),
      stdoutBytes: this.#raw.stdout,
      stderrBytes: this.#raw.stderr,
      truncated: this.#truncated,
    };
  }

  #addTail(text: string): void {
    this.#tail.push(text);
    this.#tailLength += text.length;
    if (this.#tailLength > 2 * this.#o.maxTailBytes) {
      const kept = tailUtf8(this.#tail.join(''), this.#o.maxTailBytes);
      this.#tail = [kept];
      this.#tailLength = kept.length;
    }
  }

  #tick(): void {
    this.#timer = undefined;
    this.#emitAll('stdout');
    this.#emitAll('stderr');
    if (!this.#dirty) return;
    this.#dirty = false;
    this.#o.flush().catch(() => undefined);
  }

  /** Emits the full chunks of `stream`, keeping a partial one pending. */
  #emitFull(stream: OutputStream): void {
    while (Buffer.byteLength(this.#pending[stream], 'utf8') >= this.#o.maxChunkBytes) {
      const [head, rest] = takeUtf8(this.#pending[stream], this.#o.maxChunkBytes);
      this.#pending[stream] = rest;
      this.#emit(stream, head);
    }
  }

  #emitAll(stream: OutputStream): void {
    this.#emitFull(stream);
    const rest = this.#pending[stream];
    this.#pending[stream] = '';
    if (rest !== '') this.#emit(stream, rest);
  }

  #emit(stream: OutputStream, chunk: string): void {
    const bytes = Buffer.byteLength(chunk, 'utf8');
    if (this.#truncated || this.#streamed + bytes > this.#o.maxStreamedBytes) {
      this.#truncated = true;
      return;
    }
    this.#o.emit({ type: 'step.output', payload: { stream, offset: this.#offset[stream], chunk } });
    this.#offset[stream] += bytes;
    this.#streamed += bytes;
    this.#dirty = true;
  }
}
