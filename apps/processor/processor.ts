/**
 * The processor's batch logic, independent of the Kafka connections (they are injected), so it
 * is unit-tested end to end: validate -> clean / DLQ, window, emit aggregates, commit. Per
 * partition, batches and idle flushes run one at a time.
 *
 * Exactly once, raw topic -> clean, aggregates and DLQ (read by read_committed consumers):
 *
 * - Every output of a raw partition is written in a Kafka transaction of that partition's own
 *   transactional producer (apps/lib/transactions.ts), and the SAME transaction commits the raw
 *   offset with the metadata below. Output and progress are therefore atomic: either both are
 *   visible or neither is. A transaction commits at the end of each batch, or earlier once it has
 *   been open `commitIntervalMs` (then the batch continues in the next one).
 * - State recovery replays from a floor (offsets.ts), and that stays correct because the floor,
 *   the watermark and `sentUpTo` are committed in the same transaction as the outputs they
 *   describe:
 *   1. committed offset = the smallest offset still contributing to an OPEN window (else the next
 *      offset), so replaying from it rebuilds every open window exactly;
 *   2. `watermark` = the watermark at that commit: every window ending at or before it was emitted
 *      in a committed transaction, so its replayed records are skipped (not re-aggregated);
 *   3. `sentUpTo` = every record below it has its clean/DLQ output in a committed transaction, so
 *      replayed records below it are not re-sent.
 *   A crash or fence between transactions loses only uncommitted (invisible) output, which the
 *   replay writes again. Replaying from an EARLIER offset than the floor is also harmless: such
 *   records are below `sentUpTo` and belong to emitted windows (1-3), so they produce nothing.
 * - Before a partition's committed offset is read on assignment, a fresh producer fences every
 *   earlier writer of the partition (`onAssignmentStart`), so no older transaction can commit
 *   behind the state just restored.
 * - A transaction that fails leaves in-memory state ahead of the commits: the batch throws (the
 *   runner restarts the member, which replays from the commits) or, for an idle flush, asks the
 *   runner to restart. A transaction that fails because the partition was revoked meanwhile is
 *   dropped quietly: its new owner replays it.
 *
 * Tracing (apps/lib/tracing.ts): one `process` span per chunk, continuing the trace of the chunk's
 * first producer batch and linking the others, with one `send` child span per output topic; every
 * clean, aggregate and dead-letter record carries its topic's send span as `traceparent`. An idle
 * flush is a `flush` span of its own. Nothing of it runs while tracing is off.
 */
import { Span, SpanKind } from '@opentelemetry/api';
import type { Batch, KafkaMessage, Message, TopicMessages } from 'kafkajs';
import { Counter, Gauge } from 'prom-client';
import type { Logger } from 'pino';
import { telemetryAggregateSchema } from '../contracts/telemetry';
import type { BatchContext, BatchResult, IdleContext } from '../lib/consumer';
import type { BeginTransaction, OutputTransaction } from '../lib/transactions';
import { countDeadLetters, deadLetterMessage, Rejection } from '../lib/dead-letter';
import type { AppMetrics } from '../lib/metrics';
import { schemaViolation } from '../lib/records';
import { failed, messagingAttributes, OutputSpans, Tracing, upstreamContexts } from '../lib/tracing';
import { checkReading, ReadingGuardOptions } from './guards';
import { CommitMetadata, PartitionProgress } from './offsets';
import { canonicalReading, validateRecord } from './validate';
import { ClosedWindow, PartitionWindows } from './windows';

/** The processor's input and outputs: topic names from its catalog entry. */
export interface ProcessorTopics {
  readonly raw: string;
  readonly clean: string;
  readonly aggregates: string;
  readonly deadLetter: string;
}

