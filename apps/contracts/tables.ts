/**
 * Cassandra / Amazon Keyspaces tables, derived from the telemetry contract.
 * The Keyspaces construct turns these into `aws_keyspaces_table` schema definitions; the local
 * services and the tests turn them into CQL with `createTableCql`.
 */
import { aggregateColumns, ColumnSpec, readingColumns } from './telemetry';

export interface TableColumn {
  readonly name: string;
  readonly type: string;
}

export interface ClusteringColumn {
  readonly name: string;
  readonly order: 'ASC' | 'DESC';
}

export interface TableDeclaration {
  readonly name: string;
  readonly comment: string;
  readonly columns: readonly TableColumn[];
  readonly partitionKey: readonly string[];
  readonly clusteringKey: readonly ClusteringColumn[];
}

/** The UTC calendar day of the event, part of both partition keys to bound partition size. */
const dayColumn: TableColumn = { name: 'day', type: 'date' };

const toColumns = (specs: Record<string, ColumnSpec>): TableColumn[] => Object.values(specs).map((s) => ({ name: s.column, type: s.cql }));

export const readingsTable: TableDeclaration = {
  name: 'readings_by_device_day',
  comment: 'Clean telemetry readings, one row per (device, day, ts, metric)',
  columns: [...toColumns(readingColumns), dayColumn],
  partitionKey: ['device_id', 'day'],
  clusteringKey: [
    { name: 'ts', order: 'ASC' },
    { name: 'metric', order: 'ASC' },
  ],
};

export const aggregatesTable: TableDeclaration = {
  name: 'aggregates_by_device_minute',
  comment: '1-minute tumbling-window aggregates per device and metric (event time)',
  columns: [...toColumns(aggregateColumns), dayColumn],
  partitionKey: ['device_id', 'day'],
  clusteringKey: [
    { name: 'window_start', order: 'ASC' },
    { name: 'metric', order: 'ASC' },
  ],
};

export const tables: readonly TableDeclaration[] = [readingsTable, aggregatesTable];

/** Cassandra quotes reserved words such as `count`, `min`, `max`, `sum`. */
const RESERVED = new Set(['count', 'min', 'max', 'avg', 'sum', 'day', 'ts', 'value', 'last']);
export const cqlName = (name: string): string => (RESERVED.has(name) ? `"${name}"` : name);

export function createKeyspaceCql(keyspace: string, replicationFactor = 1): string {
  return `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ` + `{'class': 'SimpleStrategy', 'replication_factor': ${replicationFactor}}`;
}

export function createTableCql(keyspace: string, table: TableDeclaration, defaultTtlSeconds = 0): string {
  const cols = table.columns.map((c) => `${cqlName(c.name)} ${c.type}`).join(', ');
  const pk = `(${table.partitionKey.map(cqlName).join(', ')})`;
  const ck = table.clusteringKey.map((c) => cqlName(c.name)).join(', ');
  const order = table.clusteringKey.map((c) => `${cqlName(c.name)} ${c.order}`).join(', ');
  return (
    `CREATE TABLE IF NOT EXISTS ${keyspace}.${table.name} (${cols}, PRIMARY KEY (${pk}${ck ? `, ${ck}` : ''})) ` +
    `WITH CLUSTERING ORDER BY (${order}) AND default_time_to_live = ${defaultTtlSeconds} ` +
    `AND comment = '${table.comment.replace(/'/g, "''")}'`
  );
}
