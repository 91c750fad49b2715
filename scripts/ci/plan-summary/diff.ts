/** Leaf-level differences between the before and after of a change. */
import { AttributePath, formatPath, Segment } from './markdown';
import { Change } from './plan';
import { ABSENT, formatValue, hasUnknown, isContainer, KNOWN_AFTER_APPLY, markAt, parseJsonDocument, Redactor, sameValue, SENSITIVE } from './values';

export interface AttributeChange {
  readonly path: string;
  /** Rendered values: already masked and truncated, safe to print. */
  readonly before: string;
  readonly after: string;
  readonly forcesReplacement: boolean;
}

/** Above this many before × after elements, lists are compared by position only. */
const MAX_ALIGNMENT_CELLS = 1_000_000;

/**
 * Pairs the elements of two lists: equal elements on a longest common subsequence are left out,
 * and between them removed and added elements are paired by position, the excess being pure
 * removals (`after` undefined) or additions (`before` undefined). The plan JSON does not say which
 * lists are sets, and this needs no schema: Terraform writes a set in a canonical sorted order, so
 * adding or removing members never reorders the others, and this alignment is exactly the
 * membership difference of a set. For a real list it is the diff Terraform itself shows.
 */
function alignLists(
  before: readonly unknown[],
  after: readonly unknown[],
  equal: (i: number, j: number) => boolean,
): Array<{ before?: number; after?: number }> {
  let start = 0;
  while (start < before.length && start < after.length && equal(start, start)) start++;
  let endB = before.length;
  let endA = after.length;
  while (endB > start && endA > start && equal(endB - 1, endA - 1)) {
    endB--;
    endA--;
  }
  const n = endB - start;
  const m = endA - start;
  const anchors: Array<[number, number]> = [];
  if (n > 0 && m > 0 && n * m <= MAX_ALIGNMENT_CELLS) {
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) lcs[i][j] = equal(start + i, start + j) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
    for (let i = 0, j = 0; i < n && j < m;) {
      if (equal(start + i, start + j)) anchors.push([start + i++, start + j++]);
      else if (lcs[i + 1][j] >= lcs[i][j + 1]) i++;
      else j++;
    }
  }
  anchors.push([endB, endA]);
  const pairs: Array<{ before?: number; after?: number }> = [];
  let i = start;
  let j = start;
  for (const [ai, aj] of anchors) {
    while (i < ai && j < aj) pairs.push({ before: i++, after: j++ });
    while (i < ai) pairs.push({ before: i++ });
    while (j < aj) pairs.push({ after: j++ });
    i = ai + 1;
    j = aj + 1;
  }
  return pairs;
}

function keysOf(...values: unknown[]): Segment[] {
  const arrays = values.filter(Array.isArray) as unknown[][];
  if (arrays.length > 0 && arrays.length === values.filter(isContainer).length) {
    return Array.from({ length: Math.max(...arrays.map((a) => a.length)) }, (_, i) => i);
  }
  const keys = new Set<string>();
  for (const v of values) if (isContainer(v) && !Array.isArray(v)) for (const k of Object.keys(v)) keys.add(k);
  return [...keys].sort();
}

/** Leaf-level differences between `before` and `after`, honouring sensitive and unknown marks. */
export function attributeChanges(change: Change, redactor: Redactor): AttributeChange[] {
  const out: AttributeChange[] = [];
  const replacePaths = (change.replace_paths ?? []).map((p) => p.join('\u0000'));
  const forces = (p: AttributePath) => {
    const key = p.attribute.join('\u0000');
    return replacePaths.some((r) => key === r || key.startsWith(`${r}\u0000`));
  };
  const push = (p: AttributePath, before: string, after: string) => out.push({ path: formatPath(p), before, after, forcesReplacement: forces(p) });
  const child = (p: AttributePath, k: Segment): AttributePath =>
    p.json ? { attribute: p.attribute, json: [...p.json, k] } : { attribute: [...p.attribute, k] };

  const walk = (p: AttributePath, b: unknown, a: unknown, bs: unknown, as: unknown, au: unknown): void => {
    if (bs === true || as === true) {
      if (au === true || !sameValue(b, a)) {
        push(p, b === undefined || b === null ? ABSENT : SENSITIVE, au === true ? KNOWN_AFTER_APPLY : a === undefined || a === null ? ABSENT : SENSITIVE);
      }
      return;
    }
    if (au === true) {
      push(p, formatValue(b, bs, redactor), KNOWN_AFTER_APPLY);
      return;
    }
    if (Array.isArray(b) && Array.isArray(a)) {
      const equal = (i: number, j: number) => sameValue(b[i], a[j]) && !hasUnknown(markAt(au, j));
      for (const pair of alignLists(b, a, equal)) {
        const i = pair.before;
        const j = pair.after;
        if (i === undefined) push(child(p, j!), ABSENT, formatValue(a[j!], markAt(as, j!), redactor, markAt(au, j!)));
        else if (j === undefined) push(child(p, i), formatValue(b[i], markAt(bs, i), redactor), ABSENT);
        else
          walk(
            child(p, j ?? i!),
            i === undefined ? undefined : b[i],
            j === undefined ? undefined : a[j],
            i === undefined ? undefined : markAt(bs, i),
            j === undefined ? undefined : markAt(as, j),
            j === undefined ? undefined : markAt(au, j),
          );
      }
      return;
    }
    const mismatched = isContainer(b) && isContainer(a) && Array.isArray(b) !== Array.isArray(a);
    const descend = !mismatched && (isContainer(b) || isContainer(a) || isContainer(au)) && (b == null || isContainer(b)) && (a == null || isContainer(a));
    if (descend) {
      for (const k of keysOf(b, a, au)) walk(child(p, k), markAt(b, k), markAt(a, k), markAt(bs, k), markAt(as, k), markAt(au, k));
      return;
    }
    if (b == null && a == null) return; // terraform does not distinguish null from absent
    if (sameValue(b, a)) return;
    const docB = parseJsonDocument(b);
    const docA = parseJsonDocument(a);
    if (!p.json && isContainer(docB) && isContainer(docA) && !redactor.hides(b) && !redactor.hides(a)) {
      const before = out.length;
      walk({ attribute: p.attribute, json: [] }, docB, docA, undefined, undefined, undefined);
      if (out.length > before) return; // only formatting differs otherwise: fall through and show it
    }
    push(p, formatValue(b, bs, redactor), formatValue(a, as, redactor));
  };

  walk({ attribute: [] }, change.before ?? undefined, change.after ?? undefined, change.before_sensitive, change.after_sensitive, change.after_unknown);
  return out;
}
