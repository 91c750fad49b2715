/**
 * Schema compatibility, `buf breaking` style, over the JSON Schemas the contracts register
 * (./versions.ts generates them with zod's `z.toJSONSchema`). Pure: no I/O, no zod.
 *
 * The one question it answers is: can a reader with schema R read every value that a writer
 * with schema W may produce? That is, is W a subset of R? The registry modes are built from it:
 * BACKWARD asks it with R = the new version and W = the old one (new readers read old data),
 * FORWARD the other way round (old readers read new data), FULL both ways.
 *
 * Every answer "no" names the field path and the rule it breaks. The checker understands this
 * subset of JSON Schema (draft-07, what zod emits for objects, primitives, enums and records):
 *
 *   type (a name or a list), enum, const, anyOf (as a node's only validation keyword),
 *   minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers, draft-06+), multipleOf,
 *   minLength, maxLength, pattern, format,
 *   properties, required, additionalProperties (boolean or schema), propertyNames,
 *   minProperties, maxProperties,
 *   items (one schema), minItems, maxItems, uniqueItems,
 *   boolean schemas, and the annotations $schema, $id, $comment, title, description, default,
 *   examples, readOnly, writeOnly, deprecated (which do not constrain data).
 *
 * Any other keyword (oneOf, allOf, not, if/then/else, $ref, definitions, patternProperties,
 * dependencies, contains, tuple `items`, additionalItems, ...) is reported as "not understood":
 * the check fails closed rather than pass a change it cannot judge. Patterns and formats are
 * compared by equality (regular-language inclusion is out of reach), so changing one is reported
 * even when the new pattern happens to be wider.
 */

export type JsonSchema = boolean | JsonSchemaObject;
export interface JsonSchemaObject {
  readonly [keyword: string]: unknown;
}

/** The rule an incompatibility breaks, as `buf breaking` names its rules. */
export type CompatibilityRule =
  /** The reader requires a field that the writer's data may lack (added, or made required). */
  | 'FIELD_REQUIRED'
  /** The writer's data has a type the reader does not accept (changed, or narrowed number to integer). */
  | 'TYPE_CHANGED'
  /** The reader accepts fewer enum or const values than the writer produces. */
  | 'ENUM_NARROWED'
  /** A numeric, length, size or multipleOf bound of the reader excludes values the writer allows. */
  | 'RANGE_NARROWED'
  /** The reader's pattern or format differs from the writer's, so the writer's strings may not match. */
  | 'PATTERN_CHANGED'
  /** The writer's data may carry a field that the reader does not allow (a closed object). */
  | 'FIELD_NOT_ALLOWED'
  /** The writer's value fits none of the reader's `anyOf` alternatives. */
  | 'NO_MATCHING_ALTERNATIVE'
  /** A keyword or keyword form the checker does not understand: it fails closed. */
  | 'NOT_UNDERSTOOD';

export interface Incompatibility {
  /** Dotted field path from the event's root: `tags.*` is any key of `tags`, `list[]` any item. '' is the root. */
  readonly path: string;
  readonly rule: CompatibilityRule;
  /** What breaks, naming both sides by their labels, e.g. `is required but v1 data does not have it`. */
  readonly detail: string;
}

/** How the two sides are named in the details, e.g. `{ reader: 'v2', writer: 'v1' }`. */
export interface SideLabels {
  readonly reader: string;
  readonly writer: string;
}

/** "field 'a.b'" for a path, "the event" for the root. */
export const fieldLabel = (path: string): string => (path === '' ? 'the event' : `field '${path}'`);

const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'description', 'default', 'examples', 'readOnly', 'writeOnly', 'deprecated']);
const VALIDATION = new Set([
  'type',
  'enum',
  'const',
  'anyOf',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'minProperties',
  'maxProperties',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
]);
const TYPES = ['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'] as const;
type JsonType = (typeof TYPES)[number];

/**
 * Everything in `schema` the checker does not understand, with its path: unknown keywords and
 * known keywords in a form it does not handle. `label`, if given, names the schema in the details.
 */
