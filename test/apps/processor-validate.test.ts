import { dlqHeaders } from '../../apps/contracts/topics';
import { deadLetterMessage, MAX_REASON_CHARS } from '../../apps/lib/dead-letter';
import { canonicalReading, validateRecord } from '../../apps/processor/validate';

const good = { schemaVersion: 1, deviceId: 'dev-000001', ts: Date.UTC(2025, 0, 1), metric: 'temperature', value: 21.5, tags: { site: 'site-01' } };
const enc = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));

function rejection(value: Buffer | null) {
  const v = validateRecord(value);
  if (v.ok) throw new Error('expected a rejection');
  return v;
}

describe('validateRecord', () => {
  test('accepts a valid reading', () => {
    const v = validateRecord(enc(good));
    expect(v).toEqual({ ok: true, value: good });
  });

  test.each([
    ['invalid JSON', enc('{"deviceId": "dev-1", '), 'invalid_json', /^invalid JSON: /, 'SyntaxError'],
    ['missing field', enc({ ...good, value: undefined }), 'schema_violation', /^value: /, 'ZodError'],
    ['wrong type', enc({ ...good, value: '21.5' }), 'schema_violation', /^value: .*expected number/, 'ZodError'],
    ['ts out of range (seconds, not millis)', enc({ ...good, ts: 1_735_689_600 }), 'schema_violation', /^ts: Too small/, 'ZodError'],
    ['bad metric name', enc({ ...good, metric: 'Temp C' }), 'schema_violation', /^metric: must be lower_snake_case/, 'ZodError'],
    ['extra field', enc({ ...good, firmware: '1.0' }), 'schema_violation', /^firmware: unknown field/, 'ZodError'],
    ['wrong schema version', enc({ ...good, schemaVersion: 2 }), 'schema_violation', /^schemaVersion: /, 'ZodError'],
    ['bad tag value type', enc({ ...good, tags: { site: 7 } }), 'schema_violation', /^tags\.site: /, 'ZodError'],
    ['not an object', enc('[1,2]'), 'schema_violation', /^\(record\): /, 'ZodError'],
    ['null value', null, 'empty_value', /^record has no value/, 'EmptyValueError'],
  ])('%s -> detail names the field', (_name, value, reason, detail, errorClass) => {
    const v = rejection(value as Buffer | null);
    expect(v.reason).toBe(reason);
    expect(v.detail).toMatch(detail as RegExp);
    expect(v.errorClass).toBe(errorClass);
  });

  test('lists every bad field; the dead letter caps the text once, at MAX_REASON_CHARS', () => {
    const v = rejection(enc({ ...good, ts: 'now', metric: 'X', extra1: 1 }));
    expect(v.detail).toMatch(/ts: .*; metric: .*; extra1: unknown field/);
    const huge = rejection(enc(Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]))));
    expect(huge.detail.length).toBeGreaterThan(MAX_REASON_CHARS);
    const message = { key: null, value: null, offset: '1', timestamp: '0', headers: {} };
    const header = deadLetterMessage({ topic: 't', partition: 0 }, { message, ...huge }, 0).headers?.[dlqHeaders.reason];
    expect(String(header).length).toBe(MAX_REASON_CHARS);
  });
});

describe('canonicalReading', () => {
  test('fixed key order whatever the input order', () => {
    const shuffled = { tags: good.tags, value: good.value, metric: good.metric, ts: good.ts, deviceId: good.deviceId, schemaVersion: 1 as const };
    expect(canonicalReading(shuffled)).toBe(JSON.stringify(good));
    const { tags: _omit, ...noTags } = good;
    expect(canonicalReading({ ...noTags, schemaVersion: 1 })).toBe(JSON.stringify(noTags));
  });
});
