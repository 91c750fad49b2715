/**
 * Parquet encoding of readings with the lake table's columns (`lakeLayout.columns`, derived
 * from the contract): the Glue type of each column picks its Parquet type, so the files and the
 * Glue/Athena table cannot disagree.
 */
import type * as Hyparquet from 'hyparquet';
import type * as HyparquetWriter from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { lakeLayout } from '../contracts/lake';
import { readingColumns, TelemetryReading } from '../contracts/telemetry';
import { requireEsm } from './esm';

const { parquetWriteBuffer } = requireEsm<typeof HyparquetWriter>('hyparquet-writer');
const { parquetMetadata, parquetReadObjects } = requireEsm<typeof Hyparquet>('hyparquet');

type GlueColumn = (typeof lakeLayout.columns)[number];

/** Parquet schema elements (a column, or a MAP group and its children) for one Glue type; optional fields are OPTIONAL columns. */
function parquetElements(column: GlueColumn): SchemaElement[] {
  const name = column.name;
  const repetition_type = column.optional ? 'OPTIONAL' : 'REQUIRED';
  switch (column.type) {
    case 'int':
      return [{ name, type: 'INT32', repetition_type }];
    case 'bigint':
      return [{ name, type: 'INT64', repetition_type }];
    case 'double':
      return [{ name, type: 'DOUBLE', repetition_type }];
    case 'string':
      return [{ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type }];
    case 'timestamp':
      return [
        {
          name,
          type: 'INT64',
          converted_type: 'TIMESTAMP_MILLIS',
          logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
          repetition_type,
        },
      ];
    case 'map<string,string>':
      // The standard three-level MAP layout that Athena, Spark and DuckDB read.
      return [
        { name, repetition_type: 'OPTIONAL', converted_type: 'MAP', logical_type: { type: 'MAP' }, num_children: 1 },
        { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
        { name: 'key', type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'REQUIRED' },
        { name: 'value', type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'OPTIONAL' },
      ];
    default:
      throw new Error(`Lake column "${name}" has Glue type "${column.type as string}", which the lake sink cannot encode`);
  }
}

const fieldByColumn = new Map((Object.entries(readingColumns) as [keyof TelemetryReading, { column: string }][]).map(([field, spec]) => [spec.column, field]));

const columns = lakeLayout.columns.map((c) => {
  const field = fieldByColumn.get(c.name);
  if (!field) throw new Error(`Lake column "${c.name}" has no field in readingColumns`);
  return { name: c.name, field, type: c.type };
});

/** The file schema: root, then the lake columns in declaration order. */
export const readingsParquetSchema: SchemaElement[] = [
  { name: 'root', num_children: lakeLayout.columns.length },
  ...lakeLayout.columns.flatMap(parquetElements),
];

export interface EncodeOptions {
  /** Stored in the file footer (e.g. source topic/partition/offsets) for lineage. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Encodes readings (in order) as one Parquet file, SNAPPY-compressed. */
export function encodeReadings(rows: readonly TelemetryReading[], opts: EncodeOptions = {}): Uint8Array {
  const columnData = columns.map(({ name, field }) => ({ name, data: rows.map((r) => r[field] ?? null) }));
  const buffer = parquetWriteBuffer({
    columnData,
    schema: readingsParquetSchema,
    codec: 'SNAPPY',
    // One row group per file: files are bounded by LAKE_SINK_MAX_RECORDS, and readers prune by file.
    rowGroupSize: Math.max(1, rows.length),
    kvMetadata: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    createdBy: 'streaming-data-platform lake-sink',
  });
  return new Uint8Array(buffer);
}

/** A decoded Parquet value back in the reading's own representation (what `encodeReadings` was given). */
function fromParquet(value: unknown, type: GlueColumn['type']): unknown {
  if (type === 'timestamp') return value instanceof Date ? value.getTime() : Number(value);
  if (type === 'bigint' || type === 'int') return typeof value === 'bigint' ? Number(value) : value;
  return value;
}

/**
 * Decodes a file `encodeReadings` wrote (the lake-sink reads its own parts back after a restart):
 * the readings in order, so that encoding them again gives the same bytes, and the footer's
 * key-value metadata.
 */
export async function decodeReadings(body: Uint8Array): Promise<{ readings: TelemetryReading[]; metadata: Record<string, string> }> {
  const file = body.slice().buffer;
  const meta = parquetMetadata(file);
  const objects = (await parquetReadObjects({ file, metadata: meta })) as Record<string, unknown>[];
  const readings = objects.map((o) => {
    const r: Record<string, unknown> = {};
    for (const { name, field, type } of columns) {
      const v = o[name];
      if (v !== null && v !== undefined) r[field] = fromParquet(v, type);
    }
    return r as unknown as TelemetryReading;
  });
  const metadata: Record<string, string> = {};
  for (const { key, value } of meta.key_value_metadata ?? []) if (value !== undefined) metadata[key] = value;
  return { readings, metadata };
}