export function notUnderstood(schema: JsonSchema, label?: string, path = ''): Incompatibility[] {
  if (typeof schema === 'boolean') return [];
  if (!isObject(schema)) return [unclear(path, label, 'is not a JSON Schema (neither an object nor a boolean)')];
  const out: Incompatibility[] = [];
  const validation = Object.keys(schema).filter((k) => !ANNOTATIONS.has(k));
  for (const k of validation) if (!VALIDATION.has(k)) out.push(unclear(path, label, `uses keyword '${k}', which the checker does not understand`));
  const bad = (what: string) => out.push(unclear(path, label, what));

  if ('type' in schema && typesIn(schema.type) === undefined) bad(`has 'type' ${JSON.stringify(schema.type)}, not a JSON type name or a list of them`);
  if ('enum' in schema && !Array.isArray(schema.enum)) bad("has an 'enum' that is not a list");
  if ('anyOf' in schema) {
    if (!Array.isArray(schema.anyOf) || schema.anyOf.length === 0) bad("has an 'anyOf' that is not a non-empty list");
    else {
      const siblings = validation.filter((k) => k !== 'anyOf');
      if (siblings.length > 0) bad(`combines 'anyOf' with ${siblings.map((k) => `'${k}'`).join(', ')}, which the checker does not understand`);
      schema.anyOf.forEach((branch) => out.push(...notUnderstood(branch as JsonSchema, label, path)));
    }
  }
  for (const k of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'] as const) {
    if (k in schema && typeof schema[k] !== 'number') bad(`has a non-numeric '${k}' (draft-04 boolean exclusive bounds are not understood)`);
  }
  for (const k of ['minLength', 'maxLength', 'minProperties', 'maxProperties', 'minItems', 'maxItems'] as const) {
    if (k in schema && !(Number.isInteger(schema[k]) && (schema[k] as number) >= 0)) bad(`has a '${k}' that is not a whole number`);
  }
  if ('pattern' in schema && (typeof schema.pattern !== 'string' || !compiles(schema.pattern)))
    bad("has a 'pattern' that is not an ECMA-262 regular expression");
  if ('format' in schema && typeof schema.format !== 'string') bad("has a 'format' that is not a string");
  if ('uniqueItems' in schema && typeof schema.uniqueItems !== 'boolean') bad("has a 'uniqueItems' that is not a boolean");
  if ('required' in schema && !(Array.isArray(schema.required) && schema.required.every((r) => typeof r === 'string')))
    bad("has a 'required' that is not a list of names");
  if ('properties' in schema) {
    if (!isObject(schema.properties)) bad("has 'properties' that is not an object");
    else for (const [name, sub] of Object.entries(schema.properties)) out.push(...notUnderstood(sub as JsonSchema, label, child(path, name)));
  }
  for (const [k, sub] of [
    ['additionalProperties', child(path, '*')],
    ['propertyNames', `${path}{key}`],
    ['items', `${path}[]`],
  ] as const) {
    if (!(k in schema)) continue;
    const value = schema[k];
    if (k === 'items' && Array.isArray(value)) bad("uses tuple 'items' (a list of schemas), which the checker does not understand");
    else if (typeof value !== 'boolean' && !isObject(value)) bad(`has a '${k}' that is not a schema`);
    else out.push(...notUnderstood(value as JsonSchema, label, sub));
  }
  return out;
}

/**
 * Why data written under `writer` may not be readable under `reader`; empty when every value
 * `writer` allows, `reader` allows too. Schemas with keywords the checker does not understand
 * are reported as such and not compared further.
 */
export function readIncompatibilities(reader: JsonSchema, writer: JsonSchema, labels: SideLabels): Incompatibility[] {
  const unclearParts = [...notUnderstood(writer, labels.writer), ...notUnderstood(reader, labels.reader)];
  if (unclearParts.length > 0) return unclearParts;
  const out: Incompatibility[] = [];
  new Comparison(labels, out).compare(reader, writer, '');
  return out;
}

class Comparison {
  constructor(
    private readonly labels: SideLabels,
    private readonly out: Incompatibility[],
  ) {}

  private push(path: string, rule: CompatibilityRule, detail: string): void {
    this.out.push({ path, rule, detail });
  }

