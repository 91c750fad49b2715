import type * as Hyparquet from 'hyparquet';
import type { Batch, KafkaMessage } from 'kafkajs';
import { Counter, Gauge } from 'prom-client';
import { TelemetryReading, topics } from '../../apps/contracts';
import type { DeadLetterSink, RecordSource, Rejection } from '../../apps/lib/dead-letter';
import { lakeSinkEnv, lakeSinkOptionsOf } from '../../apps/lake-sink/config';
import { requireEsm } from '../../apps/lake-sink/esm';
import { classifyS3Error } from '../../apps/lake-sink/object-store';
import { LakeSink, LakeSinkMetrics } from '../../apps/lake-sink/sink';
import { runningBatchContext, runningIdleContext } from './batch-context';
import type { AssignmentContext, BatchContext, BatchResult, OffsetCommit, PartitionAssignment, SafeOffset } from '../../apps/lib/consumer';
import { LAST_OFFSET_METADATA } from '../../apps/lake-sink/restore';
import { loadConfig } from '../../apps/lib/config';
import { createLogger } from '../../apps/lib/logger';
import { createMetrics } from '../../apps/lib/metrics';

const { parquetReadObjects } = requireEsm<typeof Hyparquet>('hyparquet');

const TOPIC = topics.clean.name;
const H10 = Date.UTC(2024, 5, 1, 10);
const logger = createLogger('test', 'silent');

const reading = (offset: number, ts = H10 + offset): TelemetryReading => ({
  schemaVersion: 2,
  deviceId: `dev-${offset % 3}`,
  ts,
  metric: 'temp_c',
  value: offset,
});

function msg(offset: number, value: unknown = reading(offset)): KafkaMessage {
  return {
    key: null,
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    timestamp: String(Date.now() - 500),
    attributes: 0,
    offset: String(offset),
    headers: {},
  } as KafkaMessage;
}

