/**
 * What a PromQL expression refers to: its series selectors (metric name and label matchers) and
 * the label names it groups or matches on (`by`, `without`, `on`, `ignoring`, `group_left`,
 * `group_right`). A tokenizer, not a parser: whether an expression is valid PromQL is left to
 * promtool (`promtool check rules`), which parses it with Prometheus's own parser.
 *
 * Grafana's variables (`$namespace`, `${service}`, `$__rate_interval`) are not PromQL;
 * {@link substituteGrafanaVariables} replaces them with sample values first.
 */

/** A label matcher of a selector. */
export interface Matcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** A series selector: `name{matchers}`; `name` is '' when the selector names no metric. */
export interface Selector {
  readonly name: string;
  readonly matchers: readonly Matcher[];
}

/** Everything an expression refers to. */
export interface QueryRefs {
  readonly selectors: readonly Selector[];
  /** Label names in `by`, `without`, `on`, `ignoring`, `group_left`, `group_right` lists. */
  readonly groupingLabels: readonly string[];
}

type TokenKind = 'ident' | 'string' | 'number' | 'duration' | 'punct';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
}

const DURATION = /^(?:\d+(?:ms|[smhdwy]))+/;
const NUMBER = /^(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/;
const IDENT = /^[a-zA-Z_][a-zA-Z0-9_:]*/;
const PUNCT = ['==', '!=', '=~', '!~', '<=', '>=', '(', ')', '{', '}', '[', ']', ',', '+', '-', '*', '/', '%', '^', '<', '>', '=', '@', ':'];

function unquote(raw: string): string {
  if (raw.startsWith('`')) return raw.slice(1, -1);
  return raw.slice(1, -1).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/** Splits `expr` into tokens; throws on a character PromQL does not allow. */
export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '#') {
      const nl = rest.indexOf('\n');
      i += nl < 0 ? rest.length : nl;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = 1;
      while (j < rest.length && rest[j] !== c) j += c !== '`' && rest[j] === '\\' ? 2 : 1;
      if (j >= rest.length) throw new Error(`unterminated string in: ${expr}`);
      tokens.push({ kind: 'string', text: unquote(rest.slice(0, j + 1)) });
      i += j + 1;
    } else {
      const m = DURATION.exec(rest) ?? undefined;
      const n = m ? undefined : (NUMBER.exec(rest) ?? undefined);
      const id = m || n ? undefined : (IDENT.exec(rest) ?? undefined);
      const p = m || n || id ? undefined : PUNCT.find((op) => rest.startsWith(op));
      if (m) tokens.push({ kind: 'duration', text: m[0] });
      else if (n) tokens.push({ kind: 'number', text: n[0] });
      else if (id) tokens.push({ kind: 'ident', text: id[0] });
      else if (p) tokens.push({ kind: 'punct', text: p });
      else throw new Error(`unexpected ${JSON.stringify(c)} in: ${expr}`);
      i += (m?.[0] ?? n?.[0] ?? id?.[0] ?? p!).length;
    }
  }
  return tokens;
}

const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);
const AGGREGATORS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio',
]);
const MATCH_OPS = new Set(['=', '!=', '=~', '!~']);

/** The selectors and grouping labels of `expr` (after Grafana substitution, if any). */
export function queryRefs(expr: string): QueryRefs {
  const t = tokenize(expr);
  const selectors: Selector[] = [];
  const groupingLabels = new Set<string>();
  const at = (k: number) => t[k];
  const isPunct = (k: number, text: string) => at(k)?.kind === 'punct' && at(k)?.text === text;

  const readMatchers = (start: number): { matchers: Matcher[]; next: number } => {
    const matchers: Matcher[] = [];
    let k = start + 1;
    while (!isPunct(k, '}')) {
      const label = at(k);
      const op = at(k + 1);
      const value = at(k + 2);
      if (label?.kind !== 'ident' && label?.kind !== 'string') throw new Error(`bad label matcher in: ${expr}`);
      if (op?.kind !== 'punct' || !MATCH_OPS.has(op.text) || value?.kind !== 'string') throw new Error(`bad label matcher in: ${expr}`);
      matchers.push({ label: label.text, op: op.text as Matcher['op'], value: value.text });
      k += 3;
      if (isPunct(k, ',')) k += 1;
      else if (!isPunct(k, '}')) throw new Error(`bad label matcher list in: ${expr}`);
    }
    return { matchers, next: k + 1 };
  };

  let k = 0;
  while (k < t.length) {
    const tok = t[k]!;
    if (tok.kind === 'punct' && tok.text === '[') {
      while (k < t.length && !isPunct(k, ']')) k += 1;
      k += 1;
    } else if (tok.kind === 'punct' && tok.text === '{') {
      const { matchers, next } = readMatchers(k);
      const name = matchers.find((m) => m.label === '__name__' && m.op === '=')?.value ?? '';
      selectors.push({ name, matchers: matchers.filter((m) => m.label !== '__name__') });
      k = next;
    } else if (tok.kind === 'ident') {
      const lower = tok.text.toLowerCase();
      if (LABEL_LISTS.has(lower)) {
        k += 1;
        if (isPunct(k, '(')) {
          k += 1;
          while (k < t.length && !isPunct(k, ')')) {
            if (at(k)!.kind === 'ident') groupingLabels.add(at(k)!.text);
            k += 1;
          }
          k += 1;
        }
      } else if (KEYWORDS.has(lower) || isPunct(k + 1, '(') || (AGGREGATORS.has(lower) && /^(by|without)$/i.test(at(k + 1)?.text ?? ''))) {
        k += 1;
      } else if (isPunct(k + 1, '{')) {
        const { matchers, next } = readMatchers(k + 1);
        selectors.push({ name: tok.text, matchers });
        k = next;
      } else {
        selectors.push({ name: tok.text, matchers: [] });
        k += 1;
      }
    } else {
      k += 1;
    }
  }
  return { selectors, groupingLabels: [...groupingLabels] };
}

/** Durations for Grafana's interval variables when an expression is checked outside Grafana. */
const INTERVALS: Readonly<Record<string, string>> = { __rate_interval: '2m', __interval: '30s', __range: '6h' };

/** Replaces Grafana variables: intervals by durations, every other variable by `value`. */
export function substituteGrafanaVariables(expr: string, value = 'gantry'): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => INTERVALS[(a ?? b)!] ?? value);
}

/** A Grafana `label_values(selector, label)` variable query as PromQL with the same references. */
export function labelValuesAsQuery(query: string): string {
  const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/s.exec(query.trim());
  if (!m) throw new Error(`not a label_values(selector, label) query: ${query}`);
  return `count by (${m[2]}) (${m[1]})`;
}