  compare(readerSchema: JsonSchema, writerSchema: JsonSchema, path: string): void {
    const { reader: R, writer: W } = this.labels;
    if (readerSchema === true || (isObject(readerSchema) && Object.keys(readerSchema).every((k) => ANNOTATIONS.has(k)))) return;
    if (writerSchema === false) return;
    if (readerSchema === false) return this.push(path, 'FIELD_NOT_ALLOWED', `may be in ${W} data, but ${R} allows no value there`);
    const r = readerSchema as JsonSchemaObject;
    const w: JsonSchemaObject = writerSchema === true ? {} : writerSchema;

    // A writer with finitely many values: check each value against the reader.
    const finite = finiteValues(w);
    if (finite) {
      for (const value of finite) {
        const why = rejection(r, value);
        if (why !== undefined) this.push(path, 'ENUM_NARROWED', `${W} value ${JSON.stringify(value)} is not accepted by ${R}: ${why}`);
      }
      return;
    }
    if (Array.isArray(w.anyOf)) {
      for (const branch of w.anyOf) this.compare(r, branch as JsonSchema, path);
      return;
    }
    if (Array.isArray(r.anyOf)) return this.compareAlternatives(r.anyOf as JsonSchema[], w, path);
    const readerValues = finiteValues(r);
    if (readerValues) {
      return this.push(
        path,
        'ENUM_NARROWED',
        `${R} accepts only ${readerValues.map((v) => JSON.stringify(v)).join(', ')}, and ${W} data is not limited to those`,
      );
    }

    const writerTypes = typesIn(w.type) ?? [...TYPES];
    const readerTypes = typesIn(r.type) ?? [...TYPES];
    const accepted = writerTypes.filter((t) => typeAccepts(readerTypes, t));
    if (accepted.length < writerTypes.length) {
      const has = w.type === undefined ? 'may be of any type' : `is ${writerTypes.join(' or ')}`;
      this.push(path, 'TYPE_CHANGED', `changed type: ${W} data ${has}, ${R} reads ${readerTypes.join(' or ')}`);
    }
    if (accepted.includes('number') || accepted.includes('integer')) this.compareNumbers(r, w, !accepted.includes('number'), path);
    if (accepted.includes('string')) this.compareStrings(r, w, path);
    if (accepted.includes('object')) this.compareObjects(r, w, path);
    if (accepted.includes('array')) this.compareArrays(r, w, path);
  }

  private compareAlternatives(alternatives: JsonSchema[], w: JsonSchemaObject, path: string): void {
    const attempts = alternatives.map((alt) => {
      const found: Incompatibility[] = [];
      new Comparison(this.labels, found).compare(alt, w, path);
      return found;
    });
    if (attempts.some((a) => a.length === 0)) return;
    const closest = attempts.reduce((a, b) => (b.length < a.length ? b : a));
    const { reader: R, writer: W } = this.labels;
    this.push(path, 'NO_MATCHING_ALTERNATIVE', `${W} data fits none of ${R}'s ${alternatives.length} alternatives (closest: ${summarize(closest[0])})`);
  }

  private compareNumbers(r: JsonSchemaObject, w: JsonSchemaObject, integersOnly: boolean, path: string): void {
    const { reader: R, writer: W } = this.labels;
    const bound = (side: JsonSchemaObject, end: 'lower' | 'upper') => numericBound(side, end, integersOnly);
    this.compareBounds(path, 'value', bound(r, 'lower'), bound(w, 'lower'), 'lower');
    this.compareBounds(path, 'value', bound(r, 'upper'), bound(w, 'upper'), 'upper');
    if (typeof r.multipleOf === 'number') {
      const step = r.multipleOf;
      const writerStep = typeof w.multipleOf === 'number' ? w.multipleOf : integersOnly ? 1 : undefined;
      if (writerStep === undefined || !isMultiple(writerStep, step)) {
        const allows = typeof w.multipleOf === 'number' ? `multiples of ${w.multipleOf}` : integersOnly ? 'any integer' : 'any number';
        this.push(path, 'RANGE_NARROWED', `range narrowed: ${R} requires multiples of ${step}, ${W} allows ${allows}`);
      }
    }
  }

