/**
 * Reads a run's readings back from both stores, so the summary states what is really there, not
 * what the apps say they wrote. A run is identified by its event-time window: the producer stamps
 * readings with the wall clock, so earlier runs against the same services fall outside it.
 *
 * - Cassandra: the partitions (device, day) of the window's days, then a COUNT per partition
 *   restricted to the window (the clustering key `ts` makes that a slice, not a scan).
 * - Lake: the Parquet objects under the window's `dt=` prefixes written since the run began are
 *   downloaded and queried with DuckDB, as Athena would query the Glue table, plus the freshness
 *   parts of files still open, by the reader rule of docs/lake.md.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { Client, concurrent, types } from 'cassandra-driver';
import * as fs from 'fs';
import * as path from 'path';
import { lakeFileKeyOfPart, lakeLayout, lakePartitionPrefix } from '../../../apps/contracts/lake';
import { cqlName, readingsTable } from '../../../apps/contracts/tables';

/** Event time of this run's readings, epoch ms, both ends inclusive. */
export interface RunWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface MetricStat {
  readonly metric: string;
  readonly count: number;
  readonly avg: number;
}

export interface DevicePartition {
  readonly deviceId: string;
  /** UTC day, YYYY-MM-DD. */
  readonly day: string;
}

const DAY_MS = 86_400_000;

/** The UTC days (YYYY-MM-DD) a window touches. */
export function daysOf(window: RunWindow): string[] {
  const days: string[] = [];
  for (let d = Math.floor(window.fromMs / DAY_MS); d <= Math.floor(window.toMs / DAY_MS); d++) {
    days.push(new Date(d * DAY_MS).toISOString().slice(0, 10));
  }
  return days;
}

// ---------------------------------------------------------------------------------------------
// Cassandra

export interface CassandraRun {
  /** Readings of the window in readings_by_device_day. */
  readonly readings: number;
  readonly sentAs: SentAs;
  /** The partition with the most readings of the window. */
  readonly busiest?: DevicePartition & { readonly count: number };
}

const col = (name: string) => cqlName(name);

export async function countCassandraRun(client: Client, keyspace: string, window: RunWindow): Promise<CassandraRun> {
  const table = `${keyspace}.${readingsTable.name}`;
  const days = new Set(daysOf(window));
  const partitions: DevicePartition[] = [];
  // DISTINCT over the partition key reads partition headers only; the driver pages through them.
  const distinct = await client.execute(`SELECT DISTINCT ${col('device_id')}, ${col('day')} FROM ${table}`, [], { prepare: true, fetchSize: 5_000 });
  for await (const row of distinct) {
    const day = String(row.get('day'));
    if (days.has(day)) partitions.push({ deviceId: row.get('device_id') as string, day });
  }
  if (partitions.length === 0) return { readings: 0, sentAs: { v1: 0, v2: 0 } };
  // COUNT(column) counts the rows where it is set.
  const results = await concurrent.executeConcurrent(
    client,
    `SELECT COUNT(*) AS n, COUNT(${col('unit')}) AS with_unit FROM ${table} WHERE ${col('device_id')} = ? AND ${col('day')} = ? AND ${col('ts')} >= ? AND ${col('ts')} <= ?`,
    partitions.map((p) => [p.deviceId, types.LocalDate.fromString(p.day), new Date(window.fromMs), new Date(window.toMs)]),
    { concurrencyLevel: 32, collectResults: true },
  );
  let readings = 0;
  let v2 = 0;
  let busiest: CassandraRun['busiest'];
  results.resultItems.forEach((rs, i) => {
    const n = Number((rs.first().get('n') as types.Long).toString());
    readings += n;
    v2 += Number((rs.first().get('with_unit') as types.Long).toString());
    if (n > 0 && (busiest === undefined || n > busiest.count)) busiest = { ...partitions[i], count: n };
  });
  return { readings, sentAs: { v1: readings - v2, v2 }, busiest };
}

