/**
 * The JSON Schema compatibility checker, one hand-written pair per rule: `reader` is the schema
 * that reads, `writer` the one the data was written with (BACKWARD: reader = v2, writer = v1).
 */
import { fieldLabel, JsonSchema, notUnderstood, readIncompatibilities } from '../../apps/contracts/compatibility';

const labels = { reader: 'v2', writer: 'v1' };
const check = (reader: JsonSchema, writer: JsonSchema): string[] =>
  readIncompatibilities(reader, writer, labels).map((i) => `${i.rule}: ${fieldLabel(i.path)} ${i.detail}`);

const closed = (properties: Record<string, JsonSchema>, required: string[] = Object.keys(properties)): JsonSchema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
const str: JsonSchema = { type: 'string' };
const num: JsonSchema = { type: 'number' };

describe('readIncompatibilities: fields', () => {
  it('reports a required field the old data does not have', () => {
    expect(check(closed({ id: str, unit: str }), closed({ id: str }))).toEqual(["FIELD_REQUIRED: field 'unit' is required but v1 data does not have it"]);
  });

  it('accepts an added optional field', () => {
    expect(check(closed({ id: str, unit: str }, ['id']), closed({ id: str }))).toEqual([]);
  });

  it('reports an optional field made required', () => {
    expect(check(closed({ id: str, unit: str }), closed({ id: str, unit: str }, ['id']))).toEqual([
      "FIELD_REQUIRED: field 'unit' is required by v2 but optional in v1",
    ]);
  });

  it('says "need not" when an open writer may or may not carry the field', () => {
    expect(check({ type: 'object', properties: { unit: str }, required: ['unit'] }, { type: 'object' })).toEqual([
      "FIELD_REQUIRED: field 'unit' is required but v1 data need not have it",
      "TYPE_CHANGED: field 'unit' changed type: v1 data may be of any type, v2 reads string",
    ]);
  });

  it('accepts a removed field when the reader is open', () => {
    expect(check({ type: 'object', properties: { id: str }, required: ['id'] }, closed({ id: str, legacy: num }))).toEqual([]);
  });

  it('reports a removed field when the reader is closed, since old data still carries it', () => {
    expect(check(closed({ id: str }), closed({ id: str, legacy: num, note: str }, ['id', 'legacy']))).toEqual([
      "FIELD_NOT_ALLOWED: field 'legacy' is in v1 data, but v2 does not allow additional properties",
      "FIELD_NOT_ALLOWED: field 'note' may be in v1 data, but v2 does not allow additional properties",
    ]);
  });

  it('reports a new typed field under an open writer, whose extra fields may hold anything', () => {
    expect(check({ type: 'object', properties: { unit: str } }, { type: 'object' })).toEqual([
      "TYPE_CHANGED: field 'unit' changed type: v1 data may be of any type, v2 reads string",
    ]);
  });

  it('follows nested objects and names the full path', () => {
    const location = (extra: Record<string, JsonSchema>, required?: string[]) => closed({ id: str, location: closed({ lat: num, ...extra }, required) });
    expect(check(location({ alt: num }), location({}))).toEqual(["FIELD_REQUIRED: field 'location.alt' is required but v1 data does not have it"]);
    expect(check(location({ alt: str }, ['lat']), location({ alt: num }, ['lat']))).toEqual([
      "TYPE_CHANGED: field 'location.alt' changed type: v1 data is number, v2 reads string",
    ]);
  });
});

describe('readIncompatibilities: types', () => {
  it('reports a changed type', () => {
    expect(check(closed({ value: num }), closed({ value: str }))).toEqual(["TYPE_CHANGED: field 'value' changed type: v1 data is string, v2 reads number"]);
  });

  it('reports number narrowed to integer and accepts integer widened to number', () => {
    expect(check({ type: 'integer' }, num)).toEqual(['TYPE_CHANGED: the event changed type: v1 data is number, v2 reads integer']);
    expect(check(num, { type: 'integer' })).toEqual([]);
  });

  it('reports a type dropped from a list (nullable made non-nullable) and accepts one added', () => {
    expect(check(str, { type: ['string', 'null'] })).toEqual(['TYPE_CHANGED: the event changed type: v1 data is string or null, v2 reads string']);
    expect(check({ type: ['string', 'null'] }, str)).toEqual([]);
  });

  it('treats boolean schemas as everything and nothing', () => {
    expect(check(true, closed({ a: str }))).toEqual([]);
    expect(check(str, false)).toEqual([]);
    expect(check(closed({ a: false }, []), closed({ a: str }, []))).toEqual(["FIELD_NOT_ALLOWED: field 'a' may be in v1 data, but v2 allows no value there"]);
  });
});

