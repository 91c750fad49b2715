/**
 * The one place the apps' Kafka consumption semantics live: at-least-once, commit-after-write.
 *
 * - `eachBatch` with `eachBatchAutoResolve: false` and `autoCommit: false`: kafkajs never
 *   commits on its own. After `handleBatch` RESOLVED, the runner commits exactly the offset
 *   the handler returned (the next offset to read, optionally with commit metadata), or
 *   nothing for `undefined`. An app that buffers (e.g. a file upload) returns `undefined`
 *   until its buffer is durably written, then returns the offset after it.
 * - Either way the fetch position moves past the batch, so buffering apps keep reading.
 * - A handler that throws gets nothing committed; kafkajs restarts the consumer, which
 *   rejoins the group and replays from the last committed offsets (`onPartitionsAssigned`
 *   fires again: drop in-memory state for the assigned partitions there).
 * - Shutdown (SIGTERM/SIGINT via `onShutdown`, or `stop()`): stop fetching; the in-flight
 *   batch may finish (and commit what it wrote) or abandon when `ctx.isRunning()` turns
 *   false by returning `undefined`; then disconnect.
 *
 * The runner records `sdp_records_in_total`, `sdp_consumer_lag` and
 * `sdp_batch_duration_seconds{stage="batch"}`; apps record what they write.
 */
