/**
 * The processor's batch logic, independent of the Kafka connections (they are injected), so
 * it is unit-tested end to end: validate -> clean / DLQ, window, emit aggregates, plan the
 * commit. Per partition, batches and idle flushes run one at a time.
 */
import type { Batch, Message, TopicMessages } from 'kafkajs';
import { Counter, Gauge } from 'prom-client';
import type { Logger } from 'pino';
import { telemetryAggregateSchema } from '../contracts/telemetry';
import type { BatchContext, BatchResult, IdleContext } from '../lib/consumer';
import { countDeadLetters, deadLetterMessage, Rejection } from '../lib/dead-letter';
import type { AppMetrics } from '../lib/metrics';
import { schemaViolation } from '../lib/records';
import { CommitMetadata, PartitionProgress } from './offsets';
import { canonicalReading, validateRecord } from './validate';
import { ClosedWindow, PartitionWindows } from './windows';

/**
 * Sends topic messages and resolves once all were acknowledged (acks=all). `sourcePartition` is
 * the raw partition they derive from: a sender with several producers keeps each source
 * partition on one of them, so per-key order is kept.
 */
export type SendFn = (topicMessages: readonly TopicMessages[], sourcePartition: number) => Promise<void>;

/** The processor's input and outputs: topic names from its catalog entry. */
export interface ProcessorTopics {
  readonly raw: string;
  readonly clean: string;
  readonly aggregates: string;
  readonly deadLetter: string;
}

export interface ProcessorOptions {
  readonly send: SendFn;
  readonly topics: ProcessorTopics;
  readonly logger: Logger;
  readonly metrics: AppMetrics;
  /** @default 10000 */
  readonly allowedLatenessMs?: number;
  /** @default 15000 */
  readonly idleFlushMs?: number;
  /** Messages awaiting acknowledgement across partitions before the consumer pauses. @default 100000 */
  readonly maxInFlightMessages?: number;
}

interface PartitionState {
  readonly windows: PartitionWindows;
  readonly progress: PartitionProgress;
  /** Serializes a partition's batches with its idle flushes. */
  tail: Promise<unknown>;
  nextOffset?: number;
  lastActivity: number;
}

export class Processor {
  private readonly states = new Map<number, PartitionState>();
  private readonly allowedLatenessMs: number;
  private readonly idleFlushMs: number;
  private readonly maxInFlight: number;
  private readonly topics: ProcessorTopics;
  private inFlight = 0;
  private paused = false;
  private resumeConsumption: () => void = () => undefined;
  private readonly late: Counter<never>;
  private readonly openWindows: Gauge<'partition'>;

