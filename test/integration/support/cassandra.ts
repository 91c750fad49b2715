/**
 * Cassandra from the test's side: emptying the tables between scenarios and reading back every
 * row (with its write time, which proves a replay really rewrote it) of both tables.
 */
import { Client, types } from 'cassandra-driver';
import { aggregatesTable, cqlName, readingsTable } from '../../../apps/contracts';
import { endpoints } from '../../../scripts/local/local-services';

/** A short-lived client per call: Cassandra is stopped and restarted by one of the scenarios. */
export async function withCassandra<T>(fn: (client: Client, keyspace: string) => Promise<T>): Promise<T> {
  const e = endpoints();
  const client = new Client({
    contactPoints: [e.cassandraContactPoints],
    protocolOptions: { port: e.cassandraPort },
    localDataCenter: e.cassandraLocalDc,
    keyspace: e.cassandraKeyspace,
    socketOptions: { connectTimeout: 5_000, readTimeout: 60_000 },
    queryOptions: { consistency: types.consistencies.localQuorum, prepare: true },
  });
  await client.connect();
  try {
    return await fn(client, e.cassandraKeyspace);
  } finally {
    await client.shutdown();
  }
}

export async function truncateTables(): Promise<void> {
  await withCassandra(async (client, ks) => {
    for (const t of [readingsTable, aggregatesTable]) await client.execute(`TRUNCATE ${ks}.${t.name}`, [], { prepare: false });
  });
}

export async function countReadings(): Promise<number> {
  return withCassandra(async (client, ks) => {
    const rs = await client.execute(`SELECT COUNT(*) AS n FROM ${ks}.${readingsTable.name}`);
    return (rs.first().get('n') as types.Long).toNumber();
  });
}

export interface StoredReading {
  readonly deviceId: string;
  readonly day: string;
  readonly ts: number;
  readonly metric: string;
  readonly value: number;
  readonly tags: Readonly<Record<string, string>> | null;
  readonly unit: string | null;
  readonly schemaVersion: number;
  /** Write time, epoch microseconds. */
  readonly writtenAtUs: number;
}

export interface StoredAggregate {
  readonly deviceId: string;
  readonly day: string;
  readonly metric: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly avg: number;
  readonly sum: number;
  readonly last: number;
  readonly lastTs: number;
  readonly schemaVersion: number;
  readonly writtenAtUs: number;
}

/**
 * Every row of the table, paged: each scenario starts from truncated tables, so this is exactly
 * its output. Whole pages through `execute`, not `eachRow`: the driver's row-streaming parser
 * fails on rows split across socket reads ("offset out of range" in FrameReader.readInt).
 */
async function allRows(client: Client, query: string): Promise<types.Row[]> {
  const rows: types.Row[] = [];
  let pageState: string | undefined;
  do {
    const rs = await client.execute(query, [], { prepare: true, fetchSize: 5_000, pageState });
    rows.push(...rs.rows);
    pageState = rs.pageState ?? undefined;
  } while (pageState);
  return rows;
}

const num = (v: unknown): number => (v instanceof types.Long ? v.toNumber() : Number(v));

export async function readReadings(): Promise<StoredReading[]> {
  return withCassandra(async (client, ks) => {
    const rows = await allRows(
      client,
      `SELECT device_id, day, ts, metric, value, tags, unit, schema_version, WRITETIME(value) AS wt FROM ${ks}.${readingsTable.name}`,
    );
    return rows.map((r) => ({
      deviceId: r.get('device_id') as string,
      day: String(r.get('day')),
      ts: (r.get('ts') as Date).getTime(),
      metric: r.get('metric') as string,
      value: r.get('value') as number,
      // JSON text (readingColumns.tags.cqlEncoding): '{}' is an empty map, null no tags.
      tags: r.get('tags') === null ? null : (JSON.parse(r.get('tags') as string) as Record<string, string>),
      unit: (r.get('unit') as string | null) ?? null,
      schemaVersion: r.get('schema_version') as number,
      writtenAtUs: num(r.get('wt')),
    }));
  });
}

export async function readAggregates(): Promise<StoredAggregate[]> {
  const col = cqlName;
  return withCassandra(async (client, ks) => {
    const rows = await allRows(
      client,
      `SELECT device_id, day, metric, window_start, window_end, ${col('count')}, ${col('min')}, ${col('max')}, ${col('avg')}, ` +
        `${col('sum')}, ${col('last')}, last_ts, schema_version, WRITETIME(${col('count')}) AS wt FROM ${ks}.${aggregatesTable.name}`,
    );
    return rows.map((r) => ({
      deviceId: r.get('device_id') as string,
      day: String(r.get('day')),
      metric: r.get('metric') as string,
      windowStart: (r.get('window_start') as Date).getTime(),
      windowEnd: (r.get('window_end') as Date).getTime(),
      count: num(r.get('count')),
      min: r.get('min') as number,
      max: r.get('max') as number,
      avg: r.get('avg') as number,
      sum: r.get('sum') as number,
      last: r.get('last') as number,
      lastTs: (r.get('last_ts') as Date).getTime(),
      schemaVersion: r.get('schema_version') as number,
      writtenAtUs: num(r.get('wt')),
    }));
  });
}