  private compareStrings(r: JsonSchemaObject, w: JsonSchemaObject, path: string): void {
    const { reader: R, writer: W } = this.labels;
    this.compareBounds(path, 'length', countBound(r.minLength), countBound(w.minLength) ?? { value: 0, exclusive: false }, 'lower');
    this.compareBounds(path, 'length', countBound(r.maxLength), countBound(w.maxLength), 'upper');
    for (const k of ['pattern', 'format'] as const) {
      if (typeof r[k] !== 'string' || r[k] === w[k]) continue;
      const has = typeof w[k] === 'string' ? `has ${k} ${show(k, w[k] as string)}` : `has no ${k}`;
      this.push(path, 'PATTERN_CHANGED', `${R} requires ${k} ${show(k, r[k] as string)}, ${W} ${has}; the checker cannot prove ${W} strings match it`);
    }
  }

  private compareObjects(r: JsonSchemaObject, w: JsonSchemaObject, path: string): void {
    const { reader: R, writer: W } = this.labels;
    const readerProps = (r.properties ?? {}) as Record<string, JsonSchema>;
    const writerProps = (w.properties ?? {}) as Record<string, JsonSchema>;
    const readerRequired = new Set((r.required ?? []) as string[]);
    const writerRequired = new Set((w.required ?? []) as string[]);
    const readerExtra = (r.additionalProperties ?? true) as JsonSchema;
    const writerExtra = (w.additionalProperties ?? true) as JsonSchema;
    const writerNames = (w.propertyNames ?? true) as JsonSchema;

    for (const name of readerRequired) {
      if (writerRequired.has(name)) continue;
      const detail =
        name in writerProps
          ? `is required by ${R} but optional in ${W}`
          : writerExtra === false
            ? `is required but ${W} data does not have it`
            : `is required but ${W} data need not have it`;
      this.push(child(path, name), 'FIELD_REQUIRED', detail);
    }

    for (const [name, writerField] of Object.entries(writerProps)) {
      if (writerField === false) continue;
      const at = child(path, name);
      const nameWhy = r.propertyNames === undefined ? undefined : rejection(r.propertyNames as JsonSchema, name);
      if (nameWhy !== undefined) this.push(at, 'FIELD_NOT_ALLOWED', `may be in ${W} data, but ${R} does not accept its name: ${nameWhy}`);
      if (name in readerProps) this.compare(readerProps[name], writerField, at);
      else if (readerExtra === false) {
        this.push(at, 'FIELD_NOT_ALLOWED', `${writerRequired.has(name) ? 'is' : 'may be'} in ${W} data, but ${R} does not allow additional properties`);
      } else this.compare(readerExtra, writerField, at);
    }

    if (writerExtra !== false) {
      // An open writer may put any value under a name only the reader declares.
      for (const [name, readerField] of Object.entries(readerProps)) {
        if (!(name in writerProps) && rejection(writerNames, name) === undefined) this.compare(readerField, writerExtra, child(path, name));
      }
      const declared = Object.keys(writerProps);
      if (readerExtra === false) {
        const besides = declared.length > 0 ? `fields besides ${declared.map((n) => `'${n}'`).join(', ')}` : 'any fields';
        this.push(child(path, '*'), 'FIELD_NOT_ALLOWED', `${W} data may have ${besides}, but ${R} does not allow additional properties`);
      } else {
        this.compare(readerExtra, writerExtra, child(path, '*'));
        if (r.propertyNames !== undefined) this.compare(r.propertyNames as JsonSchema, stringNames(writerNames), `${path}{key}`);
      }
    }

    const writerMin = Math.max(typeof w.minProperties === 'number' ? w.minProperties : 0, writerRequired.size);
    const writerMax = typeof w.maxProperties === 'number' ? w.maxProperties : writerExtra === false ? Object.keys(writerProps).length : undefined;
    this.compareBounds(path, 'properties', countBound(r.minProperties), { value: writerMin, exclusive: false }, 'lower');
    this.compareBounds(path, 'properties', countBound(r.maxProperties), countBound(writerMax), 'upper');
  }

