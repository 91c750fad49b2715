/** Values of a plan: sensitive and unknown marks, redaction, formatting. */
import { isLosslessNumber, stringify } from 'lossless-json';
import { parseJsonLosslessly, Plan, Change } from './plan';
import { Segment, truncate } from './markdown';

export const SENSITIVE = '(sensitive value)';
export const KNOWN_AFTER_APPLY = '(known after apply)';
export const ABSENT = '(none)';
/** Longest rendered value; longer ones (policies, scripts) are cut with an ellipsis. */
const MAX_VALUE_CHARS = 160;

/** Numbers are plain numbers, or LosslessNumber beyond a double's precision (see parse). */
const isNumber = (v: unknown): boolean => typeof v === 'number' || isLosslessNumber(v);
const numberText = (v: unknown): string => (isLosslessNumber(v) ? v.value : String(v));

export const isContainer = (v: unknown): v is Record<string, unknown> | unknown[] => v !== null && typeof v === 'object' && !isLosslessNumber(v);

/** Walks a before/after_sensitive or after_unknown structure: `true` marks the whole subtree. */
export function markAt(marks: unknown, key: Segment): unknown {
  if (marks === true) return true;
  if (isContainer(marks)) return (marks as Record<string, unknown>)[key as string];
  return undefined;
}

export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isNumber(a) && isNumber(b)) return numberText(a) === numberText(b);
  if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Whether an after_unknown mark says some part of the value is not known yet. */
export const hasUnknown = (marks: unknown): boolean => marks === true || (isContainer(marks) && Object.values(marks).some(hasUnknown));

/**
 * Masks what the plan marks sensitive, and copies of it that Terraform leaves unmarked: a
 * computed attribute that copies a sensitive input (terraform_data's `output`, a connection
 * string built from a password) carries the secret without a mark. The plan cannot tell a copy
 * from a coincidence, so every string and number marked sensitive anywhere (sensitive root
 * variables, sensitive outputs, marked resource attributes) is a secret, of any length, and is
 * masked wherever it appears: a number or string equal to a secret, and a string containing a
 * secret string. This masks too much when a secret is short or common (a sensitive `3` hides every
 * `3`), which is the safe side. Booleans and nulls are not collected: masking every `true` would
 * hide the plan; a marked boolean is still masked where it is marked.
 */
export class Redactor {
  private readonly strings = new Set<string>();
  private readonly numbers = new Set<string>();

  constructor(plan: Plan) {
    const declared = plan.configuration?.root_module?.variables ?? {};
    for (const [name, v] of Object.entries(plan.variables)) {
      if (declared[name]?.sensitive) this.collect(v.value, true);
    }
    for (const rc of [...plan.resource_changes, ...plan.resource_drift]) this.collectChange(rc.change);
    for (const oc of Object.values(plan.output_changes)) this.collectChange(oc);
  }

  private collectChange(c: Change): void {
    this.collect(c.before, c.before_sensitive);
    this.collect(c.after, c.after_sensitive);
  }

  private collect(value: unknown, marks: unknown): void {
    if (marks === true) {
      if (typeof value === 'string' && value !== '') this.strings.add(value);
      else if (isNumber(value)) this.numbers.add(numberText(value));
      else if (isContainer(value)) for (const v of Object.values(value)) this.collect(v, true);
      return;
    }
    if (isContainer(value) && isContainer(marks)) {
      for (const [k, v] of Object.entries(value)) this.collect(v, markAt(marks, k));
    }
  }

  /** Whether printing this scalar would reveal a secret. */
  hides(value: unknown): boolean {
    if (typeof value === 'string') {
      if (this.numbers.has(value)) return true;
      for (const secret of this.strings) if (value.includes(secret)) return true;
      return false;
    }
    if (isNumber(value)) return this.numbers.has(numberText(value)) || this.strings.has(numberText(value));
    return false;
  }
}

/** A copy of `value` with sensitive, leaking and unknown parts replaced by placeholders. */
function withPlaceholders(value: unknown, sensitive: unknown, unknown: unknown, redactor: Redactor): unknown {
  if (unknown === true) return KNOWN_AFTER_APPLY;
  if (sensitive === true || redactor.hides(value)) return SENSITIVE;
  if (Array.isArray(value)) return value.map((v, i) => withPlaceholders(v, markAt(sensitive, i), markAt(unknown, i), redactor));
  if (isContainer(value)) {
    const keys = new Set([...Object.keys(value), ...(isContainer(unknown) ? Object.keys(unknown).filter((k) => markAt(unknown, k) === true) : [])]);
    return Object.fromEntries(
      [...keys].sort().map((k) => [k, withPlaceholders((value as Record<string, unknown>)[k], markAt(sensitive, k), markAt(unknown, k), redactor)]),
    );
  }
  return value;
}

/** A value as printed in the comment: masked, JSON, cut to a readable length. */
export function formatValue(value: unknown, sensitive: unknown, redactor: Redactor, unknown?: unknown): string {
  if (unknown === true) return KNOWN_AFTER_APPLY;
  if (value === undefined || value === null) return sensitive === true ? SENSITIVE : ABSENT;
  const shown = withPlaceholders(value, sensitive, unknown, redactor);
  if (shown === SENSITIVE || shown === KNOWN_AFTER_APPLY) return shown;
  return truncate(stringify(shown) ?? String(shown), MAX_VALUE_CHARS);
}

/** The JSON document held in a string attribute (an IAM policy), or undefined. */
export function parseJsonDocument(s: unknown): unknown {
  if (typeof s !== 'string' || !/^\s*[[{]/.test(s)) return undefined;
  try {
    return parseJsonLosslessly(s);
  } catch {
    return undefined;
  }
}
