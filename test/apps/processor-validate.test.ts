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
    expect(v).toEqual({ ok: true, reading: good });
  });

  test.each([
    ['invalid JSON', enc('{"deviceId": "dev-1", '), 'invalid_json', /^invalid JSON: /, 'SyntaxError'],
    ['missing field', enc({ ...good, value: undefined }), 'schema', /^value: /, 'ZodError'],
    ['wrong type', enc({ ...good, value: '21.5' }), 'schema', /^value: .*expected number/, 'ZodError'],
    ['ts out of range (seconds, not millis)', enc({ ...good, ts: 1_735_689_600 }), 'schema', /^ts: Too small/, 'ZodError'],
    ['bad metric name', enc({ ...good, metric: 'Temp C' }), 'schema', /^metric: must be lower_snake_case/, 'ZodError'],
    ['extra field', enc({ ...good, firmware: '1.0' }), 'schema', /^firmware: unknown field/, 'ZodError'],
    ['wrong schema version', enc({ ...good, schemaVersion: 2 }), 'schema', /^schemaVersion: /, 'ZodError'],
    ['bad tag value type', enc({ ...good, tags: { site: 7 } }), 'schema', /^tags\.site: /, 'ZodError'],
    ['not an object', enc('[1,2]'), 'schema', /^\(record\): /, 'ZodError'],
    ['null value', null, 'empty', /^empty record/, 'EmptyRecordError'],
  ])('%s -> reason names the field', (_name, value, kind, reason, exceptionClass) => {
    const v = rejection(value as Buffer | null);
    expect(v.kind).toBe(kind);
    expect(v.reason).toMatch(reason as RegExp);
    expect(v.exceptionClass).toBe(exceptionClass);
  });

  test('lists every bad field, bounded in length', () => {
    const v = rejection(enc({ ...good, ts: 'now', metric: 'X', extra1: 1 }));
    expect(v.reason).toMatch(/ts: .*; metric: .*; extra1: unknown field/);
    const huge = rejection(enc(Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]))));
    expect(huge.reason.length).toBeLessThanOrEqual(1000);
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
