/**
 * The one place the apps' Kafka consumption semantics live: at-least-once, commit-after-write,
 * with ONE commit policy (see ./commits.ts, after Kafka Connect's `preCommit`).
 *
 * - `eachBatch` with `eachBatchAutoResolve: false` and `autoCommit: false`: kafkajs never
 *   commits on its own. A handler reports the offset that is safe to commit for its partition
 *   (everything below it durably written, optionally with commit metadata) by returning it, or
 *   `undefined` when nothing new is safe (an app that buffers, e.g. a file upload, returns the
 *   offset after its last durable upload). An idle tick reports the same way (`ctx.markSafe`).
 * - The runner commits the latest safe offset of each partition: at the end of its batch, after
 *   every idle tick, when kafkajs starts a rebalance (revoke) and on shutdown. A handler never
 *   commits itself, and no app opens an admin client: the committed offsets and their metadata
 *   are handed to `onPartitionsAssigned`.
 * - Either way the fetch position moves past the batch, so buffering apps keep reading.
 * - A handler that throws gets nothing committed; kafkajs restarts the consumer, which
 *   rejoins the group and replays from the last committed offsets (`onPartitionsAssigned`
 *   fires again: drop in-memory state for the assigned partitions there).
 * - Shutdown (SIGTERM/SIGINT via `onShutdown`, or `stop()`): stop fetching; the in-flight
 *   batch may finish (and commit what it wrote) or abandon when `ctx.isRunning()` turns
 *   false by returning `undefined`; pending safe offsets are committed; then disconnect.
 *
 * Every commit goes through `commitOffsets` below, so a transactional variant (offsets sent
 * with the output in one Kafka transaction) replaces one function, not the apps' code.
 *
 * The runner records `sdp_records_in_total`, `sdp_consumer_lag` and
 * `sdp_batch_duration_seconds{stage="batch"}`; apps record what they write.
 */
import type { Admin, Batch, ConsumerConfig, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { CommitTracker, OffsetCommit, SafeOffset } from './commits';
import type { AppMetrics } from './metrics';
import { onShutdown } from './shutdown';

export type { Batch } from 'kafkajs';
export type { OffsetCommit, SafeOffset } from './commits';

export interface PartitionAssignment {
  readonly topic: string;
  readonly partitions: readonly number[];
}

/** What `handleBatch` returns: the offset that is safe to commit for the batch's partition, or nothing new. */
export type BatchResult = string | SafeOffset | undefined;

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
  /** Reports a safe offset outside a batch (e.g. after a timer flushed buffered state); committed when the tick ends. */
  markSafe(topic: string, partition: number, safe: BatchResult): void;
}

export interface AssignmentContext {
  readonly generation: number;
  readonly assignments: readonly PartitionAssignment[];
  /** The group's committed offset (next to read) and metadata of an assigned partition; undefined when none. */
  committed(topic: string, partition: number): SafeOffset | undefined;
  /** Moves an assigned partition's fetch position before its first batch. */
  seek(topic: string, partition: number, offset: string): void;
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
   * Called on every group join with this member's partitions and their committed offsets,
   * before their first batch: batches wait for the returned promise (e.g. to restore state).
   */
  readonly onPartitionsAssigned?: (ctx: AssignmentContext) => void | Promise<void>;
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
  /** True while consuming; false after stop() or a crash kafkajs will not restart. */
  isRunning(): boolean;
  /** False after a crash kafkajs gave up on; wire it to `/healthz`. */
  isHealthy(): boolean;
  stop(): Promise<void>;
}

