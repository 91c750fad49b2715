/**
 * The lake evolves with the contract: files written before v2 have no `unit` column, files
 * written since have it, and a reader of the table reads both together (DuckDB here, with
 * `union_by_name` as the npm start summary queries it; Athena resolves Parquet columns by name
 * the same way), the column null for the old rows.
 */
import * as fs from 'fs';
import type * as HyparquetWriter from 'hyparquet-writer';
import * as os from 'os';
import * as path from 'path';
import { lakeLayout, lakeObjectKey } from '../../apps/contracts/lake';
import type { TelemetryReading } from '../../apps/contracts/telemetry';
import { requireEsm } from '../../apps/lake-sink/esm';
import { encodeReadings, readingsParquetSchema } from '../../apps/lake-sink/parquet';
import { LakeQuery } from '../../scripts/local/start/stores';

const { parquetWriteBuffer } = requireEsm<typeof HyparquetWriter>('hyparquet-writer');

const T0 = Date.UTC(2025, 0, 1, 10, 0, 0);
const reading = (i: number, unit?: string): TelemetryReading => ({
  schemaVersion: 2,
  deviceId: `dev-${i}`,
  ts: T0 + i,
  metric: 'temperature',
  value: i,
  tags: { site: 's' },
  ...(unit === undefined ? {} : { unit }),
});

/** A file as the lake sink wrote it before v2: the same schema without the `unit` column. */
function preV2File(rows: readonly TelemetryReading[]): Uint8Array {
  const schema = readingsParquetSchema.filter((e) => e.name !== 'unit').map((e) => (e.name === 'root' ? { ...e, num_children: (e.num_children ?? 0) - 1 } : e));
  const columns = lakeLayout.columns.filter((c) => c.name !== 'unit');
  const field: Record<string, (r: TelemetryReading) => unknown> = {
    schema_version: () => 1,
    device_id: (r) => r.deviceId,
    ts: (r) => r.ts,
    metric: (r) => r.metric,
    value: (r) => r.value,
    tags: (r) => r.tags ?? null,
  };
  expect(columns.map((c) => c.name)).toEqual(Object.keys(field));
  const columnData = columns.map((c) => ({ name: c.name, data: rows.map((r) => field[c.name](r)) }));
  return new Uint8Array(parquetWriteBuffer({ columnData, schema, codec: 'SNAPPY', rowGroupSize: rows.length }));
}

describe('lake files across the v1 -> v2 change', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-evolution-'));
    const write = (bytes: Uint8Array, offset: string) => {
      const file = path.join(dir, lakeObjectKey(T0, 'telemetry.clean.v1', 0, offset));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, bytes);
    };
    write(preV2File([reading(0), reading(1), reading(2)]), '0');
    write(encodeReadings([reading(3), reading(4, 'Cel'), reading(5, '%')]), '3');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the lake declares unit as a nullable string column, last', () => {
    expect(lakeLayout.columns.at(-1)).toEqual({ name: 'unit', type: 'string', comment: expect.stringMatching(/since v2/), optional: true });
    expect(lakeLayout.columns.filter((c) => c.optional).map((c) => c.name)).toEqual(['tags', 'unit']);
  });

  test('old and new files read together, unit null where it was not written', async () => {
    const lake = await LakeQuery.open({ dir, files: 2, bytes: 0 }, { fromMs: T0, toMs: T0 + 60_000 });
    try {
      const rows = await (lake as unknown as { rows<T>(sql: string): Promise<T[]> }).rows<{ device_id: string; unit: string | null; schema_version: number }>(
        `SELECT device_id, unit, schema_version FROM ${lakeLayout.glueTableName} ORDER BY device_id`,
      );
      expect(rows).toEqual([
        { device_id: 'dev-0', unit: null, schema_version: 1 },
        { device_id: 'dev-1', unit: null, schema_version: 1 },
        { device_id: 'dev-2', unit: null, schema_version: 1 },
        { device_id: 'dev-3', unit: null, schema_version: 2 },
        { device_id: 'dev-4', unit: 'Cel', schema_version: 2 },
        { device_id: 'dev-5', unit: '%', schema_version: 2 },
      ]);
      expect(await lake.totals()).toEqual({ records: 6, duplicates: 0, sentAs: { v1: 4, v2: 2 } });
    } finally {
      lake.close();
    }
  });
});