  private compareArrays(r: JsonSchemaObject, w: JsonSchemaObject, path: string): void {
    const { reader: R, writer: W } = this.labels;
    this.compare((r.items ?? true) as JsonSchema, (w.items ?? true) as JsonSchema, `${path}[]`);
    this.compareBounds(path, 'items', countBound(r.minItems), countBound(w.minItems) ?? { value: 0, exclusive: false }, 'lower');
    this.compareBounds(path, 'items', countBound(r.maxItems), countBound(w.maxItems), 'upper');
    if (r.uniqueItems === true && w.uniqueItems !== true) this.push(path, 'RANGE_NARROWED', `${R} requires unique items, ${W} allows duplicates`);
  }

  /** Does the writer's bound lie within the reader's? An absent bound is unbounded. */
  private compareBounds(path: string, noun: string, reader: Bound | undefined, writer: Bound | undefined, end: 'lower' | 'upper'): void {
    if (reader === undefined) return;
    if (writer !== undefined) {
      const inside = end === 'lower' ? writer.value > reader.value : writer.value < reader.value;
      if (inside || (writer.value === reader.value && (!reader.exclusive || writer.exclusive))) return;
    }
    const { reader: R, writer: W } = this.labels;
    const allows = writer === undefined ? `any ${noun}` : `${noun} ${boundText(writer, end)}`;
    this.push(path, 'RANGE_NARROWED', `range narrowed: ${R} requires ${noun} ${boundText(reader, end)}, ${W} allows ${allows}`);
  }
}

interface Bound {
  readonly value: number;
  readonly exclusive: boolean;
}

const boundText = (b: Bound, end: 'lower' | 'upper'): string => `${end === 'lower' ? (b.exclusive ? '>' : '>=') : b.exclusive ? '<' : '<='} ${b.value}`;

function numericBound(s: JsonSchemaObject, end: 'lower' | 'upper', integersOnly: boolean): Bound | undefined {
  const inclusive = (end === 'lower' ? s.minimum : s.maximum) as number | undefined;
  const exclusive = (end === 'lower' ? s.exclusiveMinimum : s.exclusiveMaximum) as number | undefined;
  let bound: Bound | undefined;
  if (inclusive !== undefined) bound = { value: inclusive, exclusive: false };
  if (exclusive !== undefined && (bound === undefined || (end === 'lower' ? exclusive >= bound.value : exclusive <= bound.value))) {
    bound = { value: exclusive, exclusive: true };
  }
  if (bound === undefined || !integersOnly) return bound;
  // Over integers only, `> 0` and `>= 1` are the same set.
  if (end === 'lower') return { value: bound.exclusive ? Math.floor(bound.value) + 1 : Math.ceil(bound.value), exclusive: false };
  return { value: bound.exclusive ? Math.ceil(bound.value) - 1 : Math.floor(bound.value), exclusive: false };
}

const countBound = (value: unknown): Bound | undefined => (typeof value === 'number' ? { value, exclusive: false } : undefined);

const isMultiple = (value: number, step: number): boolean => {
  const q = value / step;
  return Math.abs(q - Math.round(q)) < 1e-9;
};

/** Property names of a writer: strings, further limited by its `propertyNames`. */
const stringNames = (names: JsonSchema): JsonSchema =>
  names === true ? { type: 'string' } : isObject(names) && names.type === undefined ? { ...names, type: 'string' } : names;

const show = (keyword: 'pattern' | 'format', value: string) => (keyword === 'pattern' ? `/${value}/` : `'${value}'`);

function summarize(i: Incompatibility | undefined): string {
  return i === undefined ? 'none' : `${fieldLabel(i.path)} ${i.detail}`;
}