/** Readings per metric of one partition within the window, aggregated client side (CQL cannot group by a non-prefix column). */
export async function cassandraMetricStats(client: Client, keyspace: string, p: DevicePartition, window: RunWindow): Promise<MetricStat[]> {
  const rs = await client.execute(
    `SELECT ${col('metric')}, ${col('value')} FROM ${keyspace}.${readingsTable.name} ` +
      `WHERE ${col('device_id')} = ? AND ${col('day')} = ? AND ${col('ts')} >= ? AND ${col('ts')} <= ?`,
    [p.deviceId, types.LocalDate.fromString(p.day), new Date(window.fromMs), new Date(window.toMs)],
    { prepare: true, fetchSize: 5_000 },
  );
  const acc = new Map<string, { count: number; sum: number }>();
  for await (const row of rs) {
    const metric = row.get('metric') as string;
    const a = acc.get(metric) ?? { count: 0, sum: 0 };
    a.count += 1;
    a.sum += row.get('value') as number;
    acc.set(metric, a);
  }
  return [...acc]
    .map(([metric, a]) => ({ metric, count: a.count, avg: a.sum / a.count }))
    .sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Lake

export interface LakeDownload {
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
}

/**
 * Downloads the lake objects that can hold the window's readings: under its days' `dt=` prefixes
 * and modified since the window began (a file of an earlier run that this run appended to is
 * rewritten, so it qualifies too). Keys keep their layout under `dir`, so DuckDB sees `dt=`/`hour=`.
 *
 * The reader rule (docs/lake.md): a part counts only while its file does not exist. Parts are
 * listed before files, so a file compacted in between hides its parts; a part deleted before
 * its download was compacted, and its file is downloaded instead. Counted parts land beside the
 * files (`raw/telemetry/dt=/hour=/<part name>`), so one glob reads both.
 */
export async function downloadLakeRun(s3: S3Client, bucket: string, window: RunWindow, dir: string): Promise<LakeDownload> {
  // S3 LastModified has second precision on some servers: allow for it.
  const since = window.fromMs - 2_000;
  const list = async (base: string) => {
    const found: { key: string; fresh: boolean }[] = [];
    for (const day of daysOf(window)) {
      const prefix = lakePartitionPrefix(Date.parse(`${day}T00:00:00Z`), base).replace(/hour=\d\d\/$/, '');
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
          if (o.Key?.endsWith('.parquet')) found.push({ key: o.Key, fresh: (o.LastModified?.getTime() ?? 0) >= since });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
    return found;
  };
  const parts = await list(lakeLayout.partsPrefix);
  const files = await list(lakeLayout.prefix);
  const fileKeys = new Set(files.map((f) => f.key));
  const keys = [
    ...files.filter((f) => f.fresh).map((f) => f.key),
    ...parts.filter((p) => p.fresh && !fileKeys.has(lakeFileKeyOfPart(p.key) ?? '')).map((p) => p.key),
  ];
  let bytes = 0;
  let downloaded = 0;
  const saved = new Set<string>();
  const get = async (key: string): Promise<Uint8Array | undefined> => {
    try {
      const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await obj.Body!.transformToByteArray();
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw err;
    }
  };
  const save = (key: string, body: Uint8Array) => {
    const local = key.startsWith(lakeLayout.partsPrefix) ? lakeLayout.prefix + key.slice(lakeLayout.partsPrefix.length) : key;
    if (saved.has(local)) return;
    saved.add(local);
    const file = path.join(dir, local);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
    bytes += body.byteLength;
    downloaded++;
  };
  const queue = [...keys];
  await Promise.all(
    Array.from({ length: Math.min(8, queue.length) }, async () => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        const body = await get(key);
        if (body) {
          save(key, body);
          continue;
        }
        const fileKey = lakeFileKeyOfPart(key);
        // A file is never deleted; a part only once its file exists.
        const file = fileKey === undefined ? undefined : await get(fileKey);
        if (!file || fileKey === undefined) throw new Error(`lake object ${key} vanished during the download, and no file replaces it`);
        save(fileKey, file);
      }
    }),
  );
  return { dir, files: downloaded, bytes };
}

