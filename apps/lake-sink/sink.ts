/**
 * The lake sink's consumer callbacks: buffer each partition's readings in its PartitionLedger,
 * upload files as they become final (or, after LAKE_SINK_IDLE_FLUSH_MS, as they are), and
 * commit only offsets the ledger says a restart can rebuild from. See ./blocks.ts for why the
 * object keys are identical on every replay.
 */
import type { Consumer } from 'kafkajs';
import type { Counter, Gauge } from 'prom-client';
import { TelemetryReading, telemetryReadingSchema } from '../contracts';
import type { AppMetrics, Batch, BatchContext, BatchResult, IdleContext, Logger, PartitionAssignment } from '../lib';
import type { DeadLetterSink, Rejection } from '../cassandra-sink/dead-letter';
import { ConcurrencyLimiter } from '../cassandra-sink/flow-control';
import { decodeJson } from '../cassandra-sink/records';
import { AbandonedError, HeartbeatFailedError, RetryHooks, RetryPolicy, withRetries } from '../cassandra-sink/retry';
import { blockStart, FileSnapshot, PartitionLedger } from './blocks';
import { classifyS3Error, ObjectStore, s3ErrorKind } from './object-store';
import { encodeReadings } from './parquet';

/** A buffered reading and the Kafka timestamp its end-to-end latency is measured from. */
export interface LakeRow {
  readonly reading: TelemetryReading;
  readonly kafkaTs: number;
}

export interface LakeSinkOptions {
  /** Offsets per aligned block (LAKE_SINK_MAX_RECORDS). */
  readonly blockSize: number;
  /** Record bytes per file before it rolls (LAKE_SINK_MAX_FILE_BYTES). */
  readonly maxFileBytes: number;
  /** Longest time buffered rows wait before a partial upload (LAKE_SINK_IDLE_FLUSH_MS). */
  readonly idleFlushMs: number;
  /** Uploads in flight across all partitions. */
  readonly uploadConcurrency: number;
  readonly retry: RetryPolicy;
}

export interface LakeSinkMetrics extends AppMetrics {
  readonly writeRetries: Counter<'kind'>;
  /** Uploads by `final` (the file's last upload) or `partial` (idle flush). */
  readonly filesUploaded: Counter<'kind'>;
  readonly bytesUploaded: Counter<never>;
  readonly bufferedRows: Gauge<never>;
}

export interface LakeSinkDeps {
  readonly store: ObjectStore;
  readonly deadLetters: DeadLetterSink;
  readonly metrics: LakeSinkMetrics;
  readonly logger: Logger;
  /** Called once an upload is given up for good: exit non-zero, nothing committed. */
  readonly onFatal: (err: unknown) => void;
  /** The group's committed offsets (next offset to read; '-1' when none) for the assigned partitions. */
  readonly committedOffsets: (topic: string, partitions: readonly number[]) => Promise<ReadonlyMap<number, string>>;
  /** Overrides for tests (clock, sleep, jitter). */
  readonly clock?: Pick<RetryHooks, 'sleep' | 'now' | 'random'>;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly generation: number;
  ledger: PartitionLedger<LakeRow>;
  /** Serializes batches and idle flushes of this partition. */
  tail: Promise<unknown>;
  /** When rows first waited in an open file since the last flush (wall clock). */
  dirtySince?: number;
  lastCommitted?: number;
}

interface Liveness {
  readonly shouldContinue: () => boolean;
  readonly heartbeat?: () => Promise<void>;
}

export class LakeSink {
  private readonly partitions = new Map<string, PartitionState>();
  private readonly uploads: ConcurrencyLimiter;
  private readonly now: () => number;
  private generation = 0;

  constructor(private readonly opts: LakeSinkOptions, private readonly deps: LakeSinkDeps) {
    this.uploads = new ConcurrencyLimiter(opts.uploadConcurrency);
    this.now = deps.clock?.now ?? Date.now;
    deps.metrics.bufferedRows.set(0);
  }

  /** Rows held in memory across partitions (also exported as a gauge). */
  get bufferedRows(): number {
    let n = 0;
    for (const st of this.partitions.values()) n += st.ledger.bufferedRows;
    return n;
  }

