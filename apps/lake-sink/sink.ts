/**
 * The lake sink's consumer callbacks: buffer each partition's readings in its PartitionLedger,
 * upload files as they become final, then delete their freshness parts (after
 * LAKE_SINK_IDLE_FLUSH_MS an open file's new rows go out as parts, never as the file), and
 * report as safe only offsets the ledger says a restart can rebuild from (the runner commits
 * them). See ./blocks.ts for why the object keys are identical on every replay, and
 * docs/lake.md for the reader rule that makes parts and files one exact view. Tracing: each
 * batch is a `process` span, and each upload an `upload` span of its own, linking the batches
 * whose rows it carries for the first time (one file fans in many batches).
 */
import { SpanContext, SpanKind } from '@opentelemetry/api';
import type { Counter, Gauge } from 'prom-client';
import { TelemetryReading, telemetryReadingContract } from '../contracts/telemetry';
import type { AssignmentContext, Batch, BatchContext, BatchResult, IdleContext } from '../lib/consumer';
import type { DeadLetterSink } from '../lib/dead-letter';
import { ConcurrencyLimiter } from '../lib/flow-control';
import type { Logger } from '../lib/logger';
import type { AppMetrics } from '../lib/metrics';
import { contractDecoder, decodeAll } from '../lib/records';
import { AbandonedError, RetryHooks, RetryPolicy, settleSinkFailure, withRetries } from '../lib/retry';
import type { SafeOffset } from '../lib/commits';
import { blockStart, FileSnapshot, LakeState, parseLakeState, PartitionLedger } from './blocks';
import { LAST_OFFSET_METADATA, readBackState } from './restore';
import { classifyS3Error, ObjectStore, s3ErrorKind } from './object-store';
import { encodeReadings } from './parquet';
import { failed, inSpan, MAX_LINKS, messagingAttributes, traceparentOf, Tracing, upstreamContexts } from '../lib/tracing';

/** A buffered reading and the Kafka timestamp its end-to-end latency is measured from. */
export interface LakeRow {
  readonly reading: TelemetryReading;
  readonly kafkaTs: number;
  /** The span of the batch that buffered it (shared by the batch's rows), when tracing is on. */
  readonly trace?: SpanContext;
}

export interface LakeSinkOptions {
  /** Offsets per aligned block (LAKE_SINK_MAX_RECORDS). */
  readonly blockSize: number;
  /** Offsets per aligned sub-block of an open file's parts (LAKE_SINK_PART_RECORDS). */
  readonly partRecords: number;
  /** Record bytes per file before it rolls (LAKE_SINK_MAX_FILE_BYTES). */
  readonly maxFileBytes: number;
  /** Longest time buffered rows wait before they go out as parts (LAKE_SINK_IDLE_FLUSH_MS). */
  readonly idleFlushMs: number;
  /** Uploads in flight across all partitions. */
  readonly uploadConcurrency: number;
  readonly retry: RetryPolicy;
}

export interface LakeSinkMetrics extends AppMetrics {
  readonly writeRetries: Counter<'kind'>;
  /** Uploads by `final` (the file, once complete) or `part` (an open file's sub-block, by an idle flush). */
  readonly filesUploaded: Counter<'kind'>;
  /** Parts deleted after their file was uploaded. */
  readonly partsDeleted: Counter<never>;
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
  /** Overrides for tests (clock, sleep, jitter). */
  readonly clock?: Pick<RetryHooks, 'sleep' | 'now' | 'random'>;
  /** @default Tracing.off */
  readonly tracing?: Tracing;
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
  /** False until the first batch of this generation told the log end (`holdPartsBelow`). */
  sawLogEnd?: boolean;
}

interface Liveness {
  readonly shouldContinue: () => boolean;
  readonly heartbeat?: () => Promise<void>;
}

/** Every version of the reading, as the latest: a rollout's older processor may still write older ones. */
const decodeReading = contractDecoder(telemetryReadingContract);

export class LakeSink {
  private readonly partitions = new Map<string, PartitionState>();
  /** Partitions rebuilt from their block start this generation (no usable state): their committed offset. */
  private readonly replayUntil = new Map<string, number>();
  private readonly uploads: ConcurrencyLimiter;
  private readonly now: () => number;
  private readonly tracing: Tracing;
  private generation = 0;