/**
 * Readings by the contract version their device sent: every stored row is v2 (upcast by the
 * processor), and a unit is what only a v2 device sends, so rows without one were sent as v1.
 */
export interface SentAs {
  readonly v1: number;
  readonly v2: number;
}

export interface LakeRun {
  readonly records: number;
  readonly sentAs: SentAs;
  /** Readings present more than once (same device, metric and ts); 0 when the lake is exact. */
  readonly duplicates: number;
}

/**
 * DuckDB over downloaded lake files, with a `raw_telemetry` view (the Glue table's name) that holds
 * only the window's readings, so sample queries read exactly as they would in Athena.
 */
export class LakeQuery {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    readonly empty: boolean,
  ) {}

  static async open(download: LakeDownload, window: RunWindow): Promise<LakeQuery> {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    const empty = download.files === 0;
    const glob = path.join(download.dir, lakeLayout.prefix, '**', '*.parquet').replace(/'/g, "''");
    const columns = lakeLayout.columns.map((c) => c.name).join(', ');
    // Without files read_parquet fails; an empty view with the same columns keeps queries valid.
    await conn.run(
      empty
        ? `CREATE VIEW ${lakeLayout.glueTableName} AS SELECT NULL::INTEGER AS schema_version, NULL::VARCHAR AS device_id, NULL::TIMESTAMPTZ AS ts, NULL::VARCHAR AS metric, NULL::DOUBLE AS value, NULL::VARCHAR AS unit, NULL::VARCHAR AS dt, NULL::VARCHAR AS hour WHERE false`
        : // union_by_name: files written before a contract version added a column lack it, and read it as null (as Athena does).
          `CREATE VIEW ${lakeLayout.glueTableName} AS SELECT ${columns}, dt::VARCHAR AS dt, lpad(hour::VARCHAR, 2, '0') AS hour ` +
            `FROM read_parquet('${glob}', hive_partitioning = true, union_by_name = true) WHERE epoch_ms(ts) BETWEEN ${Math.trunc(window.fromMs)} AND ${Math.trunc(window.toMs)}`,
    );
    return new LakeQuery(instance, conn, empty);
  }

  async totals(): Promise<LakeRun> {
    const r = await this.rows<{ records: bigint; with_unit: bigint; distinct_records: bigint }>(
      `SELECT (SELECT count(*) FROM ${lakeLayout.glueTableName}) AS records, ` +
        `(SELECT count(unit) FROM ${lakeLayout.glueTableName}) AS with_unit, ` +
        `(SELECT count(*) FROM (SELECT DISTINCT device_id, metric, ts FROM ${lakeLayout.glueTableName})) AS distinct_records`,
    );
    const records = Number(r[0].records);
    const v2 = Number(r[0].with_unit);
    return { records, duplicates: records - Number(r[0].distinct_records), sentAs: { v1: records - v2, v2 } };
  }

  /** The sample query, Athena-style SQL against the lake table. */
  static metricStatsSql(p: DevicePartition): string {
    return (
      `SELECT metric, count(*) AS readings, avg(value) AS avg_value\n` +
      `FROM ${lakeLayout.glueTableName}\n` +
      `WHERE dt = '${p.day}' AND device_id = '${p.deviceId.replace(/'/g, "''")}'\n` +
      `GROUP BY metric ORDER BY metric`
    );
  }

  async metricStats(p: DevicePartition): Promise<MetricStat[]> {
    const rows = await this.rows<{ metric: string; readings: bigint; avg_value: number }>(LakeQuery.metricStatsSql(p));
    return rows.map((r) => ({ metric: r.metric, count: Number(r.readings), avg: r.avg_value }));
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }

  private async rows<T>(sql: string): Promise<T[]> {
    return (await this.conn.runAndReadAll(sql)).getRowObjectsJS() as unknown as T[];
  }
}

/** True when both stores report the same readings per metric (averages equal up to float rounding). */
export function sameStats(a: readonly MetricStat[], b: readonly MetricStat[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => x.metric === b[i].metric && x.count === b[i].count && Math.abs(x.avg - b[i].avg) <= 1e-9 * Math.max(1, Math.abs(x.avg)));
}
