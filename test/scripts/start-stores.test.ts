import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { lakeObjectKey } from '../../apps/contracts/lake';
import type { TelemetryReading } from '../../apps/contracts/telemetry';
import { encodeReadings } from '../../apps/lake-sink/parquet';
import { daysOf, LakeQuery, sameStats } from '../../scripts/local/start/stores';

const T0 = Date.UTC(2025, 0, 1, 23, 59, 0);
const reading = (deviceId: string, ts: number, metric: string, value: number): TelemetryReading => ({
  schemaVersion: 2,
  deviceId,
  ts,
  metric,
  value,
  tags: { site: 'site-01' },
});

describe('daysOf', () => {
  test('lists the UTC days a window touches, across midnight', () => {
    expect(daysOf({ fromMs: T0, toMs: T0 + 30_000 })).toEqual(['2025-01-01']);
    expect(daysOf({ fromMs: T0, toMs: T0 + 120_000 })).toEqual(['2025-01-01', '2025-01-02']);
  });
});

describe('sameStats', () => {
  const a = [{ metric: 'battery', count: 3, avg: 1 / 3 }];
  test('equal counts and averages up to float rounding', () => {
    expect(sameStats(a, [{ metric: 'battery', count: 3, avg: (0.1 + 0.2 + 0.7) / 3 }])).toBe(true);
    expect(sameStats(a, [{ metric: 'battery', count: 2, avg: 1 / 3 }])).toBe(false);
    expect(sameStats(a, [{ metric: 'battery', count: 3, avg: 0.34 }])).toBe(false);
    expect(sameStats(a, [])).toBe(false);
  });
});

describe('LakeQuery (DuckDB over lake-sink Parquet files)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'start-stores-'));
    const write = (rows: TelemetryReading[], partition: number, offset: string) => {
      const file = path.join(dir, lakeObjectKey(rows[0].ts, 'telemetry.clean.v1', partition, offset));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, encodeReadings(rows));
    };
    // An earlier run (outside the window), this run's readings over midnight, and one duplicate.
    write([reading('dev-1', T0 - 3_600_000, 'battery', 99)], 0, '0');
    write([reading('dev-1', T0 + 1_000, 'battery', 80), reading('dev-1', T0 + 2_000, 'battery', 82), reading('dev-1', T0 + 3_000, 'humidity', 40)], 0, '1');
    write([reading('dev-2', T0 + 61_000, 'battery', 50), reading('dev-1', T0 + 2_000, 'battery', 82)], 1, '0');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('counts only the window, and finds duplicates', async () => {
    const lake = await LakeQuery.open({ dir, files: 3, bytes: 0 }, { fromMs: T0, toMs: T0 + 120_000 });
    try {
      expect(await lake.totals()).toEqual({ records: 5, duplicates: 1, sentAs: { v1: 5, v2: 0 } });
      // The duplicate sits in a dt=2025-01-02 file (its first row's hour): partition pruning skips it.
      expect(await lake.metricStats({ deviceId: 'dev-1', day: '2025-01-01' })).toEqual([
        { metric: 'battery', count: 2, avg: 81 },
        { metric: 'humidity', count: 1, avg: 40 },
      ]);
      expect(await lake.metricStats({ deviceId: 'dev-2', day: '2025-01-02' })).toEqual([{ metric: 'battery', count: 1, avg: 50 }]);
    } finally {
      lake.close();
    }
  });

  test('an empty download still answers (zero rows)', async () => {
    const lake = await LakeQuery.open({ dir: path.join(dir, 'none'), files: 0, bytes: 0 }, { fromMs: T0, toMs: T0 + 1 });
    try {
      expect(await lake.totals()).toEqual({ records: 0, duplicates: 0, sentAs: { v1: 0, v2: 0 } });
      expect(await lake.metricStats({ deviceId: 'dev-1', day: '2025-01-01' })).toEqual([]);
    } finally {
      lake.close();
    }
  });

  test('the sample SQL is Athena-style against the Glue table, with quotes escaped', () => {
    expect(LakeQuery.metricStatsSql({ deviceId: "dev-'x", day: '2025-01-01' })).toBe(
      "SELECT metric, count(*) AS readings, avg(value) AS avg_value\nFROM raw_telemetry\nWHERE dt = '2025-01-01' AND device_id = 'dev-''x'\nGROUP BY metric ORDER BY metric",
    );
  });
});
