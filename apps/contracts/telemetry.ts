/**
 * The telemetry data contract: the ONE declaration of the event shapes that cross a boundary.
 *
 * The zod schemas validate events in the apps; the column maps beside them are typed against
 * the schemas' keys, so the Cassandra/Keyspaces tables (./tables.ts) and the lake table
 * (./lake.ts) cannot drift from the events without a compile error. The contracts at the end
 * declare each event's versions (./versions.ts), which the Glue Schema Registry registers and the
 * compatibility check in `npm test` holds to their rules.
 */
import { z } from 'zod';
import { TopicKey } from './topics';
import { AnyContract, defineContract } from './versions';

/** The version of the aggregate and alert contracts (the reading has versions of its own). */
export const TELEMETRY_SCHEMA_VERSION = 1 as const;

/** Event time is epoch milliseconds; this window rejects seconds-vs-millis mix-ups and garbage. */
export const MIN_EVENT_TS = Date.UTC(2000, 0, 1);
export const MAX_EVENT_TS = Date.UTC(2100, 0, 1);

/**
 * Bounds that keep every valid reading storable unchanged in both stores (docs/input-safety.md):
 * the largest reading (64 tags of 64 + 256 UTF-16 units, at most 3 UTF-8 bytes each, plus the
 * 128-byte device id) is under 64 KB, and under 128 KB with its tags as JSON text in Cassandra (at
 * most 6 bytes per unit, a `\u001f` escape): far inside Keyspaces' 1 MB row. Its keys (device id +
 * day; ts + a 64-byte metric) inside Keyspaces' 2048-byte partition and 850-byte clustering keys.
 */
export const MAX_TAGS = 64;
export const MAX_TAG_KEY_CHARS = 64;
export const MAX_TAG_VALUE_CHARS = 256;

/**
 * No lone surrogate: the stores hold UTF-8, and the drivers (Cassandra's, the Parquet writer's)
 * would store U+FFFD in its place. Written as a pattern so the registry's JSON Schema says it too.
 */