  /**
   * After every group join kafkajs resumes each assigned partition from its committed offset,
   * so the in-memory state starts over, and a partition whose committed offset is not a block
   * boundary (an operator's reset, a first run from the log start, a changed block size) is
   * sought back to the start of that block: whole blocks are rebuilt, so replayed objects get
   * the same keys and contents as the first time. A block start below the log start is reset
   * by kafkajs to the earliest offset, where the first run began too.
   */
  async onPartitionsAssigned(assignments: readonly PartitionAssignment[], consumer: Pick<Consumer, 'seek'>): Promise<void> {
    this.generation++;
    this.partitions.clear();
    this.updateBufferedGauge();
    const seeks: { topic: string; partition: number; committed: number; offset: number }[] = [];
    for (const { topic, partitions } of assignments) {
      const committed = await this.deps.committedOffsets(topic, partitions);
      for (const partition of partitions) {
        const c = Number(committed.get(partition) ?? -1);
        if (c < 0) continue;
        const start = blockStart(c, this.opts.blockSize);
        if (start !== c) seeks.push({ topic, partition, committed: c, offset: start });
      }
    }
    for (const s of seeks) consumer.seek({ topic: s.topic, partition: s.partition, offset: String(s.offset) });
    this.deps.logger.info({ generation: this.generation, assignments, seeks }, 'lake buffers reset for the new assignment');
  }

  handleBatch(batch: Batch, ctx: BatchContext): Promise<BatchResult> {
    // Fetched before our seek to the block start took effect: the seek re-reads these records.
    if (ctx.isStale()) return Promise.resolve(undefined);
    const st = this.stateFor(batch.topic, batch.partition);
    return this.exclusive(st, async () => {
      const { metrics } = this.deps;
      const firstOffset = Number(batch.messages[0]?.offset ?? batch.firstOffset() ?? batch.lastOffset());
      const expected = st.ledger.nextOffset;
      if (expected !== undefined && firstOffset < expected) {
        // The position moved back (a replay from the last commit): rebuild from there.
        this.deps.logger.warn(
          { topic: st.topic, partition: st.partition, firstOffset, expected },
          'partition rewound; rebuilding its buffers',
        );
        st.ledger = this.newLedger(st.topic, st.partition);
        st.dirtySince = undefined;
      }
      // A fresh ledger starts where the consumer resumed, i.e. at the committed offset: no need to commit it again.
      if (st.ledger.nextOffset === undefined) st.lastCommitted = firstOffset;

      const rejections: Rejection[] = [];
      for (const message of batch.messages) {
        const decoded = decodeJson(telemetryReadingSchema, message.value);
        if (decoded.ok) {
          const row: LakeRow = { reading: decoded.value, kafkaTs: Number(message.timestamp) };
          st.ledger.append(Number(message.offset), decoded.value.ts, message.value?.length ?? 0, row);
        } else {
          rejections.push({ message, reason: decoded.reason, detail: decoded.detail, errorClass: decoded.errorClass });
        }
      }
      st.ledger.advanceTo(Number(batch.lastOffset()) + 1);

      const liveness: Liveness = { shouldContinue: () => ctx.isRunning() && !ctx.isStale(), heartbeat: () => ctx.heartbeat() };
      try {
        await this.deps.deadLetters.send({ topic: st.topic, partition: st.partition }, rejections);
        const endUpload = metrics.batchDuration.startTimer({ stage: 'upload' });
        try {
          await this.upload(st, st.ledger.pendingUploads(false), liveness);
        } finally {
          endUpload();
        }
      } catch (err) {
        return this.failed(err);
      } finally {
        this.updateBufferedGauge();
      }
      if (!st.ledger.hasUnflushedOpenRows) st.dirtySince = undefined;
      else st.dirtySince ??= this.now();
      const offset = this.commitCandidate(st);
      // The runner commits it right after we return; a failed commit restarts the consumer.
      if (offset !== undefined) st.lastCommitted = Number(offset);
      return offset;
    });
  }

