/**
 * Human output: aligned text tables, durations, ages and progress bars. Everything here is
 * plain text (no colour), so it reads the same in a terminal, a log file and a test.
 */

/**
 * Characters a terminal acts on rather than shows: C0 controls but the tab (ESC starts the
 * sequences that move the cursor, rewrite lines, set the window title or the clipboard), DEL,
 * C1 controls (0x9b is a one-byte CSI in some terminals), and the bidirectional overrides and
 * isolates that make text read other than it is.
 */
const UNPRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` safe to print to a terminal: each character of {@link UNPRINTABLE} written out, C0
 * controls in caret notation as `cat -v` does (`^[` for ESC, `^J` for a newline), the rest as
 * `\uXXXX`. Every string that comes from a job (names, output, messages, reasons) goes through
 * it before a human-readable line is printed: whoever may submit a job must not drive the
 * terminal of whoever watches it.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
    if (code === 0x7f) return '^?';
    return `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** One column of a table: its heading and how to show a row's cell. */
export interface Column<T> {
  readonly header: string;
  readonly cell: (row: T) => string;
  /** Right-align (numbers). */
  readonly right?: boolean;
}

/** Rows as lines of aligned columns, headed by the column names; no trailing spaces. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string[] {
  const cells = rows.map((r) => columns.map((c) => printable(c.cell(r).replace(/\s+/g, ' '))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (columns[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)];
}

/** `1.2s`, `3m04s`, `2h05m`, `45ms` from milliseconds. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = ms / 1_000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** How long ago `iso` was, e.g. `3m04s ago`; `-` for none. */
export function formatAge(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  return `${formatDuration(now - Date.parse(iso))} ago`;
}

/** An ISO instant shortened to `2025-01-31 12:00:01`. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+/, '').replace(/(Z|[+-]\d\d:\d\d)$/, '');
}

/** A bar of `width` cells, `percent` (0–100) of them filled: `[######----]`. */
export function progressBar(percent: number, width = 20): string {
  const clamped = Math.max(0, Math.min(100, percent));
  const filled = Math.round((clamped / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** An indeterminate bar for work of unknown length: a block of 4 sweeping at `tick`. */
export function busyBar(tick: number, width = 20): string {
  const span = 4;
  const travel = width - span;
  const pos = travel <= 0 ? 0 : Math.abs(((tick % (2 * travel)) + 2 * travel) % (2 * travel) - travel);
  return `[${'-'.repeat(travel - pos)}${'='.repeat(Math.min(span, width))}${'-'.repeat(pos)}]`.slice(0, width + 2);
}

/** Prints `value` as JSON on one line (what `--json` prints). */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value);
}
