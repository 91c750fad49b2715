/**
 * CQL upserts derived from the table declarations in apps/contracts: the statement, its bound
 * values and the partition/primary keys all come from `TableDeclaration`, so a contract change
 * that leaves a column without a source (or a field without a column) fails at startup instead
 * of silently writing nulls or dropping a field.
 */
import { aggregatesTable, cqlName, readingsTable, TableDeclaration } from '../contracts/tables';
import { aggregateColumns, ColumnSpec, readingColumns, TelemetryAggregate, TelemetryReading } from '../contracts/telemetry';

/** A contract column map: every field of `T` (optional ones included) has a storage column. */
export type ColumnMapOf<T> = { readonly [K in keyof T]-?: ColumnSpec };

/** Columns not carried by the event itself (e.g. `day`), computed from it. */
export type DerivedColumns<T> = Readonly<Record<string, (record: T) => unknown>>;

export interface RowWriter<T> {
  readonly table: TableDeclaration;
  /** `INSERT INTO ks.table (...) VALUES (?, ...)`: a plain INSERT is an idempotent upsert (no LWT). */
  readonly cql: string;
  /** Bound values in the statement's column order; `undefined` leaves a column unset (no tombstone). */
  params(record: T): unknown[];
  /** Identifies the row's Cassandra partition (table included): a batch never spans two. */
  partitionKey(params: readonly unknown[]): string;
  /** Identifies the row (table included): a later write to the same key overwrites the earlier. */
  primaryKey(params: readonly unknown[]): string;
}

/** Separator that cannot occur in the contract's identifiers or ISO dates. */
const SEP = '\u0000';

export function rowWriter<T>(keyspace: string, table: TableDeclaration, columns: ColumnMapOf<T>, derived: DerivedColumns<T> = {}): RowWriter<T> {
  const fieldByColumn = new Map<string, { field: keyof T; spec: ColumnSpec }>();
  for (const [field, spec] of Object.entries(columns) as [keyof T & string, ColumnSpec][]) {
    if (!table.columns.some((c) => c.name === spec.column)) {
      throw new Error(`Field "${field}" maps to column "${spec.column}", which table ${table.name} does not declare`);
    }
    fieldByColumn.set(spec.column, { field, spec });
  }
  const extractors = table.columns.map((c): ((record: T) => unknown) => {
    const mapped = fieldByColumn.get(c.name);
    if (mapped?.spec.cqlEncoding === 'json') {
      const { field } = mapped;
      // An absent field stays unset (no tombstone); the same value always gives the same text, so replays rewrite it unchanged.
      return (record) => (record[field] === undefined || record[field] === null ? record[field] : JSON.stringify(record[field]));
    }
    if (mapped !== undefined) {
      const { field } = mapped;
      return (record) => record[field];
    }
    const compute = derived[c.name];
    if (compute) return compute;
    throw new Error(`Column ${table.name}.${c.name} has neither a contract field nor a derived value`);
  });

  const indexOf = (name: string) => {
    const i = table.columns.findIndex((c) => c.name === name);
    if (i < 0) throw new Error(`Key column ${table.name}.${name} is not among the table's columns`);
    return i;
  };
  const partitionIdx = table.partitionKey.map(indexOf);
  const primaryIdx = [...partitionIdx, ...table.clusteringKey.map((c) => indexOf(c.name))];
  const keyOf = (idx: readonly number[]) => (params: readonly unknown[]) => {
    let key = table.name;
    for (const i of idx) key += SEP + String(params[i]);
    return key;
  };

  const names = table.columns.map((c) => cqlName(c.name)).join(', ');
  const marks = table.columns.map(() => '?').join(', ');
  return {
    table,
    cql: `INSERT INTO ${keyspace}.${table.name} (${names}) VALUES (${marks})`,
    params: (record) => extractors.map((extract) => extract(record)),
    partitionKey: keyOf(partitionIdx),
    primaryKey: keyOf(primaryIdx),
  };
}

const DAY_MS = 86_400_000;
let cachedDay = NaN;
let cachedDayText = '';

/** `YYYY-MM-DD` (UTC) of an epoch-millis instant, the form the driver binds to a CQL `date`. */
export function utcDay(epochMs: number): string {
  const day = Math.floor(epochMs / DAY_MS);
  // Consecutive records almost always share a day; skip the Date round trip for them.
  if (day !== cachedDay) {
    cachedDayText = new Date(day * DAY_MS).toISOString().slice(0, 10);
    cachedDay = day;
  }
  return cachedDayText;
}

/** Readings by device and event day (`readings_by_device_day`). */
export const readingsWriter = (keyspace: string): RowWriter<TelemetryReading> =>
  rowWriter<TelemetryReading>(keyspace, readingsTable, readingColumns, { day: (r) => utcDay(r.ts) });

/** Aggregates by device and the day their window starts (`aggregates_by_device_minute`). */
export const aggregatesWriter = (keyspace: string): RowWriter<TelemetryAggregate> =>
  rowWriter<TelemetryAggregate>(keyspace, aggregatesTable, aggregateColumns, { day: (a) => utcDay(a.windowStart) });