  /** Timer tick: partial uploads for partitions whose rows waited `idleFlushMs`, then commit. */
  async onIdle(ctx: IdleContext): Promise<void> {
    const due = [...this.partitions.values()].filter(
      (st) => st.dirtySince !== undefined && this.now() - st.dirtySince >= this.opts.idleFlushMs,
    );
    await Promise.all(
      due.map((st) =>
        this.exclusive(st, async () => {
          if (st.generation !== this.generation || !ctx.isRunning()) return;
          try {
            await this.upload(st, st.ledger.pendingUploads(true), {
              shouldContinue: () => ctx.isRunning() && st.generation === this.generation,
            });
          } catch (err) {
            this.failed(err);
            return;
          }
          st.dirtySince = undefined;
          const offset = this.commitCandidate(st);
          if (offset === undefined) return;
          await ctx.commit([{ topic: st.topic, partition: st.partition, offset }]);
          st.lastCommitted = Number(offset);
        }),
      ),
    );
  }

  private async upload(st: PartitionState, snapshots: readonly FileSnapshot<LakeRow>[], liveness: Liveness): Promise<void> {
    const { metrics, logger } = this.deps;
    await Promise.all(
      snapshots.map((snap) =>
        this.uploads.run(async () => {
          // A rejoin reset the buffers: this snapshot may be older than what the new owner uploads.
          if (st.generation !== this.generation || !liveness.shouldContinue()) throw new AbandonedError();
          const body = encodeReadings(
            snap.rows.map((r) => r.reading),
            {
              metadata: {
                'sdp.source.topic': st.topic,
                'sdp.source.partition': String(st.partition),
                'sdp.source.first_offset': String(snap.startOffset),
                'sdp.source.last_offset': String(snap.lastOffset),
              },
            },
          );
          await withRetries(() => this.deps.store.put(snap.key, body), this.opts.retry, {
            ...this.deps.clock,
            classify: classifyS3Error,
            ...liveness,
            onRetry: (err, attempt, delayMs) => {
              const kind = s3ErrorKind(err);
              metrics.writeRetries.inc({ kind });
              logger.warn({ err, kind, attempt, delayMs, key: snap.key }, 'lake upload failed; retrying');
            },
          });
          st.ledger.markUploaded(snap);
          metrics.filesUploaded.inc({ kind: snap.final ? 'final' : 'partial' });
          metrics.bytesUploaded.inc(body.byteLength);
          // Rows first visible in the lake with this upload.
          const landed = snap.rows.slice(snap.uploadedBefore);
          metrics.recordsOut.inc({ topic: st.topic }, landed.length);
          const now = Date.now();
          for (const r of landed) metrics.endToEndLatency.observe((now - r.kafkaTs) / 1000);
        }),
      ),
    );
  }

  /** The ledger's commit point if it moved since the last commit (re-committing is a wasted request). */
  private commitCandidate(st: PartitionState): string | undefined {
    const offset = st.ledger.commitOffset();
    return offset === undefined || offset === st.lastCommitted ? undefined : String(offset);
  }

  private failed(err: unknown): undefined {
    if (err instanceof AbandonedError) {
      this.deps.logger.info('lake upload abandoned without commit (stopping or reassigned)');
      return undefined;
    }
    if (err instanceof HeartbeatFailedError) throw err;
    this.deps.metrics.errors.inc({ kind: 'upload' });
    this.deps.onFatal(err);
    throw err;
  }

  private stateFor(topic: string, partition: number): PartitionState {
    const id = `${topic}\u0000${partition}`;
    let st = this.partitions.get(id);
    if (!st) {
      st = { topic, partition, generation: this.generation, ledger: this.newLedger(topic, partition), tail: Promise.resolve() };
      this.partitions.set(id, st);
    }
    return st;
  }

  private newLedger(topic: string, partition: number): PartitionLedger<LakeRow> {
    return new PartitionLedger<LakeRow>(topic, partition, { blockSize: this.opts.blockSize, maxFileBytes: this.opts.maxFileBytes });
  }

  /** Runs `fn` after everything queued on the partition, so a flush never interleaves with a batch. */
  private exclusive<T>(st: PartitionState, fn: () => Promise<T>): Promise<T> {
    const run = st.tail.then(fn, fn);
    st.tail = run.catch(() => undefined);
    return run;
  }

  private updateBufferedGauge(): void {
    this.deps.metrics.bufferedRows.set(this.bufferedRows);
  }
}