const toSafe = (result: BatchResult): SafeOffset | undefined => (typeof result === 'string' ? { offset: result } : result);
const withMetadata = (c: OffsetCommit) => ({ partition: c.partition, offset: c.offset, ...(c.metadata !== undefined ? { metadata: c.metadata } : {}) });

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
  // Only an app that restores state from its commits needs them read back.
  const admin: Admin | undefined = opts.onPartitionsAssigned ? kafka.admin() : undefined;

  const tracker = new CommitTracker();
  let stopping = false;
  let healthy = true;
  let generation = 0;
  let assignmentReady: Promise<void> = Promise.resolve();

  /** The one way offsets reach the coordinator; serialized so a later mark never lands before an earlier one. */
  let commitChain: Promise<unknown> = Promise.resolve();
  const commitOffsets = (
    commits: readonly OffsetCommit[],
    send: (byTopic: { topic: string; partitions: ReturnType<typeof withMetadata>[] }[]) => Promise<unknown>,
  ) => {
    const inGeneration = generation;
    const run = commitChain.then(async () => {
      // After a rejoin the group's commit call carries the new generation: marks of the old one
      // could overwrite what the partition's new owner committed.
      if (commits.length === 0 || generation !== inGeneration) return;
      const byTopic = new Map<string, ReturnType<typeof withMetadata>[]>();
      for (const c of commits) byTopic.set(c.topic, [...(byTopic.get(c.topic) ?? []), withMetadata(c)]);
      try {
        await send([...byTopic].map(([topic, partitions]) => ({ topic, partitions })));
      } catch (err) {
        metrics.errors.inc({ kind: 'commit' });
        throw err;
      }
      tracker.committedIn(inGeneration, commits);
    });
    commitChain = run.catch(() => undefined);
    return run;
  };
  /**
   * The group's own commit call, taken from the latest batch: unlike `consumer.commitOffsets` it
   * does not retry for half a minute (a revoke commit would hold up the next generation's
   * commits) and it still works while the consumer stops.
   */
  let groupCommit: ((offsets: { topics: { topic: string; partitions: ReturnType<typeof withMetadata>[] }[] }) => Promise<unknown>) | undefined;
  /** Commits every pending safe offset outside a batch (idle, revoke, shutdown); a failure is retried at the next point. */
  const commitPending = async (point: string) => {
    const send = groupCommit;
    if (!send) return; // no batch yet, so nothing was marked safe
    try {
      await commitOffsets(tracker.pending(), (topics) => send({ topics }));
    } catch (err) {
      logger.warn({ err, point }, 'commit failed; the offsets stay pending');
    }
  };

  const fetchCommitted = async (assignments: readonly PartitionAssignment[]): Promise<OffsetCommit[]> => {
    if (!admin) return [];
    const fetched = await admin.fetchOffsets({ groupId, topics: assignments.map((a) => a.topic) });
    const out: OffsetCommit[] = [];
    for (const { topic, partitions } of fetched) {
      const mine = new Set(assignments.find((a) => a.topic === topic)?.partitions ?? []);
      for (const p of partitions) {
        if (!mine.has(p.partition) || Number(p.offset) < 0) continue;
        out.push({ topic, partition: p.partition, offset: p.offset, ...(p.metadata !== null && p.metadata !== '' ? { metadata: p.metadata } : {}) });
      }
    }
    return out;
  };

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    generation += 1;
    const joined = generation;
    const assignments = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions }));
    logger.info({ generation, assignments }, 'partitions assigned');
    tracker.reset(joined);
    assignmentReady = (async () => {
      const committed = await fetchCommitted(assignments);
      if (joined !== generation) return;
      tracker.reset(joined, committed);
      await opts.onPartitionsAssigned?.({
        generation: joined,
        assignments,
        committed: (topic, partition) => tracker.committedOffset(topic, partition),
        seek: (topic, partition, offset) => consumer.seek({ topic, partition, offset }),
      });
    })();
    // Awaited by the batches; marked handled here so a failure is not an unhandled rejection.
    assignmentReady.catch(() => undefined);
  });
  // Eager rebalancing revokes every partition: commit what is safe while this generation lasts.
  consumer.on(consumer.events.REBALANCING, () => void commitPending('revoke'));
  consumer.on(consumer.events.CRASH, (event) => {
    metrics.errors.inc({ kind: 'consumer_crash' });
    logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
    if (!event.payload.restart) healthy = false;
  });

  const pauseAll = () => consumer.pause(topics.map((topic) => ({ topic })));
  const resumeAll = () => consumer.resume(topics.map((topic) => ({ topic })));

  await admin?.connect();
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: opts.fromBeginning ?? true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 4,
    eachBatch: async (payload) => {
      const { batch } = payload;
      groupCommit = payload.commitOffsetsIfNecessary;
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
        logger.error(
          { err, topic: batch.topic, partition: batch.partition, firstOffset: batch.firstOffset() },
          'batch handler failed; replaying from the last commit',
        );
        throw err;
      } finally {
        endTimer();
      }
      // A rebalance during the batch reset kafkajs' positions; our commit would be rejected.
      if (generation !== startedIn) return;

      payload.resolveOffset(batch.lastOffset());
      const safe = toSafe(result);
      if (safe) tracker.mark(startedIn, { topic: batch.topic, partition: batch.partition, ...safe });
      // Through the payload, not consumer.commitOffsets: it still works while stopping,
      // so a batch that finished during shutdown keeps its commit.
      await commitOffsets(tracker.pending(batch), (topics) => payload.commitOffsetsIfNecessary({ topics }));
      const lag = Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n);
      metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, lag));
    },
  });

  let idleRun: Promise<void> | undefined;
  const idleTimer = opts.onIdle
    ? setInterval(() => {
        if (idleRun || stopping) return;
        const tickGeneration = generation;
        const idleCtx: IdleContext = {
          logger,
          metrics,
          generation: tickGeneration,
          isRunning: () => !stopping,
          markSafe: (topic, partition, result) => {
            const safe = toSafe(result);
            if (safe) tracker.mark(tickGeneration, { topic, partition, ...safe });
          },
        };
        idleRun = Promise.resolve()
          .then(() => opts.onIdle?.(idleCtx))
          .catch((err: unknown) => {
            metrics.errors.inc({ kind: 'idle' });
            logger.error({ err }, 'idle tick failed');
          })
          .then(() => commitPending('idle'))
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
      await commitPending('shutdown');
      await consumer.stop();
      await consumer.disconnect();
      await admin?.disconnect();
      logger.info({ groupId }, 'consumer stopped');
    })();
    return stopped;
  };
  if (opts.stopOnShutdown ?? true) onShutdown(stop, `consumer ${groupId}`);

  return {
    isRunning: () => !stopping && healthy,
    isHealthy: () => healthy,
    stop,
  };
}