  constructor(
    private readonly opts: LakeSinkOptions,
    private readonly deps: LakeSinkDeps,
  ) {
    this.uploads = new ConcurrencyLimiter(opts.uploadConcurrency);
    this.now = deps.clock?.now ?? Date.now;
    this.tracing = deps.tracing ?? Tracing.off;
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
   * and the in-memory state starts over from what that commit describes: its metadata names the
   * files open at that point (blocks.ts, `LakeState`), which are read back from S3 (./restore.ts)
   * before the partition's first batch, so the replay is only what was not yet in S3. Without
   * usable state (no metadata, a commit by an older version, an operator's reset, a failed read
   * back), the partition is sought back to the start of its block instead: whole blocks are
   * rebuilt, so replayed objects get the same keys and contents as the first time. A block start
   * below the log start is reset by kafkajs to the earliest offset, where the first run began too.
   */
  async onPartitionsAssigned(ctx: Pick<AssignmentContext, 'assignments' | 'committed' | 'seek'>): Promise<void> {
    this.generation++;
    const generation = this.generation;
    this.partitions.clear();
    this.replayUntil.clear();
    this.updateBufferedGauge();
    const seeks: { topic: string; partition: number; committed: number; offset: number; why: string }[] = [];
    const restored: { topic: string; partition: number; committed: number; files: number }[] = [];
    const work: Promise<void>[] = [];
    for (const { topic, partitions } of ctx.assignments) {
      for (const partition of partitions) {
        const committed = ctx.committed(topic, partition);
        if (committed === undefined) continue;
        const c = Number(committed.offset);
        const start = blockStart(c, this.opts.blockSize);
        const seekBack = (why: string) => {
          // Parts may hold acknowledged rows below `c`: the rebuild must not shrink them.
          this.replayUntil.set(partitionId(topic, partition), c);
          if (start !== c) seeks.push({ topic, partition, committed: c, offset: start, why });
        };
        const state = parseLakeState(committed.metadata);
        if (state === undefined || state.at > c) {
          seekBack(committed.metadata ? 'commit metadata is not a lake state' : 'no lake state in the commit');
          continue;
        }
        work.push(
          this.restorePartition(topic, partition, c, state, generation).then(
            () => void restored.push({ topic, partition, committed: c, files: state.files.length }),
            (err: unknown) => {
              this.deps.metrics.errors.inc({ kind: 'restore' });
              this.deps.logger.warn({ err, topic, partition, committed: c }, 'lake state not restored; replaying the whole block instead');
              this.partitions.delete(partitionId(topic, partition));
              seekBack('restore failed');
            },
          ),
        );
      }
    }
    await Promise.all(work);
    if (generation !== this.generation) return;
    for (const s of seeks) ctx.seek(s.topic, s.partition, String(s.offset));
    this.updateBufferedGauge();
    this.deps.logger.info({ generation, assignments: ctx.assignments, restored, seeks }, 'lake buffers restored for the new assignment');
  }

  /** Reads back the files `state` names and starts the partition's ledger from them at `committed`. */
  private async restorePartition(topic: string, partition: number, committed: number, state: LakeState, generation: number): Promise<void> {
    const files = await readBackState(this.deps.store, topic, partition, state, {
      attempt: (what, key, fn) => withRetries(fn, this.opts.retry, this.s3Retrying(what, key, { shouldContinue: () => generation === this.generation })),
    });
    const ledger = this.newLedger(topic, partition);
    ledger.restore(
      committed,
      state,
      files.map((f) => (f.uploaded ? f : { ...f, rows: f.rows.map((reading): LakeRow => ({ reading, kafkaTs: Number.NaN })) })),
    );
    if (generation !== this.generation) return;
    this.partitions.set(partitionId(topic, partition), { topic, partition, generation, ledger, tail: Promise.resolve() });
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
        // The position moved back without a rejoin: the buffers cannot be rebuilt from a point
        // the commit does not describe, so restart the member (it resumes from the commit).
        throw new Error(`${st.topic}[${st.partition}] rewound to ${firstOffset} while ${expected} was expected; restarting from the committed offset`);
      }
      if (!st.sawLogEnd) {
        // Everything an earlier run may have put in parts lies below today's log end.
        st.sawLogEnd = true;
        const end = Number(batch.highWatermark);
        if (Number.isSafeInteger(end)) st.ledger.holdPartsBelow(end);
      }
      const { tracing } = this;
      const span = tracing.batchSpan(
        `process ${batch.topic}`,
        SpanKind.CONSUMER,
        tracing.enabled ? upstreamContexts(batch.messages) : [],
        messagingAttributes('process', batch.topic, batch.messages.length, batch.partition),
      );
      const trace = tracing.enabled ? span.spanContext() : undefined;
      const { accepted, rejections } = decodeAll(batch.messages, decodeReading);
      for (const { message, value } of accepted) {
        st.ledger.append(Number(message.offset), value.ts, message.value?.length ?? 0, { reading: value, kafkaTs: Number(message.timestamp), trace });
      }
      st.ledger.advanceTo(Number(batch.lastOffset()) + 1);

      const liveness: Liveness = { shouldContinue: () => ctx.isRunning() && !ctx.isStale(), heartbeat: () => ctx.heartbeat() };
      try {
        await this.deps.deadLetters.send({ topic: st.topic, partition: st.partition }, rejections, traceparentOf(span));
        const endUpload = metrics.batchDuration.startTimer({ stage: 'upload' });
        try {
          await this.upload(st, st.ledger.pendingUploads(false), liveness);
        } finally {
          endUpload();
        }
      } catch (err) {
        failed(span, err);
        return this.failed(err);
      } finally {
        span.end();
        this.updateBufferedGauge();
      }
      if (!st.ledger.hasUnflushedOpenRows) st.dirtySince = undefined;
      else st.dirtySince ??= this.now();
      return this.safeOffset(st);
    });
  }

  /** Timer tick: partial uploads for partitions whose rows waited `idleFlushMs`, then report what became safe. */
  async onIdle(ctx: IdleContext): Promise<void> {
    const due = [...this.partitions.values()].filter((st) => st.dirtySince !== undefined && this.now() - st.dirtySince >= this.opts.idleFlushMs);
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
          ctx.markSafe(st.topic, st.partition, this.safeOffset(st));
        }),
      ),
    );
  }

  private async upload(st: PartitionState, snapshots: readonly FileSnapshot<LakeRow>[], liveness: Liveness): Promise<void> {
    await Promise.all(
      snapshots.map((snap) =>
        this.uploads.run(async () => {
          // A rejoin reset the buffers: this snapshot may be older than what the new owner uploads.
          if (st.generation !== this.generation || !liveness.shouldContinue()) throw new AbandonedError();
          const span = this.tracing.batchSpan(
            `upload ${st.topic}`,
            SpanKind.CLIENT,
            this.tracing.enabled ? batchesOf(snap.rows.slice(snap.uploadedBefore)) : [],
            {
              'sdp.lake.key': snap.key,
              'sdp.lake.rows': snap.rows.length,
              'sdp.lake.final': snap.final,
            },
          );
          await inSpan(span, () => this.uploadOne(st, snap, liveness));
        }),
      ),
    );
  }

  private async uploadOne(st: PartitionState, snap: FileSnapshot<LakeRow>, liveness: Liveness): Promise<void> {
    const { metrics } = this.deps;
    const body = encodeReadings(
      snap.rows.map((r) => r.reading),
      {
        metadata: {
          'sdp.source.topic': st.topic,
          'sdp.source.partition': String(st.partition),
          'sdp.source.first_offset': String(snap.startOffset),
          'sdp.source.last_offset': String(snap.lastOffset),
          // A part names the file that supersedes it (the reader rule, docs/lake.md).
          ...(snap.final ? {} : { 'sdp.lake.part_of': snap.fileKey }),
        },
      },
    );
    // A file says where it ends, for a restarted sink's HEAD (./restore.ts).
    const objectMetadata = snap.final ? { [LAST_OFFSET_METADATA]: String(snap.lastOffset) } : undefined;
    await withRetries(() => this.deps.store.put(snap.key, body, objectMetadata), this.opts.retry, this.s3Retrying('upload', snap.key, liveness));
    metrics.filesUploaded.inc({ kind: snap.final ? 'final' : 'part' });
    metrics.bytesUploaded.inc(body.byteLength);
    // Rows first visible in the lake with this upload.
    const landed = snap.rows.slice(snap.uploadedBefore);
    metrics.recordsOut.inc({ topic: st.topic }, landed.length);
    const now = Date.now();
    for (const r of landed) metrics.endToEndLatency.observe((now - r.kafkaTs) / 1000);
    // The file exists, so readers ignore its parts from now on. A crash before they are deleted
    // leaves them to a later compaction of the same file, or to the bucket's lifecycle rule.
    if (snap.final) await this.deleteParts(snap, this.s3Retrying('part deletion', snap.partsPrefix, liveness));
    st.ledger.markUploaded(snap);
  }

  /** Retry hooks for one S3 request of the sink: S3's error classes, counted and logged per `what`. */
  private s3Retrying(what: string, key: string, liveness: Liveness): Parameters<typeof withRetries>[2] {
    const { metrics, logger } = this.deps;
    return {
      ...this.deps.clock,
      classify: classifyS3Error,
      ...liveness,
      onRetry: (err: unknown, attempt: number, delayMs: number) => {
        const kind = s3ErrorKind(err);
        metrics.writeRetries.inc({ kind });
        logger.warn({ err, kind, attempt, delayMs, key }, `lake ${what} failed; retrying`);
      },
    };
  }

  /**
   * Lists rather than computes the file's parts: an earlier run may have written some this one
   * never did. A failure other than a stop is logged and left to the bucket's lifecycle rule:
   * stray parts are invisible to readers, never wrong.
   */
  private async deleteParts(snap: FileSnapshot<LakeRow>, hooks: Parameters<typeof withRetries>[2]): Promise<void> {
    try {
      await withRetries(
        async () => {
          const keys = await this.deps.store.list(snap.partsPrefix);
          for (let i = 0; i < keys.length; i += 1_000) await this.deps.store.delete(keys.slice(i, i + 1_000));
          this.deps.metrics.partsDeleted.inc(keys.length);
        },
        this.opts.retry,
        hooks,
      );
    } catch (err) {
      if (err instanceof AbandonedError) throw err;
      this.deps.metrics.errors.inc({ kind: 'part_deletion' });
      this.deps.logger.warn({ err, prefix: snap.partsPrefix }, 'lake parts not deleted; readers ignore them, the lifecycle rule expires them');
    }
  }

  /** The ledger's commit point and its state; the runner skips it when it is what the group already holds. */
  private safeOffset(st: PartitionState): SafeOffset | undefined {
    return st.ledger.commitPoint();
  }

  private failed(err: unknown): undefined {
    const { logger, metrics, onFatal } = this.deps;
    return settleSinkFailure(err, { logger, errors: metrics.errors, kind: 'upload', onFatal });
  }

  private stateFor(topic: string, partition: number): PartitionState {
    const id = partitionId(topic, partition);
    let st = this.partitions.get(id);
    if (!st) {
      st = { topic, partition, generation: this.generation, ledger: this.newLedger(topic, partition, this.replayUntil.get(id)), tail: Promise.resolve() };
      this.partitions.set(id, st);
    }
    return st;
  }

  private newLedger(topic: string, partition: number, replayUntil?: number): PartitionLedger<LakeRow> {
    return new PartitionLedger<LakeRow>(topic, partition, {
      blockSize: this.opts.blockSize,
      maxFileBytes: this.opts.maxFileBytes,
      partRecords: this.opts.partRecords,
      replayUntil,
    });
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

const partitionId = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** The distinct batch spans of rows, in order; a batch's rows are contiguous, so each row costs one comparison. */
function batchesOf(rows: readonly LakeRow[]): SpanContext[] {
  const out: SpanContext[] = [];
  let last: SpanContext | undefined;
  for (const r of rows) {
    if (r.trace === undefined || r.trace === last) continue;
    last = r.trace;
    out.push(r.trace);
    if (out.length >= MAX_LINKS) break;
  }
  return out;
}
