/**
 * Property test of the validator and the clean topic's canonical encoding: for every generated
 * record (valid JSON aimed at the JavaScript runtime and the stores: special object keys, lone
 * surrogates, -0, numbers beyond double precision, keys at and past every length limit, many
 * tags), either the reading is accepted exactly as sent and `decode(encode(x))` is x, or the
 * rejection names a field of the record. "As sent" is the JSON as parsed: `value` is a double, so
 * digits beyond double precision denote the nearest double (docs/input-safety.md).
 */
import * as fc from 'fast-check';
import { isDeepStrictEqual } from 'util';
import { MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS, MAX_TAGS, telemetryReadingContract, telemetryReadingSchema } from '../../apps/contracts/telemetry';
import type { Decoded } from '../../apps/lib/records';
import { checkReading } from '../../apps/processor/guards';
import { canonicalReading, validateRecord as validateSchema } from '../../apps/processor/validate';
import type { TelemetryReading } from '../../apps/contracts/telemetry';

/** What the processor decides before anything is stored: the schema, then the guards (with its key, and no clock skew in play). */
function validateRecord(bytes: Buffer): Decoded<TelemetryReading> {
  const v = validateSchema(bytes);
  if (!v.ok) return v;
  return checkReading(v.value, { key: Buffer.from(v.value.deviceId), value: bytes }, Date.UTC(2200, 0, 1), { maxClockSkewMs: 0 }) ?? v;
}

const FIELDS = Object.keys(telemetryReadingSchema.shape);
/** A rejection first names the contract and the version it was validated as (apps/lib/records.ts), then the fields. */
const VALIDATED_AS = new RegExp(`^${telemetryReadingContract.name.replace('.', '\\.')}(?: v\\d+)?: `);