export interface ProcessorOptions {
  /** Opens a transaction for a raw partition's output (apps/lib/transactions.ts). */
  readonly begin: BeginTransaction;
  readonly topics: ProcessorTopics;
  readonly logger: Logger;
  readonly metrics: AppMetrics;
  /** @default 10000 */
  readonly allowedLatenessMs?: number;
  /** @default 15000 */
  readonly idleFlushMs?: number;
  /** Messages awaiting acknowledgement across partitions before the consumer pauses. @default 100000 */
  readonly maxInFlightMessages?: number;
  /** A transaction open this long commits after its current chunk; the batch goes on in a new one. @default 1000 */
  readonly commitIntervalMs?: number;
  /** Records processed and sent per step of a batch (the granularity of `commitIntervalMs`). @default 1000 */
  readonly chunkSize?: number;
  /** The clock `commitIntervalMs` is measured with. @default Date.now */
  readonly now?: () => number;
  /** @default Tracing.off */
  readonly tracing?: Tracing;
  /** How far ahead of `wallClock` a reading's event time may be (guards.ts). @default 300000 */
  readonly maxClockSkewMs?: number;
  /** The clock event times are checked against. @default Date.now */
  readonly wallClock?: () => number;
}

interface PartitionState {
  readonly windows: PartitionWindows;
  readonly progress: PartitionProgress;
  /** Serializes a partition's batches with its idle flushes. */
  tail: Promise<unknown>;
  nextOffset?: number;
  lastActivity: number;
  /** The partition's last batch reached its high watermark: nothing was left to read then. */
  caughtUp: boolean;
  /**
   * A transaction of this partition failed: its windows and watermark may be ahead of what was
   * committed (an idle flush closes windows before its transaction), so nothing may build on
   * them; work queued behind the failure throws or stops until the rejoin replaces the state.
   */
  failed?: boolean;
}

/**
 * An idle flush needs a fetch this recent: a consumer fetches every 250 ms when the topics are
 * quiet (apps/lib/consumer.ts), so a longer silence means it is cut off or rejoining, and a
 * partition without batches may still have records waiting.
 */
const FETCHED_WITHIN_MS = 5_000;

/** Work queued behind a failed transaction of its partition: the member restarts and restores from the commit. */
export class StaleStateError extends Error {
  constructor(partition: number) {
    super(`raw partition ${partition}: an earlier transaction failed, so its window state may be ahead of the commit; restarting from the committed offsets`);
    this.name = 'StaleStateError';
  }
}

export class Processor {
  private readonly states = new Map<number, PartitionState>();
  private readonly allowedLatenessMs: number;
  private readonly idleFlushMs: number;
  private readonly maxInFlight: number;
  private readonly commitIntervalMs: number;
  private readonly chunkSize: number;
  private readonly now: () => number;
  private readonly guards: ReadingGuardOptions;
  private readonly wallClock: () => number;
  private readonly topics: ProcessorTopics;
  private readonly tracing: Tracing;
  private inFlight = 0;
  private paused = false;
  private resumeConsumption: () => void = () => undefined;
  private readonly late: Counter<never>;
  private readonly openWindows: Gauge<'partition'>;
  private readonly transactions: Counter<'outcome'>;

  constructor(private readonly opts: ProcessorOptions) {
    this.allowedLatenessMs = opts.allowedLatenessMs ?? 10_000;
    this.idleFlushMs = opts.idleFlushMs ?? 15_000;
    this.maxInFlight = opts.maxInFlightMessages ?? 100_000;
    this.commitIntervalMs = opts.commitIntervalMs ?? 1_000;
    this.chunkSize = opts.chunkSize ?? 1_000;
    this.now = opts.now ?? Date.now;
    this.guards = { maxClockSkewMs: opts.maxClockSkewMs ?? 300_000 };
    this.wallClock = opts.wallClock ?? Date.now;
    this.topics = opts.topics;
    this.tracing = opts.tracing ?? Tracing.off;
    const registers = [opts.metrics.registry];
    this.late = new Counter({
      name: 'sdp_late_events_total',
      help: 'Valid readings dropped from windowing because their window was already emitted',
      registers,
    });
    this.openWindows = new Gauge({ name: 'sdp_open_windows', help: 'Windows awaiting the watermark', labelNames: ['partition'], registers });
    this.transactions = new Counter({ name: 'sdp_transactions_total', help: 'Output transactions by outcome', labelNames: ['outcome'], registers });
  }

