/**
 * Markdown helpers. Everything the plan supplies (addresses, map keys, ids, reasons) is printed
 * through `code` or `printable`, so no newline or markup in it can start a heading, a table row
 * or an HTML block such as a stray `</details>`.
 */

/** Control and line-separator characters, escaped as JSON does (`\n`, `\u2028`). */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return s.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, (ch) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** Inline code that survives backticks and newlines in the value. */
export function code(text: string): string {
  const s = printable(text);
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return longest > 0 ? `${fence} ${s} ${fence}` : `${fence}${s}${fence}`;
}

export function fenced(lang: string, body: string): string {
  const longest = Math.max(2, ...(body.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${body}\n${fence}`;
}

/** The one number format of the comment: 1,234 (independent of the machine's locale). */
export const formatCount = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export const plural = (n: number, one: string, many = `${one}s`): string => `${formatCount(n)} ${n === 1 ? one : many}`;

export const truncate = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

export type Segment = string | number;
/** `json` marks where a path continues inside a JSON document held in a string attribute. */
export interface AttributePath {
  readonly attribute: readonly Segment[];
  readonly json?: readonly Segment[];
}

/**
 * Terraform's own path syntax: `tags["kubernetes.io/role"]`, `ingress[0].cidr_blocks`. Keys that
 * are not identifiers are quoted with their newlines and quotes escaped.
 */
export function formatPath(p: AttributePath): string {
  const join = (segs: readonly Segment[]) =>
    segs
      .map((s, i) => {
        if (typeof s === 'number') return `[${s}]`;
        if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) return i === 0 ? s : `.${s}`;
        return `[${printable(JSON.stringify(s))}]`;
      })
      .join('');
  const attr = join(p.attribute) || '(value)';
  return p.json ? `${attr} → ${join(p.json) || '(document)'}` : attr;
}