describe('readIncompatibilities: enums and constants', () => {
  it('reports an enum value the reader dropped, and accepts one it added', () => {
    expect(check({ type: 'string', enum: ['a', 'b'] }, { type: 'string', enum: ['a', 'b', 'c'] })).toEqual([
      'ENUM_NARROWED: the event v1 value "c" is not accepted by v2: not one of "a", "b"',
    ]);
    expect(check({ type: 'string', enum: ['a', 'b', 'c'] }, { type: 'string', enum: ['a', 'b'] })).toEqual([]);
  });

  it('reports a changed const', () => {
    expect(check(closed({ kind: { const: 'reading' } }), closed({ kind: { const: 'sample' } }))).toEqual([
      'ENUM_NARROWED: field \'kind\' v1 value "sample" is not accepted by v2: not one of "reading"',
    ]);
  });

  it('reports an enum imposed on values that were free', () => {
    expect(check({ type: 'string', enum: ['a'] }, str)).toEqual(['ENUM_NARROWED: the event v2 accepts only "a", and v1 data is not limited to those']);
  });

  it('checks every enum value against the reader, not only against its enum', () => {
    expect(check({ type: 'string', maxLength: 3 }, { type: 'string', enum: ['ab', 'abcd'] })).toEqual([
      'ENUM_NARROWED: the event v1 value "abcd" is not accepted by v2: is longer than 3',
    ]);
  });
});

describe('readIncompatibilities: numeric bounds', () => {
  it('reports a lowered maximum and a raised minimum, and accepts a wider range', () => {
    expect(check({ type: 'number', minimum: 10, maximum: 100 }, { type: 'number', minimum: 0, maximum: 200 })).toEqual([
      'RANGE_NARROWED: the event range narrowed: v2 requires value >= 10, v1 allows value >= 0',
      'RANGE_NARROWED: the event range narrowed: v2 requires value <= 100, v1 allows value <= 200',
    ]);
    expect(check({ type: 'number', minimum: 0, maximum: 200 }, { type: 'number', minimum: 10, maximum: 100 })).toEqual([]);
  });

  it('reports a bound imposed on an unbounded field', () => {
    expect(check({ type: 'number', maximum: 5 }, num)).toEqual(['RANGE_NARROWED: the event range narrowed: v2 requires value <= 5, v1 allows any value']);
  });

  it('tells exclusive from inclusive bounds', () => {
    expect(check({ type: 'number', exclusiveMinimum: 0 }, { type: 'number', minimum: 0 })).toEqual([
      'RANGE_NARROWED: the event range narrowed: v2 requires value > 0, v1 allows value >= 0',
    ]);
    expect(check({ type: 'number', minimum: 0 }, { type: 'number', exclusiveMinimum: 0 })).toEqual([]);
  });

  it('knows that over integers > 0 and >= 1 are the same', () => {
    expect(check({ type: 'integer', exclusiveMinimum: 0 }, { type: 'integer', minimum: 1 })).toEqual([]);
    expect(check({ type: 'integer', minimum: 1 }, { type: 'integer', exclusiveMinimum: 0 })).toEqual([]);
  });

  it('reports a multipleOf the old values need not meet', () => {
    expect(check({ type: 'number', multipleOf: 0.5 }, { type: 'number', multipleOf: 0.25 })).toEqual([
      'RANGE_NARROWED: the event range narrowed: v2 requires multiples of 0.5, v1 allows multiples of 0.25',
    ]);
    expect(check({ type: 'number', multipleOf: 0.5 }, { type: 'number', multipleOf: 1.5 })).toEqual([]);
  });
});

describe('readIncompatibilities: strings', () => {
  it('reports a shorter maxLength and accepts a longer one', () => {
    expect(check({ type: 'string', maxLength: 64 }, { type: 'string', maxLength: 128 })).toEqual([
      'RANGE_NARROWED: the event range narrowed: v2 requires length <= 64, v1 allows length <= 128',
    ]);
    expect(check({ type: 'string', maxLength: 128 }, { type: 'string', maxLength: 64 })).toEqual([]);
  });

  it('reports a changed or added pattern and format; a removed one is fine', () => {
    expect(check({ type: 'string', pattern: '^[a-z]+$' }, { type: 'string', pattern: '^[a-z0-9]+$' })).toEqual([
      'PATTERN_CHANGED: the event v2 requires pattern /^[a-z]+$/, v1 has pattern /^[a-z0-9]+$/; the checker cannot prove v1 strings match it',
    ]);
    expect(check({ type: 'string', format: 'uuid' }, str)).toEqual([
      "PATTERN_CHANGED: the event v2 requires format 'uuid', v1 has no format; the checker cannot prove v1 strings match it",
    ]);
    expect(check(str, { type: 'string', pattern: '^a$', format: 'email' })).toEqual([]);
  });
});