  constructor(private readonly opts: ProcessorOptions) {
    this.allowedLatenessMs = opts.allowedLatenessMs ?? 10_000;
    this.idleFlushMs = opts.idleFlushMs ?? 15_000;
    this.maxInFlight = opts.maxInFlightMessages ?? 100_000;
    this.topics = opts.topics;
    const registers = [opts.metrics.registry];
    this.late = new Counter({
      name: 'sdp_late_events_total',
      help: 'Valid readings dropped from windowing because their window was already emitted',
      registers,
    });
    this.openWindows = new Gauge({ name: 'sdp_open_windows', help: 'Windows awaiting the watermark', labelNames: ['partition'], registers });
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
      });
    }
  }

  handleBatch(batch: Batch, ctx: BatchContext): Promise<BatchResult> {
    const st = this.states.get(batch.partition);
    if (!st) throw new Error(`no state for ${batch.topic}[${batch.partition}]: batch arrived before its assignment`);
    return this.serialize(st, () => this.processBatch(st, batch, ctx));
  }

  /** Timer tick: partitions idle for `idleFlushMs` advance their watermark to `now` minus the allowed lateness and report their new commit. */
  async flushIdle(now: number, ctx: IdleContext): Promise<void> {
    const idle = [...this.states].filter(([, st]) => st.windows.openCount > 0 && now - st.lastActivity >= this.idleFlushMs);
    await Promise.all(
      idle.map(([partition, st]) =>
        this.serialize(st, async () => {
          if (this.states.get(partition) !== st) return; // reassigned meanwhile
          // The wall clock stands for the newest possible event time, so lateness still applies:
          // a record stamped just before a window's end may still be on its way.
          st.windows.advanceWatermarkTo(now - this.allowedLatenessMs);
          const closed = st.windows.closeReady();
          if (closed.length === 0 || st.nextOffset === undefined) return;
          const rejections: Rejection[] = [];
          await this.sendAll(this.aggregateMessages(closed, partition, rejections), undefined, partition, rejections);
          this.openWindows.set({ partition: String(partition) }, st.windows.openCount);
          if (this.states.get(partition) !== st || !ctx.isRunning()) return;
          ctx.markSafe(this.topics.raw, partition, st.progress.planCommit(st.nextOffset, st.windows.minOpenOffset(), st.windows.watermark));
          ctx.logger.debug({ partition, windows: closed.length, watermark: st.windows.watermark }, 'idle flush');
        }),
      ),
    );
  }

  private async processBatch(st: PartitionState, batch: Batch, ctx: BatchContext): Promise<BatchResult> {
    st.lastActivity = Date.now();
    const { metrics } = this.opts;
    const clean: Message[] = [];
    const rejections: Rejection[] = [];
    let late = 0;

    const endProcess = metrics.batchDuration.startTimer({ stage: 'process' });
    for (const msg of batch.messages) {
      const offset = Number(msg.offset);
      const replayed = st.progress.alreadySent(offset);
      const v = validateRecord(msg.value);
      if (!v.ok) {
        if (!replayed) rejections.push({ message: msg, reason: v.reason, detail: v.detail, errorClass: v.errorClass });
        continue;
      }
      if (!replayed) clean.push({ key: v.value.deviceId, value: canonicalReading(v.value), timestamp: msg.timestamp });
      if (st.windows.add(v.value, offset) === 'late' && !replayed) late += 1;
    }
    const closed = st.windows.closeReady();
    endProcess();

    const deadLetters: Message[] = [];
    const failedAt = Date.now();
    for (const r of rejections) deadLetters.push(deadLetterMessage({ topic: batch.topic, partition: batch.partition }, r, failedAt));
    const out = this.aggregateMessages(closed, batch.partition, rejections);
    if (clean.length > 0) out.push({ topic: this.topics.clean, messages: clean });
    if (deadLetters.length > 0) out.push({ topic: this.topics.deadLetter, messages: deadLetters });
    await this.sendAll(out, ctx, batch.partition, rejections);

    if (late > 0) this.late.inc(late);
    this.openWindows.set({ partition: String(batch.partition) }, st.windows.openCount);

    st.nextOffset = Number(batch.lastOffset()) + 1;
    return st.progress.planCommit(st.nextOffset, st.windows.minOpenOffset(), st.windows.watermark);
  }

  /** Closed windows as aggregate messages; one that fails its own schema is dead-lettered (and added to `rejections`). */
  private aggregateMessages(closed: ClosedWindow[], partition: number, rejections: Rejection[]): TopicMessages[] {
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
      dead.push(deadLetterMessage({ topic: this.topics.raw, partition }, rejection, Date.now()));
    }
    const out: TopicMessages[] = [];
    if (aggregates.length > 0) out.push({ topic: this.topics.aggregates, messages: aggregates });
    if (dead.length > 0) out.push({ topic: this.topics.deadLetter, messages: dead });
    return out;
  }

  /** Sends everything and waits for the acks; pauses consumption while too much is in flight. */
  private async sendAll(out: TopicMessages[], ctx: BatchContext | undefined, sourcePartition: number, rejections: readonly Rejection[]): Promise<void> {
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
      await this.opts.send(out, sourcePartition);
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