const WELL_FORMED = /^(?:[^\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;
const WELL_FORMED_MESSAGE = 'must be well-formed Unicode (no lone surrogate)';
/**
 * Also not `__proto__` (assigning it to a plain object sets the prototype, so the tag would
 * vanish) nor `hasOwnProperty` (cassandra-driver's map encoder calls `tags.hasOwnProperty` and
 * throws, which crash-looped the sink: found by test/integration/hostile-input.test.ts).
 */
const TAG_KEY = /^(?!(?:__proto__|hasOwnProperty)$)(?:[^\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;
const TAG_KEY_MESSAGE = 'must be well-formed Unicode (no lone surrogate), not "__proto__" nor "hasOwnProperty"';

/** The tags of a reading, the same in every version: bounded, well-formed, no key that breaks a store. */
const readingTagsSchema = z
  .record(z.string().min(1).max(MAX_TAG_KEY_CHARS).regex(TAG_KEY, TAG_KEY_MESSAGE), z.string().max(MAX_TAG_VALUE_CHARS).regex(WELL_FORMED, WELL_FORMED_MESSAGE))
  .refine((tags) => Object.keys(tags).length <= MAX_TAGS, `at most ${MAX_TAGS} tags`)
  .meta({ maxProperties: MAX_TAGS });

export const telemetryReadingSchemaV1 = z
  .object({
    schemaVersion: z.literal(1),
    deviceId: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9._:-]+$/, 'must contain only letters, digits, ".", "_", ":" or "-"'),
    ts: z.number().int().min(MIN_EVENT_TS).max(MAX_EVENT_TS),
    metric: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[a-z][a-z0-9_.]*$/, 'must be lower_snake_case (letters, digits, "_", ".")'),
    value: z.number().finite(),
    tags: readingTagsSchema.optional(),
  })
  .strict();

export type TelemetryReadingV1 = z.infer<typeof telemetryReadingSchemaV1>;

/** v2: an optional unit. v1 stays as it is; v1 readings still parse as v1. */
export const telemetryReadingSchemaV2 = telemetryReadingSchemaV1.extend({
  schemaVersion: z.literal(2),
  /** The unit of `value`, as a UCUM code (`Cel`, `%`, `hPa`); absent when the device does not say. */
  unit: z.string().min(1).max(16).optional(),
});

export type TelemetryReadingV2 = z.infer<typeof telemetryReadingSchemaV2>;

/** A v1 reading is a v2 reading whose unit is unknown. */
export const upcastReadingV1 = (r: TelemetryReadingV1): TelemetryReadingV2 => ({ ...r, schemaVersion: 2 });

/** The newest reading: what producers write, the processor upcasts to, and the clean topic carries. */
export const telemetryReadingSchema = telemetryReadingSchemaV2;
export type TelemetryReading = TelemetryReadingV2;
export const READING_SCHEMA_VERSION = 2 as const;

/** A 1-minute tumbling-window aggregate per device and metric, keyed on event time. */
export const telemetryAggregateSchema = z
  .object({
    schemaVersion: z.literal(TELEMETRY_SCHEMA_VERSION),
    deviceId: telemetryReadingSchemaV1.shape.deviceId,
    metric: telemetryReadingSchemaV1.shape.metric,
    windowStart: z.number().int().min(MIN_EVENT_TS).max(MAX_EVENT_TS),
    windowEnd: z.number().int().min(MIN_EVENT_TS).max(MAX_EVENT_TS),
    count: z.number().int().positive(),
    min: z.number().finite(),
    max: z.number().finite(),
    avg: z.number().finite(),
    sum: z.number().finite(),
    last: z.number().finite(),
    lastTs: z.number().int(),
  })
  .strict();

export type TelemetryAggregate = z.infer<typeof telemetryAggregateSchema>;

/** The aggregate statistics a threshold rule can test. */
export const ALERT_STATISTICS = ['min', 'max', 'avg', 'last'] as const;

/** A 1-minute aggregate that crossed a threshold: which rule, and the value that crossed it. */
export const telemetryAlertSchema = z
  .object({
    schemaVersion: z.literal(TELEMETRY_SCHEMA_VERSION),
    deviceId: telemetryReadingSchemaV1.shape.deviceId,
    metric: telemetryReadingSchemaV1.shape.metric,
    windowStart: telemetryAggregateSchema.shape.windowStart,
    windowEnd: telemetryAggregateSchema.shape.windowEnd,
    /** The rule as configured, e.g. `humidity.max>60`. */
    rule: z.string().min(1).max(200),
    statistic: z.enum(ALERT_STATISTICS),
    comparison: z.enum(['above', 'below']),
    threshold: z.number().finite(),
    value: z.number().finite(),
  })
  .strict();

export type TelemetryAlert = z.infer<typeof telemetryAlertSchema>;

/** Storage types of one field in each store. `cql` is the Cassandra/Keyspaces type, `glue` the Hive/Glue type. */
export interface ColumnSpec {
  readonly column: string;
  readonly cql: string;
  /**
   * `json`: Cassandra holds `JSON.stringify` of the field in a `text` column, for a shape that
   * Keyspaces cannot declare through Terraform (see `tags`); readers `JSON.parse` it.
   * @default the field is bound as is
   */
  readonly cqlEncoding?: 'json';
  readonly glue: string;
  readonly comment: string;
}

/** Every field of `T`, optional ones included, has a column: a new field without one does not compile. */
type ColumnMap<T> = { readonly [K in keyof Required<T>]: ColumnSpec };

export const readingColumns: ColumnMap<TelemetryReading> = {
  schemaVersion: { column: 'schema_version', cql: 'int', glue: 'int', comment: 'Event schema version' },
  deviceId: { column: 'device_id', cql: 'text', glue: 'string', comment: 'Device identifier' },
  ts: { column: 'ts', cql: 'timestamp', glue: 'timestamp', comment: 'Event time (UTC)' },
  metric: { column: 'metric', cql: 'text', glue: 'string', comment: 'Metric name' },
  value: { column: 'value', cql: 'double', glue: 'double', comment: 'Reading value' },
  // JSON text in Cassandra/Keyspaces: the aws provider rejects `frozen<map<text, text>>` at plan
  // (its column-type pattern allows no nested type), and a plain map would write a collection
  // tombstone with every INSERT and read an empty map back as null. Text keeps {} and absent apart.
  tags: { column: 'tags', cql: 'text', cqlEncoding: 'json', glue: 'map<string,string>', comment: 'Free-form device tags' },
  // v2. Null in the rows of v1 readings and in lake files written before v2.
  unit: { column: 'unit', cql: 'text', glue: 'string', comment: 'Unit of value (UCUM code), since v2' },
};

export const aggregateColumns: ColumnMap<TelemetryAggregate> = {
  schemaVersion: { column: 'schema_version', cql: 'int', glue: 'int', comment: 'Event schema version' },
  deviceId: readingColumns.deviceId,
  metric: readingColumns.metric,
  windowStart: { column: 'window_start', cql: 'timestamp', glue: 'timestamp', comment: 'Window start (inclusive, event time)' },
  windowEnd: { column: 'window_end', cql: 'timestamp', glue: 'timestamp', comment: 'Window end (exclusive, event time)' },
  count: { column: 'count', cql: 'bigint', glue: 'bigint', comment: 'Readings in the window' },
  min: { column: 'min', cql: 'double', glue: 'double', comment: 'Minimum value' },
  max: { column: 'max', cql: 'double', glue: 'double', comment: 'Maximum value' },
  avg: { column: 'avg', cql: 'double', glue: 'double', comment: 'Mean value' },
  sum: { column: 'sum', cql: 'double', glue: 'double', comment: 'Sum of values' },
  last: { column: 'last', cql: 'double', glue: 'double', comment: 'Value of the latest reading by event time' },
  lastTs: { column: 'last_ts', cql: 'timestamp', glue: 'timestamp', comment: 'Event time of the latest reading' },
};

// Contracts: the versions of each event, oldest first. A new version is one more entry
// (README, "How to evolve a contract"). The DLQ is not one: its records are the failed
// records' own bytes, whatever they were, with context headers (`dlqHeaders` in ./topics.ts).

export const telemetryReadingContract = defineContract({
  name: 'telemetry.reading',
  description: 'A device reading, as devices send it (raw topic) and once validated (clean topic)',
  versionField: 'schemaVersion',
  versions: [
    { version: 1, schema: telemetryReadingSchemaV1, compatibility: 'BACKWARD', topics: ['raw', 'clean'] },
    { version: 2, schema: telemetryReadingSchemaV2, compatibility: 'BACKWARD', upcast: upcastReadingV1 },
  ],
});

export const telemetryAggregateContract = defineContract({
  name: 'telemetry.aggregate',
  description: 'A 1-minute tumbling-window aggregate per device and metric, on event time',
  versionField: 'schemaVersion',
  versions: [{ version: 1, schema: telemetryAggregateSchema, compatibility: 'BACKWARD', topics: ['aggregates'] }],
});

export const telemetryAlertContract = defineContract({
  name: 'telemetry.alert',
  description: 'A 1-minute aggregate that crossed a configured threshold',
  versionField: 'schemaVersion',
  versions: [{ version: 1, schema: telemetryAlertSchema, compatibility: 'BACKWARD', topics: ['alerts'] }],
});

export const contracts = {
  reading: telemetryReadingContract,
  aggregate: telemetryAggregateContract,
  alert: telemetryAlertContract,
} as const satisfies Record<string, AnyContract>;

export const allContracts: readonly AnyContract[] = Object.values(contracts);

/** The contracts some version of which is carried on one of `topicKeys`, in declaration order. */
export function contractsOnTopics(topicKeys: readonly TopicKey[]): AnyContract[] {
  return allContracts.filter((c) => c.versions.some((v) => v.topics.some((t) => topicKeys.includes(t))));
}