function batchOf(partition: number, messages: KafkaMessage[]): Batch {
  const last = messages[messages.length - 1].offset;
  return {
    topic: TOPIC,
    partition,
    highWatermark: String(Number(last) + 1),
    messages,
    isEmpty: () => false,
    firstOffset: () => messages[0].offset,
    lastOffset: () => last,
    offsetLag: () => '0',
    offsetLagLow: () => '0',
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => msg(from + i));

class FakeStore {
  readonly objects = new Map<string, Uint8Array>();
  readonly metadata = new Map<string, Record<string, string>>();
  readonly puts: string[] = [];
  readonly reads: string[] = [];
  readonly deleted: string[] = [];
  failures: unknown[] = [];
  deleteFailures: unknown[] = [];
  async put(key: string, body: Uint8Array, metadata: Record<string, string> = {}) {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.puts.push(key);
    this.objects.set(key, body);
    this.metadata.set(key, { ...metadata });
  }
  async head(key: string) {
    this.reads.push(`HEAD ${key}`);
    return this.objects.has(key) ? { ...this.metadata.get(key) } : undefined;
  }
  async get(key: string) {
    this.reads.push(`GET ${key}`);
    const body = this.objects.get(key);
    if (!body) throw Object.assign(new Error(`NoSuchKey ${key}`), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    return body;
  }
  async list(prefix: string) {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async delete(keys: readonly string[]) {
    const failure = this.deleteFailures.shift();
    if (failure) throw failure;
    for (const k of keys) if (this.objects.delete(k)) this.deleted.push(k);
  }
  async offsets(key: string): Promise<number[]> {
    const body = this.objects.get(key);
    if (!body) throw new Error(`no object ${key}`);
    const rows = await parquetReadObjects({ file: body.slice().buffer });
    return rows.map((r) => r.value as number);
  }
}

class FakeDlq implements DeadLetterSink {
  readonly sent: Rejection[] = [];
  async send(_source: RecordSource, rejections: readonly Rejection[]) {
    this.sent.push(...rejections);
  }
}

const s3Error = (status: number) =>
  Object.assign(new Error(`status ${status}`), {
    name: status === 403 ? 'AccessDenied' : 'ServiceUnavailable',
    $metadata: { httpStatusCode: status },
  });

function setup(overrides: { blockSize?: number; maxFileBytes?: number; partRecords?: number; committed?: Record<number, string | SafeOffset> } = {}) {
  let now = 1_000_000;
  const store = new FakeStore();
  const dlq = new FakeDlq();
  const fatal: unknown[] = [];
  const base = createMetrics('lake-sink-test');
  const registers = [base.registry];
  const metrics: LakeSinkMetrics = {
    ...base,
    writeRetries: new Counter({ name: 'sdp_write_retries_total', help: 'x', labelNames: ['kind'], registers }),
    filesUploaded: new Counter({ name: 'sdp_lake_files_uploaded_total', help: 'x', labelNames: ['kind'], registers }),
    bytesUploaded: new Counter({ name: 'sdp_lake_bytes_uploaded_total', help: 'x', registers }),
    bufferedRows: new Gauge({ name: 'sdp_lake_buffered_records', help: 'x', registers }),
    partsDeleted: new Counter({ name: 'sdp_lake_parts_deleted_total', help: 'x', registers }),
  };
  const sink = new LakeSink(
    {
      blockSize: overrides.blockSize ?? 10,
      partRecords: overrides.partRecords ?? 5,
      maxFileBytes: overrides.maxFileBytes ?? 1e9,
      idleFlushMs: 10_000,
      uploadConcurrency: 2,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxRetryMs: 1_000 },
    },
    {
      store,
      deadLetters: dlq,
      metrics,
      logger,
      onFatal: (err) => fatal.push(err),
      clock: { now: () => now, sleep: async () => undefined, random: () => 0.5 },
    },
  );
  const commits: OffsetCommit[] = [];
  const ctx = (over: Partial<BatchContext> = {}): BatchContext => runningBatchContext(logger, metrics, over);
  const idle = runningIdleContext(logger, metrics, {
    markSafe: (topic, partition, safe) => {
      if (safe !== undefined) commits.push(typeof safe === 'string' ? { topic, partition, offset: safe } : { topic, partition, ...safe });
    },
  });
  /** Stands in for the runner's assignment: committed offsets from `overrides.committed` ('-1' = none), seeks recorded. */
  const assignment = (assignments: PartitionAssignment[], seeks: unknown[]): Pick<AssignmentContext, 'assignments' | 'committed' | 'seek'> => ({
    assignments,
    committed: (_topic, partition) => {
      const c = overrides.committed?.[partition];
      if (typeof c === 'object') return c;
      return c !== undefined && Number(c) >= 0 ? { offset: c } : undefined;
    },
    seek: (topic, partition, offset) => seeks.push({ topic, partition, offset }),
  });
  return { sink, store, dlq, fatal, metrics, commits, ctx, idle, assignment, advance: (ms: number) => (now += ms) };
}

const pad = (n: number) => String(n).padStart(10, '0');
const offsetOf = (result: BatchResult) => (typeof result === 'string' || result === undefined ? result : result.offset);
const key = (partition: number, start: number, hour = '10') => `raw/telemetry/dt=2024-06-01/hour=${hour}/${TOPIC}+${partition}+${pad(start)}.parquet`;
const part = (partition: number, fileStart: number, partStart: number, hour = '10') =>
  `raw/telemetry_parts/dt=2024-06-01/hour=${hour}/${TOPIC}+${partition}+${pad(fileStart)}+${pad(partStart)}.parquet`;

/** A run that consumes readings 0..`to`-1 of partition 0 and flushes them as parts: the run and its last commit. */
async function flushedRun(layout: { blockSize: number; partRecords: number }, to: number) {
  const first = setup(layout);
  await first.sink.handleBatch(batchOf(0, range(0, to)), first.ctx());
  first.advance(10_000);
  await first.sink.onIdle(first.idle);
  return { first, commit: first.commits[first.commits.length - 1] };
}

/** A new process resuming partition 0 from `commit` over the first run's bucket (objects and their metadata), minus the keys `lost`. */
function restarted(
  first: ReturnType<typeof setup>,
  layout: { blockSize: number; partRecords: number },
  commit: SafeOffset,
  lost: (key: string) => boolean = () => false,
) {
  const second = setup({ ...layout, committed: { 0: commit } });
  for (const [k, v] of first.store.objects) if (!lost(k)) second.store.objects.set(k, v);
  for (const [k, v] of first.store.metadata) if (!lost(k)) second.store.metadata.set(k, v);
  return second;
}

describe('LakeSink', () => {
  it('uploads a block once complete and reports its end as safe; a partial block keeps the safe offset at its start', async () => {
    const { sink, store, ctx, metrics } = setup();
    expect(offsetOf(await sink.handleBatch(batchOf(0, range(0, 6)), ctx()))).toBe('0');
    expect(store.puts).toEqual([]);
    expect(offsetOf(await sink.handleBatch(batchOf(0, range(6, 13)), ctx()))).toBe('10');
    expect(store.puts).toEqual([key(0, 0)]);
    expect(await store.offsets(key(0, 0))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sink.bufferedRows).toBe(3);
    expect((await metrics.filesUploaded.get()).values).toEqual([expect.objectContaining({ value: 1, labels: { kind: 'final' } })]);
    expect((await metrics.recordsOut.get()).values[0].value).toBe(10);
  });

  it('idle flush: uploads the open file as parts after idleFlushMs, never its own key, and commits no further than its block', async () => {
    const { sink, store, ctx, idle, commits, advance } = setup();
    await sink.handleBatch(batchOf(1, range(0, 14)), ctx());
    expect(store.puts).toEqual([key(1, 0)]);

    await sink.onIdle(idle);
    expect(store.puts).toHaveLength(1); // not due yet
    advance(10_000);
    await sink.onIdle(idle);
    expect(store.puts).toEqual([key(1, 0), part(1, 10, 10)]);
    expect(await store.offsets(part(1, 10, 10))).toEqual([10, 11, 12, 13]);
    // The commit follows the parts, with the state a restart restores (the open file's rows in parts).
    expect(commits).toEqual([{ topic: TOPIC, partition: 1, offset: '14', metadata: expect.stringMatching(/^lake1;14;o:\d+:10:4:13:\d+$/) }]);

    // Closing the block uploads the file once, complete, then deletes its parts before the commit.
    expect(offsetOf(await sink.handleBatch(batchOf(1, range(14, 20)), ctx()))).toBe('20');
    expect(store.puts).toEqual([key(1, 0), part(1, 10, 10), key(1, 10)]);
    expect(await store.offsets(key(1, 10))).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(store.deleted).toEqual([part(1, 10, 10)]);
    expect([...store.objects.keys()].filter((k) => k.includes('_parts/'))).toEqual([]);
  });

  it('a flush re-encodes only the sub-blocks that got rows: a closed sub-block is written once', async () => {
    const { sink, store, ctx, idle, advance, metrics } = setup({ blockSize: 20, partRecords: 5 });
    await sink.handleBatch(batchOf(0, range(0, 7)), ctx());
    advance(10_000);
    await sink.onIdle(idle);
    expect(store.puts).toEqual([part(0, 0, 0), part(0, 0, 5)]);
    await sink.handleBatch(batchOf(0, range(7, 12)), ctx());
    advance(10_000);
    await sink.onIdle(idle);
    // [0, 5) is not touched again; [5, 10) is rewritten once complete; [10, 15) is new.
    expect(store.puts.slice(2)).toEqual([part(0, 0, 5), part(0, 0, 10)]);
    expect(await store.offsets(part(0, 0, 5))).toEqual([5, 6, 7, 8, 9]);
    expect(await store.offsets(part(0, 0, 10))).toEqual([10, 11]);
    advance(10_000);
    await sink.onIdle(idle);
    expect(store.puts).toHaveLength(4); // nothing new, nothing sent
    // Every row is counted once, when it first becomes visible.
    expect((await metrics.recordsOut.get()).values[0].value).toBe(12);
    expect((await metrics.filesUploaded.get()).values).toEqual([expect.objectContaining({ value: 4, labels: { kind: 'part' } })]);
  });

  it('deletes parts an earlier run left, even when this run wrote none (it lists them)', async () => {
    const { sink, store, ctx } = setup();
    store.objects.set(part(0, 0, 0), new Uint8Array()); // from a run killed before compacting
    store.objects.set(part(0, 0, 5), new Uint8Array());
    store.objects.set(part(0, 10, 10), new Uint8Array()); // another file's part stays
    expect(offsetOf(await sink.handleBatch(batchOf(0, range(0, 10)), ctx()))).toBe('10');
    expect(store.deleted).toEqual([part(0, 0, 0), part(0, 0, 5)]);
    expect(store.objects.has(part(0, 10, 10))).toBe(true);
  });

  it('a failed part deletion does not hold back the commit: the parts are ignored by readers and expire', async () => {
    const { sink, store, ctx, metrics, fatal } = setup();
    store.objects.set(part(0, 0, 0), new Uint8Array());
    store.deleteFailures = [s3Error(403)];
    expect(offsetOf(await sink.handleBatch(batchOf(0, range(0, 10)), ctx()))).toBe('10');
    expect(store.objects.has(key(0, 0))).toBe(true);
    expect(store.objects.has(part(0, 0, 0))).toBe(true);
    expect(fatal).toEqual([]);
    expect((await metrics.errors.get()).values).toEqual([expect.objectContaining({ value: 1, labels: { kind: 'part_deletion' } })]);
  });

  it('idle flush of a first, partial block lands its rows but keeps the safe offset where the consumer started', async () => {
    const { sink, store, ctx, idle, commits, advance } = setup();
    expect(offsetOf(await sink.handleBatch(batchOf(2, range(23, 27)), ctx()))).toBe('23');
    advance(10_000);
    await sink.onIdle(idle);
    expect(store.puts).toEqual([part(2, 23, 20), part(2, 23, 25)]);
    expect(await store.offsets(part(2, 23, 20))).toEqual([23, 24]);
    expect(await store.offsets(part(2, 23, 25))).toEqual([25, 26]);
    expect(commits).toEqual([{ topic: TOPIC, partition: 2, offset: '27', metadata: expect.stringMatching(/^lake1;27;o:\d+:23:4:26:\d+$/) }]);
    // Completing the block uploads the file, keyed by its first record, and removes the parts.
    expect(offsetOf(await sink.handleBatch(batchOf(2, range(27, 31)), ctx()))).toBe('30');
    expect(await store.offsets(key(2, 23))).toEqual([23, 24, 25, 26, 27, 28, 29]);
    expect(store.deleted.sort()).toEqual([part(2, 23, 20), part(2, 23, 25)]);
  });

  it('a restart restores the open file from its parts and the commit state: it replays nothing already in S3', async () => {
    const layout = { blockSize: 20, partRecords: 5 };
    const { first, commit } = await flushedRun(layout, 13);
    expect(commit.offset).toBe('13');

    // A new process: the same bucket, the committed offset and its metadata.
    const second = restarted(first, layout, commit);
    const seeks: unknown[] = [];
    await second.sink.onPartitionsAssigned(second.assignment([{ topic: TOPIC, partitions: [0] }], seeks));
    expect(seeks).toEqual([]);
    expect(second.sink.bufferedRows).toBe(13);
    expect(second.store.reads).toEqual([`HEAD ${key(0, 0)}`, `GET ${part(0, 0, 0)}`, `GET ${part(0, 0, 5)}`, `GET ${part(0, 0, 10)}`]);
    // The replay starts at the commit; the block completes into the same file one run would write.
    expect(offsetOf(await second.sink.handleBatch(batchOf(0, range(13, 20)), second.ctx()))).toBe('20');
    expect(await second.store.offsets(key(0, 0))).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(second.store.metadata.get(key(0, 0))).toEqual({ [LAST_OFFSET_METADATA]: '19' });
    // Rows restored from parts were counted when their parts landed, not again.
    expect((await second.metrics.recordsOut.get()).values[0].value).toBe(7);
    expect([...second.store.objects.keys()].filter((k) => k.includes('_parts/'))).toEqual([]);
  });

  it('a restart after the open file was uploaded (and its parts deleted) skips the rows it holds', async () => {
    const layout = { blockSize: 10, partRecords: 5 };
    const { first, commit } = await flushedRun(layout, 6);
    await first.sink.handleBatch(batchOf(0, range(6, 10)), first.ctx()); // sealed and uploaded; then killed before committing
    const second = restarted(first, layout, commit);
    await second.sink.onPartitionsAssigned(second.assignment([{ topic: TOPIC, partitions: [0] }], []));
    expect(second.store.reads).toEqual([`HEAD ${key(0, 0)}`]);
    expect(offsetOf(await second.sink.handleBatch(batchOf(0, range(6, 12)), second.ctx()))).toBe('10');
    expect(second.store.puts).toEqual([]); // rows 6-9 are in the uploaded file; 10-11 are only in memory
    expect(await second.store.offsets(key(0, 0))).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('a restore that cannot read the parts back falls back to rebuilding the block, without shrinking a part', async () => {
    const layout = { blockSize: 20, partRecords: 5 };
    const { first, commit } = await flushedRun(layout, 7);
    const second = restarted(first, layout, { ...commit, offset: '7' }, (k) => k.endsWith(`${pad(5)}.parquet`)); // a part is gone
    const seeks: unknown[] = [];
    await second.sink.onPartitionsAssigned(second.assignment([{ topic: TOPIC, partitions: [0] }], seeks));
    expect(seeks).toEqual([{ topic: TOPIC, partition: 0, offset: '0' }]);
    expect((await second.metrics.errors.get()).values).toEqual([expect.objectContaining({ value: 1, labels: { kind: 'restore' } })]);
    // The rebuild from 0 commits nothing below 7 and rewrites only complete sub-blocks until past it.
    expect(offsetOf(await second.sink.handleBatch(batchOf(0, range(0, 6)), second.ctx()))).toBeUndefined();
    second.advance(10_000);
    await second.sink.onIdle(second.idle);
    expect(second.store.puts).toEqual([part(0, 0, 0)]);
    expect(second.commits).toEqual([]);
  });

  it('on assignment, seeks partitions whose committed offset is inside a block back to the block start', async () => {
    const { sink, assignment } = setup({ committed: { 0: '20', 1: '27', 2: '-1', 3: '9' } });
    const seeks: unknown[] = [];
    await sink.onPartitionsAssigned(assignment([{ topic: TOPIC, partitions: [0, 1, 2, 3, 4] }], seeks));
    expect(seeks).toEqual([
      { topic: TOPIC, partition: 1, offset: '20' },
      { topic: TOPIC, partition: 3, offset: '0' },
    ]);
  });

  it('skips batches fetched before a pending seek took effect', async () => {
    const { sink, store, ctx } = setup();
    expect(offsetOf(await sink.handleBatch(batchOf(0, range(5, 12)), ctx({ isStale: () => true })))).toBeUndefined();
    expect(sink.bufferedRows).toBe(0);
    expect(offsetOf(await sink.handleBatch(batchOf(0, range(0, 12)), ctx()))).toBe('10');
    expect(await store.offsets(key(0, 0))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a batch that rewinds without a rejoin fails, so the member restarts from the commit', async () => {
    const { sink, ctx } = setup();
    await sink.handleBatch(batchOf(0, range(0, 8)), ctx());
    await expect(sink.handleBatch(batchOf(0, range(0, 12)), ctx())).rejects.toThrow(/rewound to 0 while 8 was expected/);
  });

  it('dead-letters invalid records and keeps them out of files', async () => {
    const { sink, store, dlq, ctx } = setup();
    const messages = [...range(0, 4), msg(4, '{"schemaVersion":2}'), ...range(5, 10)];
    expect(offsetOf(await sink.handleBatch(batchOf(0, messages), ctx()))).toBe('10');
    expect(dlq.sent.map((r) => [r.message.offset, r.reason])).toEqual([['4', 'schema_violation']]);
    expect(await store.offsets(key(0, 0))).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
  });

  it('splits files by event hour inside a block', async () => {
    const { sink, store, ctx } = setup();
    const messages = Array.from({ length: 10 }, (_, i) => msg(i, reading(i, i % 2 === 0 ? H10 : H10 + 3_600_000)));
    await sink.handleBatch(batchOf(0, messages), ctx());
    expect(new Set(store.puts)).toEqual(new Set([key(0, 0, '10'), key(0, 1, '11')]));
    expect(await store.offsets(key(0, 1, '11'))).toEqual([1, 3, 5, 7, 9]);
  });

  it('retries transient upload failures and counts them', async () => {
    const { sink, store, ctx, metrics } = setup();
    store.failures = [s3Error(503), s3Error(500)];
    expect(offsetOf(await sink.handleBatch(batchOf(0, range(0, 10)), ctx()))).toBe('10');
    expect(store.puts).toEqual([key(0, 0)]);
    expect((await metrics.writeRetries.get()).values.map((v) => [v.labels.kind, v.value])).toEqual([
      ['s3_503', 1],
      ['s3_500', 1],
    ]);
  });

  it('never commits past a failed upload: a fatal error reports and throws', async () => {
    const { sink, store, ctx, fatal } = setup();
    store.failures = [s3Error(403)];
    await expect(sink.handleBatch(batchOf(0, range(0, 10)), ctx())).rejects.toThrow('status 403');
    expect(fatal).toHaveLength(1);
    expect(store.puts).toEqual([]);
  });

  it('abandons without uploading or committing once the consumer stops', async () => {
    const { sink, store, ctx, fatal } = setup();
    expect(offsetOf(await sink.handleBatch(batchOf(0, range(0, 10)), ctx({ isRunning: () => false })))).toBeUndefined();
    expect(store.puts).toEqual([]);
    expect(fatal).toEqual([]);
  });
});

describe('classifyS3Error', () => {
  it('retries throttling, server errors and network failures; not configuration errors', () => {
    expect(classifyS3Error(s3Error(503))).toBe('retryable');
    expect(classifyS3Error(s3Error(429))).toBe('retryable');
    expect(classifyS3Error(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('retryable');
    expect(classifyS3Error(s3Error(403))).toBe('fatal');
    expect(classifyS3Error(s3Error(404))).toBe('fatal');
    expect(classifyS3Error(new TypeError('bug'))).toBe('fatal');
  });
});

describe('lake sink config', () => {
  const minimal = { KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_CLIENT_ID: 'lake-sink', S3_BUCKET: 'sdp-local-lake' };

  it('applies the documented defaults', () => {
    expect(lakeSinkOptionsOf(loadConfig(lakeSinkEnv, minimal))).toEqual({
      blockSize: 50_000,
      partRecords: 5_000,
      maxFileBytes: 134_217_728,
      idleFlushMs: 10_000,
      uploadConcurrency: 4,
      retry: { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 10_000, maxRetryMs: 300_000 },
    });
  });

  it('names the bad variables', () => {
    let message = '';
    try {
      loadConfig(lakeSinkEnv, { ...minimal, LAKE_SINK_MAX_RECORDS: 'lots', S3_BUCKET: 'Not_A_Bucket' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/S3_BUCKET: must be a valid S3 bucket name/);
    expect(message).toMatch(/LAKE_SINK_MAX_RECORDS: must be an integer/);
  });
});
