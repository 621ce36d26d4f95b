/**
 * DOM helpers of the console. Everything shown is built with `createElement` and text nodes:
 * no markup is ever parsed from data, so job names, output and error messages are shown as text.
 */

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'open']);

/**
 * Creates `<tag>` with attributes, event listeners (`onclick: fn`) and children (nodes, or text;
 * null, undefined and false are skipped).
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = String(value);
    else if (PROPS.has(name)) el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Appends nodes or text to `el`. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A status badge; `data-status` carries the raw status for styling and tests. */
export function badge(status) {
  return h('span', { class: `status s-${String(status).toLowerCase()}`, 'data-status': status }, status);
}

/** Milliseconds as `850 ms`, `12.3 s`, `4 min 5 s`. */
export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** An ISO instant as local date and time, or a dash. */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return h('time', { datetime: iso, title: iso }, d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' }));
}

/** An ISO instant as a local time of day (the full instant in its tooltip). */
export function clock(iso) {
  return h('time', { datetime: iso, title: iso }, new Date(iso).toLocaleTimeString(undefined, { hour12: false }));
}

/** Seconds as a short wait (`3.2 s`), or a dash. */
export function seconds(s) {
  return s === null || s === undefined ? '—' : duration(s * 1000);
}

/** A table with a header row and one row per item (`row(item)` returns cells). */
export function table(headings, items, row, empty = 'Nothing here.') {
  const body = items.length === 0
    ? [h('tr', {}, h('td', { class: 'empty', colspan: headings.length }, empty))]
    : items.map((item) => {
        const cells = row(item);
        const tr = h('tr', cells.attrs ?? {});
        for (const cell of cells.cells ?? cells) tr.append(cell instanceof HTMLTableCellElement ? cell : h('td', {}, cell));
        return tr;
      });
  return h('table', {}, h('thead', {}, h('tr', {}, headings.map((t) => h('th', {}, t)))), h('tbody', {}, body));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/**
 * Calls `load()` now and then every `ms` while the page is visible, until `signal` aborts.
 * Errors go to `onError`; the loop goes on (the API may come back).
 */
export async function poll(load, ms, signal, onError) {
  while (!signal.aborted) {
    if (!document.hidden) {
      try { await load(); } catch (err) { if (!signal.aborted) onError(err); }
    }
    await sleep(ms, signal);
  }
}
