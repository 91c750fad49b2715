/**
 * The data lake's raw telemetry layout: one declaration for the lake sink's object keys and
 * the Glue table (with partition projection) that Athena queries.
 */
import { ColumnSpec, readingColumns, TelemetryReading, telemetryReadingSchema } from './telemetry';

const readingFields = Object.entries(readingColumns) as [keyof TelemetryReading, ColumnSpec][];

export const lakeLayout = {
  /** Prefix under the lake bucket; the Glue table's location. */
  prefix: 'raw/telemetry/',
  /**
   * Freshness parts of the files still open (docs/lake.md): beside, not under, `prefix`, so the
   * Glue table never lists them. A part counts only while its file's final object is absent.
   */
  partsPrefix: 'raw/telemetry_parts/',
  glueTableName: 'raw_telemetry',
  partitionKeys: [
    { name: 'dt', type: 'string', comment: 'Event date, UTC, yyyy-MM-dd' },
    { name: 'hour', type: 'string', comment: 'Event hour, UTC, 00-23' },
  ],
  /**
   * Readings columns in the Parquet files, derived from the contract; a field the schema makes
   * optional is a nullable column. A column added by a new contract version is absent from the
   * files written before it, which Athena (Parquet columns resolved by name) and DuckDB
   * (`union_by_name`) read as null.
   */
  columns: readingFields.map(([field, c]) => ({
    name: c.column,
    type: c.glue,
    comment: c.comment,
    optional: telemetryReadingSchema.shape[field].isOptional(),
  })),
  /** First date partition projection will consider. */
  projectionStartDate: '2024-01-01',
} as const;

const pad = (n: number) => String(n).padStart(2, '0');

/** `raw/telemetry/dt=YYYY-MM-DD/hour=HH/` (or under `base`) for an event time in epoch ms (UTC). */
export function lakePartitionPrefix(eventTimeMs: number, base: string = lakeLayout.prefix): string {
  const d = new Date(eventTimeMs);
  const dt = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return `${base}dt=${dt}/hour=${pad(d.getUTCHours())}/`;
}

const offsetKey = (offset: string) => offset.padStart(10, '0');

/** Confluent S3 sink naming: deterministic under replay, so re-uploads overwrite, never duplicate. */
export function lakeObjectKey(eventTimeMs: number, topic: string, partition: number, startOffset: string): string {
  return `${lakePartitionPrefix(eventTimeMs)}${topic}+${partition}+${offsetKey(startOffset)}.parquet`;
}

/**
 * The part of file `<topic>+<partition>+<fileStart>` holding its readings of the aligned
 * sub-block that starts at `partStart`: `raw/telemetry_parts/dt=/hour=/<topic>+<partition>+<fileStart>+<partStart>.parquet`.
 * Deterministic like the file's key, so a replay overwrites a part instead of adding one.
 */
export function lakePartKey(eventTimeMs: number, topic: string, partition: number, fileStart: string, partStart: string): string {
  return `${lakePartsPrefixOf(eventTimeMs, topic, partition, fileStart)}${offsetKey(partStart)}.parquet`;
}

/** The key prefix every part of one file shares (what the sink lists to delete them). */
export function lakePartsPrefixOf(eventTimeMs: number, topic: string, partition: number, fileStart: string): string {
  return `${lakePartitionPrefix(eventTimeMs, lakeLayout.partsPrefix)}${topic}+${partition}+${offsetKey(fileStart)}+`;
}

const PART_KEY = /^(.*\/)(dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/)(.+)\+(\d+)\+(\d{10})\+(\d{10})\.parquet$/;

/**
 * The final file a part key belongs to (the reader rule: the part counts only while that key is
 * absent), or undefined for a key that is not a part of `lakeLayout`.
 */
export function lakeFileKeyOfPart(partKey: string): string | undefined {
  const m = PART_KEY.exec(partKey);
  if (!m || m[1] !== lakeLayout.partsPrefix) return undefined;
  return `${lakeLayout.prefix}${m[2]}${m[3]}+${m[4]}+${m[5]}.parquet`;
}