describe('readIncompatibilities: additionalProperties and propertyNames (records)', () => {
  const record = (values: JsonSchema, names?: JsonSchema): JsonSchema => ({
    type: 'object',
    additionalProperties: values,
    ...(names ? { propertyNames: names } : {}),
  });

  it('compares the values of extra fields', () => {
    expect(check(closed({ tags: record({ type: 'string', maxLength: 10 }) }, []), closed({ tags: record({ type: 'string', maxLength: 256 }) }, []))).toEqual([
      "RANGE_NARROWED: field 'tags.*' range narrowed: v2 requires length <= 10, v1 allows length <= 256",
    ]);
  });

  it('reports a record closed by the reader', () => {
    expect(check(closed({ tags: record(false) }, []), closed({ tags: record(str) }, []))).toEqual([
      "FIELD_NOT_ALLOWED: field 'tags.*' v1 data may have any fields, but v2 does not allow additional properties",
    ]);
  });

  it('reports extra fields of an open writer that a closed reader rejects', () => {
    expect(check(closed({ id: str }), { type: 'object', properties: { id: str }, required: ['id'] })).toEqual([
      "FIELD_NOT_ALLOWED: field '*' v1 data may have fields besides 'id', but v2 does not allow additional properties",
    ]);
  });

  it('compares the names of extra fields', () => {
    expect(check(record(str, { type: 'string', maxLength: 32 }), record(str, { type: 'string', minLength: 1, maxLength: 64 }))).toEqual([
      "RANGE_NARROWED: field '{key}' range narrowed: v2 requires length <= 32, v1 allows length <= 64",
    ]);
    expect(check(record(str, { type: 'string', maxLength: 64 }), record(str, { type: 'string', maxLength: 32 }))).toEqual([]);
  });

  it('checks declared field names against the reader propertyNames', () => {
    expect(check({ type: 'object', propertyNames: { type: 'string', maxLength: 3 } }, closed({ long_name: str }))).toEqual([
      "FIELD_NOT_ALLOWED: field 'long_name' may be in v1 data, but v2 does not accept its name: is longer than 3",
    ]);
  });

  it('bounds the number of fields', () => {
    expect(check({ type: 'object', maxProperties: 2 }, closed({ a: str, b: str, c: str }, []))).toEqual([
      'RANGE_NARROWED: the event range narrowed: v2 requires properties <= 2, v1 allows properties <= 3',
    ]);
    expect(check({ type: 'object', minProperties: 2 }, closed({ a: str, b: str }))).toEqual([]);
  });
});

describe('readIncompatibilities: arrays and alternatives', () => {
  it('follows items and compares their bounds', () => {
    expect(check({ type: 'array', items: num, maxItems: 5, uniqueItems: true }, { type: 'array', items: str, maxItems: 10 })).toEqual([
      "TYPE_CHANGED: field '[]' changed type: v1 data is string, v2 reads number",
      'RANGE_NARROWED: the event range narrowed: v2 requires items <= 5, v1 allows items <= 10',
      'RANGE_NARROWED: the event v2 requires unique items, v1 allows duplicates',
    ]);
  });

  it('accepts a writer alternative the reader still has, and reports one it dropped', () => {
    expect(check({ anyOf: [str, num, { type: 'null' }] }, { anyOf: [str, num] })).toEqual([]);
    expect(check({ anyOf: [str, { type: 'null' }] }, { anyOf: [str, num] })).toEqual([
      "NO_MATCHING_ALTERNATIVE: the event v1 data fits none of v2's 2 alternatives (closest: the event changed type: v1 data is number, v2 reads string)",
    ]);
  });
});

describe('readIncompatibilities: what it does not understand fails closed', () => {
  it('reports unknown keywords on either side with their path, instead of comparing', () => {
    const withOneOf = closed({ shape: { oneOf: [str, num] } });
    expect(check(withOneOf, withOneOf)).toEqual([
      "NOT_UNDERSTOOD: field 'shape' in v1 uses keyword 'oneOf', which the checker does not understand (fails closed)",
      "NOT_UNDERSTOOD: field 'shape' in v2 uses keyword 'oneOf', which the checker does not understand (fails closed)",
    ]);
  });

  it('reports forms of known keywords it does not handle', () => {
    expect(notUnderstood({ type: 'array', items: [str] })).toEqual([
      { path: '', rule: 'NOT_UNDERSTOOD', detail: "uses tuple 'items' (a list of schemas), which the checker does not understand (fails closed)" },
    ]);
    expect(notUnderstood({ type: 'number', minimum: 0, exclusiveMinimum: true }).map((i) => i.detail)).toEqual([
      "has a non-numeric 'exclusiveMinimum' (draft-04 boolean exclusive bounds are not understood) (fails closed)",
    ]);
    expect(notUnderstood({ type: 'object', properties: { a: { $ref: '#/definitions/a' } }, definitions: {} }).map((i) => `${i.path}: ${i.detail}`)).toEqual([
      ": uses keyword 'definitions', which the checker does not understand (fails closed)",
      "a: uses keyword '$ref', which the checker does not understand (fails closed)",
    ]);
    expect(notUnderstood({ anyOf: [str], maxLength: 3 }).map((i) => i.detail)).toEqual([
      "combines 'anyOf' with 'maxLength', which the checker does not understand (fails closed)",
    ]);
  });

  it('ignores annotations', () => {
    expect(notUnderstood({ $schema: 'http://json-schema.org/draft-07/schema#', title: 't', description: 'd', default: 1, type: 'number' })).toEqual([]);
  });
});
