import type * as Hyparquet from 'hyparquet';
import { lakeLayout, TelemetryReading } from '../../apps/contracts';
import { requireEsm } from '../../apps/lake-sink/esm';
import { decodeReadings, encodeReadings, readingsParquetSchema } from '../../apps/lake-sink/parquet';

const { parquetMetadata, parquetReadObjects, parquetSchema } = requireEsm<typeof Hyparquet>('hyparquet');

const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer;

const rows: TelemetryReading[] = [
  {
    schemaVersion: 2,
    deviceId: 'dev-1',
    ts: Date.UTC(2024, 5, 1, 12, 0, 0, 123),
    metric: 'temp_c',
    value: 21.5,
    tags: { site: 'berlin', rack: 'r-7' },
    unit: 'Cel',
  },
  { schemaVersion: 2, deviceId: 'dev-2', ts: Date.UTC(2024, 5, 1, 12, 59, 59, 999), metric: 'humidity', value: -0.000001 },
  { schemaVersion: 2, deviceId: 'dev-ü', ts: Date.UTC(2099, 11, 31, 23, 59, 59, 999), metric: 'temp_c', value: 1e300, tags: {} },
];

describe('readings Parquet encoding', () => {
  it('round-trips values, millisecond UTC timestamps and tags through hyparquet', async () => {
    const file = toArrayBuffer(encodeReadings(rows));
    const decoded = await parquetReadObjects({ file });
    expect(decoded).toHaveLength(3);
    expect(decoded[0]).toEqual({
      schema_version: 2,
      device_id: 'dev-1',
      ts: new Date(Date.UTC(2024, 5, 1, 12, 0, 0, 123)),
      metric: 'temp_c',
      value: 21.5,
      tags: { site: 'berlin', rack: 'r-7' },
      unit: 'Cel',
    });
    expect(decoded[1].tags).toBeUndefined();
    expect(decoded[1].unit).toBeNull();
    expect(decoded[1].value).toBe(-0.000001);
    expect((decoded[1].ts as Date).getTime()).toBe(rows[1].ts);
    expect(decoded[2]).toMatchObject({ device_id: 'dev-ü', value: 1e300, tags: {} });
    expect((decoded[2].ts as Date).toISOString()).toBe('2099-12-31T23:59:59.999Z');
  });

  it('writes the lake columns in contract order with types matching their Glue types', () => {
    const schema = parquetSchema(parquetMetadata(toArrayBuffer(encodeReadings(rows))));
    expect(schema.children.map((c) => c.element.name)).toEqual(lakeLayout.columns.map((c) => c.name));
    const byName = Object.fromEntries(schema.children.map((c) => [c.element.name, c]));
    expect(byName.schema_version.element).toMatchObject({ type: 'INT32', repetition_type: 'REQUIRED' });
    expect(byName.ts.element).toMatchObject({ type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' });
    expect(byName.value.element).toMatchObject({ type: 'DOUBLE' });
    expect(byName.device_id.element).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' });
    // An optional field of the contract (v2's unit) is a nullable column.
    expect(byName.unit.element).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
    // map<string,string>: an optional MAP group with a repeated key_value of two strings.
    expect(byName.tags.element).toMatchObject({ converted_type: 'MAP', repetition_type: 'OPTIONAL' });
    const kv = byName.tags.children[0];
    expect(kv.element).toMatchObject({ name: 'key_value', repetition_type: 'REPEATED' });
    expect(kv.children.map((c) => [c.element.name, c.element.type, c.element.converted_type])).toEqual([
      ['key', 'BYTE_ARRAY', 'UTF8'],
      ['value', 'BYTE_ARRAY', 'UTF8'],
    ]);
    expect(readingsParquetSchema[0]).toEqual({ name: 'root', num_children: lakeLayout.columns.length });
  });

  it('stores lineage metadata in the footer and keeps row order', async () => {
    const many: TelemetryReading[] = Array.from({ length: 5_000 }, (_, i) => ({
      schemaVersion: 2,
      deviceId: `dev-${i % 17}`,
      ts: Date.UTC(2024, 0, 1) + i,
      metric: 'm',
      value: i / 3,
    }));
    const bytes = encodeReadings(many, { metadata: { 'sdp.source': 'telemetry.clean.v1+3', 'sdp.offsets': '100-5099' } });
    const meta = parquetMetadata(toArrayBuffer(bytes));
    expect(Number(meta.num_rows)).toBe(5_000);
    expect(meta.key_value_metadata).toEqual(
      expect.arrayContaining([
        { key: 'sdp.source', value: 'telemetry.clean.v1+3' },
        { key: 'sdp.offsets', value: '100-5099' },
      ]),
    );
    const decoded = await parquetReadObjects({ file: toArrayBuffer(bytes), columns: ['value'] });
    expect(decoded.map((r) => r.value)).toEqual(many.map((r) => r.value));
  });

  it('is deterministic: identical rows give identical bytes (re-uploads are true overwrites)', () => {
    expect(Buffer.from(encodeReadings(rows)).equals(Buffer.from(encodeReadings(rows)))).toBe(true);
  });
});

describe('readings Parquet decoding (the lake-sink reads its parts back)', () => {
  it('decodes to readings that encode to the same bytes, with the footer metadata', async () => {
    const metadata = { 'sdp.source.first_offset': '7', 'sdp.lake.part_of': 'raw/telemetry/x.parquet' };
    const body = encodeReadings(rows, { metadata });
    const decoded = await decodeReadings(body);
    expect(decoded.readings).toHaveLength(rows.length);
    expect(decoded.readings[0]).toEqual(rows[0]);
    expect(decoded.metadata).toEqual(metadata);
    expect(Buffer.from(encodeReadings(decoded.readings, { metadata })).equals(Buffer.from(body))).toBe(true);
  });
});