import type { Batch, Consumer, ConsumerConfig, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { AppMetrics } from './metrics';
import { onShutdown } from './shutdown';

export type { Batch } from 'kafkajs';

export interface PartitionAssignment {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface OffsetCommit {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read, as kafkajs strings it. */
  readonly offset: string;
  /** Stored with the offset by the group coordinator (e.g. a watermark to restore on replay). */
  readonly metadata?: string;
}

/** What `handleBatch` returns: the offset to commit for the batch's partition, or nothing. */
export type BatchResult = string | { readonly offset: string; readonly metadata?: string } | undefined;

export interface BatchContext {
  readonly logger: Logger;
  readonly metrics: AppMetrics;
  /** Increments on every group (re)join; state built in an older generation is stale. */
  readonly generation: number;
  /** Call during long work so the group does not evict the member. */
  heartbeat(): Promise<void>;
  /** False once shutdown began: finish quickly or abandon by returning `undefined`. */
  isRunning(): boolean;
  /** True if a seek for this partition is pending; the batch's records are obsolete. */
  isStale(): boolean;
  /** Backpressure: stop fetching from all subscribed topics until `resume()`. */
  pause(): void;
  resume(): void;
}

export interface IdleContext {
  readonly logger: Logger;
  readonly metrics: AppMetrics;
  readonly generation: number;
  isRunning(): boolean;
  /** Commits outside a batch, e.g. after a timer flushed buffered state. */
  commit(offsets: readonly OffsetCommit[]): Promise<void>;
}

export interface RunConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly logger: Logger;
  readonly metrics: AppMetrics;
  /** Processes one partition's batch; see the module comment for what to return. */
  readonly handleBatch: (batch: Batch, ctx: BatchContext) => Promise<BatchResult>;
  /**
   * Called on every group join with this member's partitions, before their first batch:
   * batches wait for the returned promise (e.g. to restore state or `consumer.seek`).
   */
  readonly onPartitionsAssigned?: (assignments: readonly PartitionAssignment[], consumer: Consumer) => void | Promise<void>;
  /** Timer tick for time-driven work (flushes, idle windows). Never overlaps itself. */
  readonly onIdle?: (ctx: IdleContext) => void | Promise<void>;
  /** @default 1000 */
  readonly idleIntervalMs?: number;
  /** Batches of different partitions processed at once. @default 4 */
  readonly partitionsConsumedConcurrently?: number;
  /** Where a group with no committed offset starts. @default true (never skip data) */
  readonly fromBeginning?: boolean;
  /** kafkajs consumer settings beyond the defaults below (session timeout, fetch sizes). */
  readonly consumerConfig?: Omit<Partial<ConsumerConfig>, 'groupId'>;
  /** Stop the consumer on SIGTERM/SIGINT via `onShutdown`. @default true */
  readonly stopOnShutdown?: boolean;
}

export interface RunningConsumer {
  readonly consumer: Consumer;
  /** True while consuming; false after stop() or a crash kafkajs will not restart. */
  isRunning(): boolean;
  /** False after a crash kafkajs gave up on; wire it to `/healthz`. */
  isHealthy(): boolean;
  commit(offsets: readonly OffsetCommit[]): Promise<void>;
  stop(): Promise<void>;
}

export async function runConsumer(opts: RunConsumerOptions): Promise<RunningConsumer> {
  const { kafka, groupId, logger, metrics } = opts;
  const topics = [...opts.topics];
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    // Small fetch wait keeps latency low when the topic is quiet; under load fetches fill anyway.
    maxWaitTimeInMs: 250,
    ...opts.consumerConfig,
  });

  let stopping = false;
  let healthy = true;
  let generation = 0;
  let assignmentReady: Promise<void> = Promise.resolve();

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    generation += 1;
    const assignments = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions }));
    logger.info({ generation, assignments }, 'partitions assigned');
    if (opts.onPartitionsAssigned) {
      assignmentReady = Promise.resolve().then(() => opts.onPartitionsAssigned?.(assignments, consumer));
    }
  });
  consumer.on(consumer.events.CRASH, (event) => {
    metrics.errors.inc({ kind: 'consumer_crash' });
    logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
    if (!event.payload.restart) healthy = false;
  });

  const pauseAll = () => consumer.pause(topics.map((topic) => ({ topic })));
  const resumeAll = () => consumer.resume(topics.map((topic) => ({ topic })));

  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: opts.fromBeginning ?? true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 4,
    eachBatch: async (payload) => {
      const { batch } = payload;
      await assignmentReady;
      const startedIn = generation;
      if (stopping || !payload.isRunning()) return;

      metrics.recordsIn.inc({ topic: batch.topic }, batch.messages.length);
      const ctx: BatchContext = {
        logger,
        metrics,
        generation: startedIn,
        heartbeat: () => payload.heartbeat(),
        isRunning: () => !stopping && payload.isRunning(),
        isStale: () => payload.isStale(),
        pause: pauseAll,
        resume: resumeAll,
      };
      const endTimer = metrics.batchDuration.startTimer({ stage: 'batch' });
      let result: BatchResult;
      try {
        result = await opts.handleBatch(batch, ctx);
      } catch (err) {
        metrics.errors.inc({ kind: 'handler' });
        logger.error({ err, topic: batch.topic, partition: batch.partition, firstOffset: batch.firstOffset() }, 'batch handler failed; replaying from the last commit');
        throw err;
      } finally {
        endTimer();
      }
      // A rebalance during the batch reset kafkajs' positions; our commit would be rejected.
      if (generation !== startedIn) return;

      payload.resolveOffset(batch.lastOffset());
      const commit = typeof result === 'string' ? { offset: result } : result;
      if (commit) {
        try {
          // Through the payload, not consumer.commitOffsets: it still works while stopping,
          // so a batch that finished during shutdown keeps its commit.
          await payload.commitOffsetsIfNecessary({
            topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: commit.offset, ...(commit.metadata !== undefined ? { metadata: commit.metadata } : {}) }] }],
          });
        } catch (err) {
          metrics.errors.inc({ kind: 'commit' });
          throw err;
        }
      }
      const lag = Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n);
      metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, lag));
    },
  });

  const commit = async (offsets: readonly OffsetCommit[]) => {
    if (offsets.length === 0) return;
    try {
      await consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, ...(o.metadata !== undefined ? { metadata: o.metadata } : {}) })));
    } catch (err) {
      metrics.errors.inc({ kind: 'commit' });
      throw err;
    }
  };

  let idleRun: Promise<void> | undefined;
  const idleTimer = opts.onIdle
    ? setInterval(() => {
        if (idleRun || stopping) return;
        const idleCtx: IdleContext = { logger, metrics, generation, isRunning: () => !stopping, commit };
        idleRun = Promise.resolve()
          .then(() => opts.onIdle?.(idleCtx))
          .catch((err: unknown) => {
            metrics.errors.inc({ kind: 'idle' });
            logger.error({ err }, 'idle tick failed');
          })
          .finally(() => {
            idleRun = undefined;
          });
      }, opts.idleIntervalMs ?? 1000)
    : undefined;
  idleTimer?.unref();

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      stopping = true;
      if (idleTimer) clearInterval(idleTimer);
      await idleRun;
      await consumer.stop();
      await consumer.disconnect();
      logger.info({ groupId }, 'consumer stopped');
    })();
    return stopped;
  };
  if (opts.stopOnShutdown ?? true) onShutdown(stop, `consumer ${groupId}`);

  return {
    consumer,
    isRunning: () => !stopping && healthy,
    isHealthy: () => healthy,
    commit,
    stop,
  };
}
