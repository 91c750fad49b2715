/**
 * Turns a Kafka batch's rows into write units: UNLOGGED batches that stay inside one Cassandra
 * partition (a multi-partition batch makes one coordinator fan out and is slower than separate
 * writes) and hold at most 30 statements (Amazon Keyspaces' batch limit).
 */
import type { RowWriter } from './statements';

/** Amazon Keyspaces rejects batches with more than 30 statements. */
export const MAX_BATCH_STATEMENTS = 30;

export interface PendingRow {
  readonly writer: Pick<RowWriter<unknown>, 'cql' | 'partitionKey' | 'primaryKey'>;
  readonly params: readonly unknown[];
  /** What the row came from (its Kafka message), handed back if the store rejects the row. */
  readonly origin?: unknown;
}

export interface WriteStatement {
  readonly query: string;
  readonly params: readonly unknown[];
  readonly origin?: unknown;
}

/** One request to Cassandra: a single statement, or an UNLOGGED batch within one partition. */
export interface WriteUnit {
  readonly partitionKey: string;
  readonly statements: readonly WriteStatement[];
}

/**
 * Groups rows by partition and chunks each group into units of at most `maxStatements`.
 *
 * Rows are de-duplicated by primary key first, keeping the last (highest offset): statements in
 * one batch share a write timestamp, so two writes to one row would be resolved by comparing
 * values rather than by order, and across concurrent units the order is not defined either.
 * Rows of one partition come from one Kafka partition (both are keyed by device), so keeping
 * the last per Kafka batch makes the final row the one with the highest offset.
 */
export function planWrites(rows: readonly PendingRow[], maxStatements = MAX_BATCH_STATEMENTS): WriteUnit[] {
  if (!Number.isInteger(maxStatements) || maxStatements < 1) {
    throw new Error(`maxStatements must be a positive integer, got ${maxStatements}`);
  }
  const latest = new Map<string, PendingRow>();
  for (const row of rows) {
    const key = row.writer.primaryKey(row.params);
    // Delete first so the surviving row takes the later position (Map keeps insertion order).
    latest.delete(key);
    latest.set(key, row);
  }

  const byPartition = new Map<string, WriteStatement[]>();
  for (const row of latest.values()) {
    const partitionKey = row.writer.partitionKey(row.params);
    let group = byPartition.get(partitionKey);
    if (!group) byPartition.set(partitionKey, (group = []));
    group.push({ query: row.writer.cql, params: row.params, origin: row.origin });
  }

  const units: WriteUnit[] = [];
  for (const [partitionKey, statements] of byPartition) {
    for (let i = 0; i < statements.length; i += maxStatements) {
      units.push({ partitionKey, statements: statements.slice(i, i + maxStatements) });
    }
  }
  return units;
}
