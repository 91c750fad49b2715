import { telemetryReadingContract } from '../../apps/contracts/telemetry';
import { GeneratedRecord, generateReadings, MALFORMED_KINDS, METRIC_NAMES } from '../../apps/producer/generator';
import { validateRecord } from '../../apps/processor/validate';

const T0 = Date.UTC(2025, 0, 1);
/** A clock that does not advance: forces the generator to make timestamps unique itself. */
const frozen = () => T0;

function take(n: number, gen: Generator<GeneratedRecord>): GeneratedRecord[] {
  const out: GeneratedRecord[] = [];
  for (let i = 0; i < n; i++) out.push(gen.next().value);
  return out;
}

describe('generateReadings', () => {
  test('valid records pass the contract schema; keys are the device ids', () => {
    const records = take(2_000, generateReadings({ devices: 50, seed: 3, clock: frozen }));
    for (const r of records) {
      expect(r.valid).toBe(true);
      const json = JSON.parse(r.value);
      const parsed = telemetryReadingContract.version(json.schemaVersion)!.schema.parse(json) as { deviceId: string };
      expect(r.key).toBe(parsed.deviceId);
    }
    const metrics = new Set(records.map((r) => (r.valid ? r.reading.metric : '')));
    expect([...metrics].sort()).toEqual([...METRIC_NAMES].sort());
    expect(new Set(records.map((r) => r.key)).size).toBe(50);
  });

  test('half the devices (by default) send v2 with a unit, the others v1; a device keeps its version', () => {
    const records = take(4_000, generateReadings({ devices: 50, seed: 3, clock: frozen })).filter((r) => r.valid);
    const versionByDevice = new Map<string, Set<number>>();
    for (const r of records) {
      if (!r.valid) continue;
      versionByDevice.set(r.key, (versionByDevice.get(r.key) ?? new Set()).add(r.reading.schemaVersion));
      const json = JSON.parse(r.value);
      expect('unit' in json).toBe(r.reading.schemaVersion === 2);
      expect(validateRecord(Buffer.from(r.value)).ok).toBe(true);
    }
    expect([...versionByDevice.values()].every((v) => v.size === 1)).toBe(true);
    const v2Devices = [...versionByDevice.values()].filter((v) => v.has(2)).length;
    expect(v2Devices).toBe(25);
    const units = new Set(records.map((r) => (r.valid && r.reading.schemaVersion === 2 ? `${r.reading.metric}=${r.reading.unit}` : '')));
    expect([...units].filter(Boolean).sort()).toEqual(['battery=%', 'humidity=%', 'pressure=hPa', 'temperature=Cel']);
  });

  test.each([
    [0, 0],
    [0.2, 10],
    [1, 50],
  ])('v2Ratio %p makes %p of 50 devices send v2', (v2Ratio, expected) => {
    const records = take(400, generateReadings({ devices: 50, seed: 3, clock: frozen, v2Ratio }));
    const v2 = new Set(records.filter((r) => r.valid && r.reading.schemaVersion === 2).map((r) => r.key));
    expect(v2.size).toBe(expected);
    expect(() => generateReadings({ devices: 1, v2Ratio: -0.1 }).next()).toThrow(/v2Ratio/);
  });

  test('timestamps are strictly increasing per (device, metric), even with a frozen clock', () => {
    const last = new Map<string, number>();
    const violations: string[] = [];
    for (const r of take(20_000, generateReadings({ devices: 7, seed: 9, clock: frozen, malformedRatio: 0.1 }))) {
      if (!r.valid) continue;
      const k = `${r.reading.deviceId}|${r.reading.metric}`;
      if (r.reading.ts <= (last.get(k) ?? -Infinity)) violations.push(`${k}@${r.reading.ts}`);
      last.set(k, r.reading.ts);
    }
    expect(violations).toEqual([]);
    expect(last.size).toBe(7 * 4);
  });

  test('malformed share is within tolerance and every kind occurs and is rejected by the processor', () => {
    const n = 20_000;
    const records = take(n, generateReadings({ devices: 100, seed: 11, clock: frozen, malformedRatio: 0.2 }));
    const bad = records.filter((r) => !r.valid);
    expect(bad.length / n).toBeGreaterThan(0.19);
    expect(bad.length / n).toBeLessThan(0.21);
    const kinds = new Set(bad.map((r) => (r.valid ? '' : r.kind)));
    expect([...kinds].sort()).toEqual([...MALFORMED_KINDS].sort());
    expect(bad.filter((r) => validateRecord(Buffer.from(r.value)).ok)).toEqual([]);
  });

  test('deterministic for a seed and clock; a different seed differs', () => {
    let t1 = T0;
    let t2 = T0;
    const a = take(500, generateReadings({ devices: 10, seed: 5, malformedRatio: 0.3, clock: () => (t1 += 3) }));
    const b = take(500, generateReadings({ devices: 10, seed: 5, malformedRatio: 0.3, clock: () => (t2 += 3) }));
    const c = take(500, generateReadings({ devices: 10, seed: 6, malformedRatio: 0.3, clock: frozen }));
    expect(b).toEqual(a);
    expect(c.map((r) => r.value)).not.toEqual(a.map((r) => r.value));
  });

  test('values stay within physical bounds over long walks', () => {
    const bounds: Record<string, [number, number]> = { temperature: [-40, 85], humidity: [0, 100], pressure: [870, 1085], battery: [0, 100] };
    const out = take(40_000, generateReadings({ devices: 2, seed: 1, clock: frozen })).filter((r) => {
      if (!r.valid) return false;
      const [lo, hi] = bounds[r.reading.metric];
      return r.reading.value < lo || r.reading.value > hi;
    });
    expect(out).toEqual([]);
  });

  test('rejects nonsense options', () => {
    expect(() => generateReadings({ devices: 0 }).next()).toThrow(/devices/);
    expect(() => generateReadings({ devices: 1, malformedRatio: 1.5 }).next()).toThrow(/malformedRatio/);
  });
});