  /** Drops all state at the start of a new assignment: work still in flight sees it is stale. */
  revokeAll(): void {
    this.states.clear();
    this.openWindows.reset();
  }

  /**
   * Resets all state for a new assignment: kafkajs restarts every assigned partition from
   * its committed offset after a rebalance, so state is rebuilt from the commit metadata.
   */
  assign(partitions: ReadonlyMap<number, CommitMetadata | undefined>, now = Date.now()): void {
    this.states.clear();
    this.openWindows.reset();
    for (const [partition, restored] of partitions) {
      this.states.set(partition, {
        windows: new PartitionWindows(this.allowedLatenessMs, restored?.watermark),
        progress: new PartitionProgress(restored),
        tail: Promise.resolve(),
        lastActivity: now,
        caughtUp: false,
      });
    }
  }

  handleBatch(batch: Batch, ctx: BatchContext): Promise<BatchResult> {
    const st = this.states.get(batch.partition);
    if (!st) throw new Error(`no state for ${batch.topic}[${batch.partition}]: batch arrived before its assignment`);
    return this.serialize(st, () => this.processBatch(st, batch, ctx));
  }

  /**
   * Timer tick: partitions idle for `idleFlushMs` advance their watermark to `now` minus the
   * allowed lateness and commit it with the windows it closes. Idle means really without new
   * records: caught up at its last batch, not paused, and the consumer still fetching. Without
   * those checks a broker outage looked idle too, and windows closed before the records that
   * were waiting in Kafka for them could be read (they then counted as late).
   */
  async flushIdle(now: number, ctx: IdleContext): Promise<void> {
    if (this.paused || !ctx.fetchedWithin(FETCHED_WITHIN_MS)) return;
    const idle = [...this.states].filter(([, st]) => st.caughtUp && st.windows.openCount > 0 && now - st.lastActivity >= this.idleFlushMs);
    await Promise.all(
      idle.map(([partition, st]) =>
        this.serialize(st, async () => {
          if (this.states.get(partition) !== st || st.failed || st.nextOffset === undefined || !ctx.isRunning()) return;
          // The wall clock stands for the newest possible event time, so lateness still applies:
          // a record stamped just before a window's end may still be on its way.
          st.windows.advanceWatermarkTo(now - this.allowedLatenessMs);
          const closed = st.windows.closeReady();
          if (closed.length === 0) return;
          const nextOffset = st.nextOffset;
          try {
            await this.inTransaction(
              partition,
              async (txn) => {
                const rejections: Rejection[] = [];
                const span = this.tracing.batchSpan(`flush ${this.topics.raw}`, SpanKind.INTERNAL, [], {
                  'messaging.destination.partition.id': String(partition),
                  'sdp.windows.closed': closed.length,
                });
                const outputs = new OutputSpans(this.tracing, span);
                await this.sendTraced(txn, this.aggregateMessages(closed, partition, rejections, outputs), undefined, rejections, span, outputs);
                return nextOffset;
              },
              st,
            );
          } catch (err) {
            if (this.states.get(partition) === st) ctx.restart(`idle flush of ${this.topics.raw}[${partition}] failed`, err);
            return;
          }
          this.openWindows.set({ partition: String(partition) }, st.windows.openCount);
          ctx.logger.debug({ partition, windows: closed.length, watermark: st.windows.watermark }, 'idle flush');
        }),
      ),
    );
  }

