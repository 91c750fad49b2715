/**
 * The data lake's raw telemetry layout: one declaration for the lake sink's object keys and
 * the Glue table (with partition projection) that Athena queries.
 */
import { ColumnSpec, readingColumns, TelemetryReading, telemetryReadingSchema } from './telemetry';

const readingFields = Object.entries(readingColumns) as [keyof TelemetryReading, ColumnSpec][];

export const lakeLayout = {
  /** Prefix under the lake bucket; the Glue table's location. */
  prefix: 'raw/telemetry/',
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

/** `raw/telemetry/dt=YYYY-MM-DD/hour=HH/` for an event time in epoch ms (UTC). */
export function lakePartitionPrefix(eventTimeMs: number): string {
  const d = new Date(eventTimeMs);
  const dt = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return `${lakeLayout.prefix}dt=${dt}/hour=${pad(d.getUTCHours())}/`;
}

/** Confluent S3 sink naming: deterministic under replay, so re-uploads overwrite, never duplicate. */
export function lakeObjectKey(eventTimeMs: number, topic: string, partition: number, startOffset: string): string {
  return `${lakePartitionPrefix(eventTimeMs)}${topic}+${partition}+${startOffset.padStart(10, '0')}.parquet`;
}