/** JSON text that keeps what JSON.stringify loses: -0, and numbers written out as digits. */
function jsonText(x: unknown): string {
  if (typeof x === 'number') return Object.is(x, -0) ? '-0' : JSON.stringify(x);
  if (typeof x === 'bigint') return x.toString();
  if (Array.isArray(x)) return `[${x.map(jsonText).join(',')}]`;
  if (x !== null && typeof x === 'object') {
    return `{${Object.entries(x)
      .map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(x);
}

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnits = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength });
const near = (limit: number, chars: string) =>
  fc.integer({ min: Math.max(0, limit - 1), max: limit + 1 }).chain((n) => fc.string({ unit: fc.constantFrom(...chars), minLength: n, maxLength: n }));
const ID_CHARS = 'abcXYZ019._:-';
const METRIC_CHARS = 'abcxyz019_.';

const specialKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', '\ud800', '\udfff\ud800', 'é', '😀');
const tagKey = fc.oneof(specialKeys, codeUnits(8), near(MAX_TAG_KEY_CHARS, 'k😀'));
const tagValue = fc.oneof(codeUnits(8), near(MAX_TAG_VALUE_CHARS, 'v😀é'), fc.integer());
const number = fc.oneof(
  fc.double(),
  fc.constantFrom(-0, 0, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }),
);

const record = fc.record(
  {
    schemaVersion: fc.constantFrom<unknown>(1, 2, '1', 1.5),
    deviceId: fc.oneof(near(128, ID_CHARS), fc.stringMatching(/^[A-Za-z0-9._:-]{1,12}$/), codeUnits(6)),
    ts: fc.oneof(fc.integer({ min: Date.UTC(1999, 0, 1), max: Date.UTC(2101, 0, 1) }), number),
    metric: fc.oneof(
      near(64, METRIC_CHARS).map((s) => `m${s.slice(1)}`),
      fc.stringMatching(/^[a-z][a-z0-9_.]{0,10}$/),
      codeUnits(4),
    ),
    value: number,
    tags: fc.oneof(
      fc.dictionary(tagKey, tagValue, { maxKeys: 5 }),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.string({ maxLength: 2 }), { minKeys: MAX_TAGS - 1, maxKeys: MAX_TAGS + 2 }),
    ),
    unit: fc.oneof(near(16, 'Cel%😀'), codeUnits(4)),
    [`extra`]: fc.oneof(fc.jsonValue(), specialKeys),
  },
  { requiredKeys: ['schemaVersion', 'deviceId', 'ts', 'metric', 'value'] },
);

describe('validator and canonical encoding (property)', () => {
  test('every record is accepted exactly as sent and round-trips through the encoding, or its rejection names a field', () => {
    fc.assert(
      fc.property(record, specialKeys, fc.boolean(), (x, extraKey, renameExtra) => {
        const input: Record<string, unknown> = { ...x };
        if (renameExtra && 'extra' in input) {
          input[extraKey] = input.extra;
          delete input.extra;
        }
        const text = jsonText(input);
        const sent = JSON.parse(text) as Record<string, unknown>;
        const v = validateRecord(Buffer.from(text));
        if (v.ok) {
          // Accepted: field for field what was sent (own keys, -0, every tag; a v1 reading as v2), and the clean topic's bytes decode back to it.
          const expected = sent.schemaVersion === 1 ? { ...sent, schemaVersion: 2 } : sent;
          const encoded = validateRecord(Buffer.from(canonicalReading(v.value)));
          return isDeepStrictEqual(v.value, expected) && encoded.ok && isDeepStrictEqual(encoded.value, v.value);
        }
        // Rejected: every issue starts with the path of a field of the record or of the schema
        // (an unknown version: `schemaVersion "1" is not a version this reader knows`).
        return v.detail
          .replace(VALIDATED_AS, '')
          .split('; ')
          .every((issue) => {
            const head = /^([^:. ]*)[.: ]/.exec(issue)?.[1];
            return head !== undefined && (FIELDS.includes(head) || Object.keys(sent).includes(head));
          });
      }),
      { numRuns: 3_000 },
    );
  });

  test('each hazard on its own is rejected, naming the field', () => {
    const base = { schemaVersion: 1, deviceId: 'dev-1', ts: Date.UTC(2026, 0, 1), metric: 'temp_c', value: 1 };
    const detail = (o: Record<string, unknown>) => {
      const v = validateRecord(Buffer.from(jsonText(o)));
      return v.ok ? 'accepted' : v.detail;
    };
    expect(detail({ ...base, tags: JSON.parse('{"__proto__":"x"}') })).toMatch(/^tags\.__proto__: a tag may not be named "__proto__"/);
    expect(detail({ ...base, tags: { hasOwnProperty: 'x' } })).toMatch(/^telemetry\.reading v1: tags\.hasOwnProperty: Invalid key in record/);
    expect(detail({ ...base, tags: { site: '\ud800' } })).toMatch(/^telemetry\.reading v1: tags\.site: must be well-formed Unicode/);
    expect(detail({ ...base, tags: { '\udc00': 'x' } })).toMatch(/^telemetry\.reading v1: tags\.\udc00: Invalid key in record/);
    expect(detail({ ...base, tags: Object.fromEntries(Array.from({ length: MAX_TAGS + 1 }, (_, i) => [`k${i}`, 'v'])) })).toBe(
      `telemetry.reading v1: tags: at most ${MAX_TAGS} tags`,
    );
    expect(detail({ ...base, tags: { ['k'.repeat(MAX_TAG_KEY_CHARS + 1)]: 'v' } })).toMatch(/^telemetry\.reading v1: tags\.k{65}: Invalid key in record/);
    expect(detail({ ...base, deviceId: 'd'.repeat(129) })).toMatch(/^telemetry\.reading v1: deviceId: Too big/);
    expect(detail({ ...base, value: 2n ** 1400n })).toMatch(/^telemetry\.reading v1: value: /);
    // v2 declares the same tags, so the same bounds.
    const v2 = { ...base, schemaVersion: 2 };
    expect(detail({ ...v2, tags: JSON.parse('{"__proto__":"x"}') })).toMatch(/^tags\.__proto__: a tag may not be named "__proto__"/);
    expect(detail({ ...v2, tags: { hasOwnProperty: 'x' } })).toMatch(/^telemetry\.reading v2: tags\.hasOwnProperty: Invalid key in record/);
    expect(detail({ ...v2, tags: { site: '\ud800' } })).toMatch(/^telemetry\.reading v2: tags\.site: must be well-formed Unicode/);
    expect(detail({ ...v2, tags: Object.fromEntries(Array.from({ length: MAX_TAGS + 1 }, (_, i) => [`k${i}`, 'v'])) })).toBe(
      `telemetry.reading v2: tags: at most ${MAX_TAGS} tags`,
    );
    // At the limits: accepted, and kept exactly.
    const atLimits = {
      ...base,
      deviceId: 'd'.repeat(128),
      metric: 'm'.repeat(64),
      value: -0,
      tags: Object.fromEntries(Array.from({ length: MAX_TAGS }, (_, i) => [`${i}`.padEnd(MAX_TAG_KEY_CHARS, 'k'), '😀'.repeat(128)])),
    };
    const v = validateRecord(Buffer.from(jsonText(atLimits)));
    expect(v.ok && Object.is(v.value.value, -0) && canonicalReading(v.value)).toContain('"value":-0');
  });
});