  /** Processes the batch in chunks, each sent in the partition's open transaction; commits at the end or every `commitIntervalMs`. */
  private async processBatch(st: PartitionState, batch: Batch, ctx: BatchContext): Promise<BatchResult> {
    st.lastActivity = Date.now();
    const { messages } = batch;
    let from = 0;
    try {
      while (from < messages.length) {
        if (this.states.get(batch.partition) !== st) return undefined; // revoked meanwhile: the new owner replays it
        if (st.failed) throw new StaleStateError(batch.partition);
        await this.inTransaction(
          batch.partition,
          async (txn) => {
            const openedAt = this.now();
            do {
              const to = Math.min(from + this.chunkSize, messages.length);
              await this.processChunk(st, batch, messages.slice(from, to), txn, ctx);
              from = to;
            } while (from < messages.length && this.now() - openedAt < this.commitIntervalMs);
            return Number(messages[from - 1].offset) + 1;
          },
          st,
        );
      }
    } catch (err) {
      if (this.states.get(batch.partition) !== st) {
        ctx.logger.debug({ err, partition: batch.partition }, 'transaction of a revoked partition dropped; its new owner replays it');
        return undefined;
      }
      throw err;
    }
    st.nextOffset = Number(batch.lastOffset()) + 1;
    st.caughtUp = batch.offsetLag() === '0';
    // Offsets are committed in the transactions; nothing is left for the runner to commit.
    return undefined;
  }

  /**
   * Runs `work` in a new transaction of the partition and commits it with the raw offset
   * `work` returns (everything below it processed) and the matching window metadata.
   */
  private async inTransaction(partition: number, work: (txn: OutputTransaction) => Promise<number>, st: PartitionState): Promise<void> {
    const txn = await this.opts.begin(partition);
    try {
      const nextOffset = await work(txn);
      const endCommit = this.opts.metrics.batchDuration.startTimer({ stage: 'commit' });
      await txn.commit(st.progress.planCommit(nextOffset, st.windows.minOpenOffset(), st.windows.watermark));
      endCommit();
      this.transactions.inc({ outcome: 'committed' });
    } catch (err) {
      st.failed = true;
      await txn.abort();
      this.transactions.inc({ outcome: 'aborted' });
      throw err;
    }
  }

  private async processChunk(st: PartitionState, batch: Batch, chunk: readonly KafkaMessage[], txn: OutputTransaction, ctx: BatchContext): Promise<void> {
    const { metrics } = this.opts;
    const clean: Message[] = [];
    const rejections: Rejection[] = [];
    let late = 0;

    const { tracing } = this;
    const span = tracing.batchSpan(
      `process ${batch.topic}`,
      SpanKind.CONSUMER,
      tracing.enabled ? upstreamContexts(chunk) : [],
      messagingAttributes('process', batch.topic, chunk.length, batch.partition),
    );
    const outputs = new OutputSpans(tracing, span);

    const endProcess = metrics.batchDuration.startTimer({ stage: 'process' });
    const clock = this.wallClock();
    for (const msg of chunk) {
      const offset = Number(msg.offset);
      const replayed = st.progress.alreadySent(offset);
      const v = validateRecord(msg.value);
      if (!v.ok) {
        if (!replayed) rejections.push({ message: msg, reason: v.reason, detail: v.detail, errorClass: v.errorClass });
        continue;
      }
      const unsafe = checkReading(v.value, msg, clock, this.guards);
      if (unsafe) {
        if (!replayed) rejections.push({ message: msg, reason: unsafe.reason, detail: unsafe.detail, errorClass: unsafe.errorClass });
        continue;
      }
      if (!replayed) clean.push({ key: v.value.deviceId, value: canonicalReading(v.value), timestamp: msg.timestamp });
      if (st.windows.add(v.value, offset, replayed ? -Infinity : clock) === 'late' && !replayed) late += 1;
    }
    const closed = st.windows.closeReady();
    endProcess();

    const deadLetters: Message[] = [];
    const failedAt = Date.now();
    const dlqTraceparent = rejections.length > 0 ? outputs.traceparent(this.topics.deadLetter) : undefined;
    for (const r of rejections) deadLetters.push(deadLetterMessage({ topic: batch.topic, partition: batch.partition }, r, failedAt, dlqTraceparent));
    const out = this.aggregateMessages(closed, batch.partition, rejections, outputs);
    if (clean.length > 0) out.push({ topic: this.topics.clean, messages: clean });
    if (deadLetters.length > 0) out.push({ topic: this.topics.deadLetter, messages: deadLetters });
    await this.sendTraced(txn, out, ctx, rejections, span, outputs);

    if (late > 0) this.late.inc(late);
    this.openWindows.set({ partition: String(batch.partition) }, st.windows.openCount);
  }