function child(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function unclear(path: string, label: string | undefined, what: string): Incompatibility {
  return { path, rule: 'NOT_UNDERSTOOD', detail: `${label === undefined ? '' : `in ${label} `}${what} (fails closed)` };
}

function isObject(v: unknown): v is JsonSchemaObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typesIn(type: unknown): JsonType[] | undefined {
  if (type === undefined) return undefined;
  const list = Array.isArray(type) ? type : [type];
  return list.length > 0 && list.every((t) => (TYPES as readonly unknown[]).includes(t)) ? (list as JsonType[]) : undefined;
}

/** Integers are numbers: a reader of numbers reads integers. */
const typeAccepts = (readerTypes: readonly JsonType[], t: JsonType): boolean => readerTypes.includes(t) || (t === 'integer' && readerTypes.includes('number'));

/** The values of an `enum` or `const` node, which a writer can produce no others than. */
function finiteValues(s: JsonSchemaObject): unknown[] | undefined {
  if ('const' in s) return [s.const];
  return Array.isArray(s.enum) ? s.enum : undefined;
}

/** JSON Schema patterns are ECMA-262 regular expressions; Unicode mode where the pattern allows it. */
function regExpOf(pattern: string): RegExp | undefined {
  for (const flags of ['u', '']) {
    try {
      return new RegExp(pattern, flags);
    } catch {
      // the next flags, or not a regular expression at all
    }
  }
  return undefined;
}
const compiles = (pattern: string): boolean => regExpOf(pattern) !== undefined;
const matches = (pattern: string, value: string): boolean => regExpOf(pattern)?.test(value) ?? false;

function jsonTypeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonType;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Why `schema` rejects the literal `value`, or undefined when it accepts it (the understood keywords only). */
function rejection(schema: JsonSchema, value: unknown): string | undefined {
  if (schema === true) return undefined;
  if (schema === false) return 'no value is allowed';
  const s = schema;
  const values = finiteValues(s);
  if (values && !values.some((v) => deepEqual(v, value))) return `not one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (Array.isArray(s.anyOf) && s.anyOf.every((alt) => rejection(alt as JsonSchema, value) !== undefined)) return 'matches none of the alternatives';
  const types = typesIn(s.type);
  const t = jsonTypeOf(value);
  if (types && !typeAccepts(types, t)) return `is ${t}, not ${types.join(' or ')}`;
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) return `is below the minimum ${s.minimum}`;
    if (typeof s.maximum === 'number' && value > s.maximum) return `is above the maximum ${s.maximum}`;
    if (typeof s.exclusiveMinimum === 'number' && value <= s.exclusiveMinimum) return `is not above ${s.exclusiveMinimum}`;
    if (typeof s.exclusiveMaximum === 'number' && value >= s.exclusiveMaximum) return `is not below ${s.exclusiveMaximum}`;
    if (typeof s.multipleOf === 'number' && !isMultiple(value, s.multipleOf)) return `is not a multiple of ${s.multipleOf}`;
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof s.minLength === 'number' && length < s.minLength) return `is shorter than ${s.minLength}`;
    if (typeof s.maxLength === 'number' && length > s.maxLength) return `is longer than ${s.maxLength}`;
    if (typeof s.pattern === 'string' && !matches(s.pattern, value)) return `does not match /${s.pattern}/`;
    if (typeof s.format === 'string') return `format '${s.format}' cannot be checked on a value`;
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) return `has fewer than ${s.minItems} items`;
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) return `has more than ${s.maxItems} items`;
    if (s.uniqueItems === true && value.some((v, i) => value.findIndex((u) => deepEqual(u, v)) !== i)) return 'has duplicate items';
    for (const item of value) {
      const why = rejection((s.items ?? true) as JsonSchema, item);
      if (why !== undefined) return `item ${JSON.stringify(item)} ${why}`;
    }
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, JsonSchema>;
    for (const name of (s.required ?? []) as string[]) if (!(name in obj)) return `lacks the required field '${name}'`;
    for (const [k, v] of Object.entries(obj)) {
      const nameWhy = s.propertyNames === undefined ? undefined : rejection(s.propertyNames as JsonSchema, k);
      if (nameWhy !== undefined) return `has field name '${k}' that ${nameWhy}`;
      const why = rejection(k in props ? props[k] : ((s.additionalProperties ?? true) as JsonSchema), v);
      if (why !== undefined) return `field '${k}' ${why}`;
    }
    const count = Object.keys(obj).length;
    if (typeof s.minProperties === 'number' && count < s.minProperties) return `has fewer than ${s.minProperties} fields`;
    if (typeof s.maxProperties === 'number' && count > s.maxProperties) return `has more than ${s.maxProperties} fields`;
  }
  return undefined;
}