  /** Closed windows as aggregate messages; one that fails its own schema is dead-lettered (and added to `rejections`). */
  private aggregateMessages(closed: ClosedWindow[], partition: number, rejections: Rejection[], outputs: OutputSpans): TopicMessages[] {
    if (closed.length === 0) return [];
    const aggregates: Message[] = [];
    const dead: Message[] = [];
    for (const { aggregate, firstOffset } of closed) {
      const value = JSON.stringify(aggregate);
      const check = telemetryAggregateSchema.safeParse(aggregate);
      if (check.success) {
        aggregates.push({ key: `${aggregate.deviceId}|${aggregate.metric}|${aggregate.windowStart}`, value });
        continue;
      }
      // E.g. a sum overflowing to Infinity: keep the evidence instead of dropping it.
      const { reason, detail, errorClass } = schemaViolation(check.error.issues);
      const rejection: Rejection = {
        message: { key: Buffer.from(aggregate.deviceId), value: Buffer.from(value), offset: String(firstOffset), timestamp: String(Date.now()), headers: {} },
        reason,
        detail: `invalid aggregate: ${detail}`,
        errorClass,
      };
      rejections.push(rejection);
      dead.push(deadLetterMessage({ topic: this.topics.raw, partition }, rejection, Date.now(), outputs.traceparent(this.topics.deadLetter)));
    }
    const out: TopicMessages[] = [];
    if (aggregates.length > 0) out.push({ topic: this.topics.aggregates, messages: aggregates });
    if (dead.length > 0) out.push({ topic: this.topics.deadLetter, messages: dead });
    return out;
  }

  /**
   * `sendAll` inside the batch's spans: clean and aggregate records get their send span's header
   * (dead letters got theirs when built), and every span ends with the outcome.
   */
  private async sendTraced(
    txn: OutputTransaction,
    out: TopicMessages[],
    ctx: BatchContext | undefined,
    rejections: readonly Rejection[],
    span: Span,
    outputs: OutputSpans,
  ): Promise<void> {
    if (this.tracing.enabled) {
      for (const t of out) {
        if (t.topic === this.topics.deadLetter) continue;
        const headers = outputs.headers(t.topic);
        if (headers) for (const m of t.messages) m.headers = headers;
      }
    }
    const counts = new Map<string, number>();
    for (const t of out) counts.set(t.topic, (counts.get(t.topic) ?? 0) + t.messages.length);
    try {
      await this.sendAll(txn, out, ctx, rejections);
      outputs.end(counts);
    } catch (err) {
      outputs.end(counts, err);
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  /** Sends everything in the transaction and waits for the acks; pauses consumption while too much is in flight. */
  private async sendAll(txn: OutputTransaction, out: TopicMessages[], ctx: BatchContext | undefined, rejections: readonly Rejection[]): Promise<void> {
    const count = out.reduce((n, t) => n + t.messages.length, 0);
    if (count === 0) return;
    const { metrics } = this.opts;
    this.inFlight += count;
    if (ctx && !this.paused && this.inFlight > this.maxInFlight) {
      this.paused = true;
      this.resumeConsumption = () => ctx.resume();
      ctx.pause();
    }
    const endSend = metrics.batchDuration.startTimer({ stage: 'send' });
    try {
      await txn.send(out);
      for (const t of out) metrics.recordsOut.inc({ topic: t.topic }, t.messages.length);
      countDeadLetters(metrics, rejections);
    } catch (err) {
      metrics.errors.inc({ kind: 'send' });
      throw err;
    } finally {
      endSend();
      this.inFlight -= count;
      if (this.paused && this.inFlight <= this.maxInFlight / 2) {
        this.paused = false;
        this.resumeConsumption();
      }
    }
  }

  private serialize<T>(st: PartitionState, fn: () => Promise<T>): Promise<T> {
    const run = st.tail.then(fn, fn);
    st.tail = run.catch(() => undefined);
    return run;
  }
}
