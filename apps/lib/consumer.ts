/**
 * The one place the apps' Kafka consumption semantics live: commit-after-write with ONE commit
 * policy (see ./commits.ts, after Kafka Connect's `preCommit`), reading `read_committed`.
 *
 * - `eachBatch` with `eachBatchAutoResolve: false` and `autoCommit: false`: kafkajs never
 *   commits on its own. A handler reports the offset that is safe to commit for its partition
 *   (everything below it durably written, optionally with commit metadata) by returning it, or
 *   `undefined` when nothing new is safe (an app that buffers, e.g. a file upload, returns the
 *   offset after its last durable upload; a transactional app commits its offsets inside its
 *   transactions, see ./transactions.ts, and always returns `undefined`). An idle tick reports
 *   the same way (`ctx.markSafe`).
 * - The runner commits the latest safe offset of each partition: at the end of its batch, after
 *   every idle tick, when kafkajs starts a rebalance (revoke) and on shutdown. A handler never
 *   commits itself, and no app opens an admin client: the committed offsets and their metadata
 *   are handed to `onPartitionsAssigned`.
 * - Either way the fetch position moves past the batch, so buffering apps keep reading.
 * - Isolation is read_committed: records of aborted transactions are never handed over, and
 *   offsets holding only transaction markers are committed past (./commits.ts).
 * - A handler that throws gets nothing committed, and its in-memory state may be ahead of the
 *   commits. The runner then RESTARTS the member: a new kafkajs consumer rejoins the group, every
 *   partition resumes from its committed offset and `onPartitionsAssigned` fires again (drop
 *   in-memory state for the assigned partitions there).
 * - A dead consumer never hides: whatever kafkajs gives up on (a crash it will not restart, e.g.
 *   "Failed to find group coordinator" after a long broker outage), the runner restarts the member
 *   with capped backoff. /readyz is false from a crash until the group is joined again; if that
 *   does not happen within `maxRecoveryMs`, /healthz turns false and `onGiveUp` runs (the app exits
 *   non-zero so its pod restarts).
 * - Shutdown (SIGTERM/SIGINT via `onShutdown`, or `stop()`): stop fetching; the in-flight
 *   batch may finish (and commit what it wrote) or abandon when `ctx.isRunning()` turns
 *   false by returning `undefined`; pending safe offsets are committed; then disconnect.
 *   apps/lib/shutdown.ts bounds the whole of it.
 *
 * The runner records `sdp_records_in_total`, `sdp_consumer_lag` and
 * `sdp_batch_duration_seconds{stage="batch"}`; apps record what they write.
 */
import type { Admin, Batch, Consumer, ConsumerConfig, Kafka } from 'kafkajs';
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
  /** The tick's work failed half-way and in-memory state may be ahead of the commits: replay from them. */
  restart(why: string, err: unknown): void;
  /**
   * True if the current member completed a fetch within the last `ms`: a partition without
   * batches is then really without new records, not just unread (a broker outage, a rejoin).
   */
  fetchedWithin(ms: number): boolean;
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
   * Runs first on every group join, before the committed offsets are read: a transactional app
   * fences the partitions' earlier writers here, so the offsets it then reads are final.
   */
  readonly onAssignmentStart?: (ctx: { readonly generation: number; readonly assignments: readonly PartitionAssignment[] }) => Promise<void>;
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
  /** Longest a member may stay out of its group (crashed, restarting) before /healthz fails and `onGiveUp` runs. @default 300000 */
  readonly maxRecoveryMs?: number;
  /** Backoff between restarts: doubles from this, capped at 30 s. @default 1000 */
  readonly restartBackoffMs?: number;
  /** Called once when recovery took longer than `maxRecoveryMs` (the app exits so its pod restarts). */
  readonly onGiveUp?: (err: unknown) => void;
}

export interface RunningConsumer {
  /** True while a member of its group and consuming; false while restarting, after stop() or after giving up. */
  isRunning(): boolean;
  /** False once recovery took longer than `maxRecoveryMs`; wire it to `/healthz`. */
  isHealthy(): boolean;
  stop(): Promise<void>;
}

const toSafe = (result: BatchResult): SafeOffset | undefined => (typeof result === 'string' ? { offset: result } : result);
const withMetadata = (c: OffsetCommit) => ({ partition: c.partition, offset: c.offset, ...(c.metadata !== undefined ? { metadata: c.metadata } : {}) });
type GroupCommit = (offsets: { topics: { topic: string; partitions: ReturnType<typeof withMetadata>[] }[] }) => Promise<unknown>;

const MAX_BACKOFF_MS = 30_000;

export async function runConsumer(opts: RunConsumerOptions): Promise<RunningConsumer> {
  const { kafka, groupId, logger, metrics } = opts;
  const topics = [...opts.topics];
  const maxRecoveryMs = opts.maxRecoveryMs ?? 300_000;
  const backoffMs = opts.restartBackoffMs ?? 1_000;
  // Only an app that restores state from its commits needs them read back.
  const admin: Admin | undefined = opts.onPartitionsAssigned ? kafka.admin() : undefined;

  const tracker = new CommitTracker();
  let stopping = false;
  let gaveUp = false;
  let generation = 0;
  /** Set from a crash or a restart until the member has joined its group again. */
  let outSince: number | undefined = Date.now();
  /** When the current member last completed a fetch (kafkajs FETCH event); undefined until its first. */
  let lastFetchAt: number | undefined;
  let lastFailure: unknown;
  let restarts = 0;
  /** The restart in progress, if any: no batch or idle tick runs meanwhile. */
  let restarting: Promise<void> | undefined;
  let assignmentReady: Promise<void> = Promise.resolve();
  let consumer!: Consumer;
  /** Ends a restart's backoff early (on stop). */
  let wake: () => void = () => undefined;

  /** The one way offsets reach the coordinator; serialized so a later mark never lands before an earlier one. */
  let commitChain: Promise<unknown> = Promise.resolve();
  const commitOffsets = (commits: readonly OffsetCommit[], send: GroupCommit) => {
    const inGeneration = generation;
    const run = commitChain.then(async () => {
      // After a rejoin the group's commit call carries the new generation: marks of the old one
      // could overwrite what the partition's new owner committed.
      if (commits.length === 0 || generation !== inGeneration) return;
      const byTopic = new Map<string, ReturnType<typeof withMetadata>[]>();
      for (const c of commits) byTopic.set(c.topic, [...(byTopic.get(c.topic) ?? []), withMetadata(c)]);
      try {
        await send({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
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
  let groupCommit: GroupCommit | undefined;
  /** Commits every pending safe offset outside a batch (idle, revoke, shutdown); a failure is retried at the next point. */
  const commitPending = async (point: string) => {
    const send = groupCommit;
    if (!send) return; // no batch yet, so nothing was marked safe
    try {
      await commitOffsets(tracker.pending(), send);
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

  /**
   * Replaces the member with a new kafkajs consumer, after a failed batch or a crash kafkajs will
   * not restart. Backoff doubles per restart without a successful join in between.
   */
  const restart = (why: string, err: unknown) => {
    if (stopping || gaveUp || restarting) return;
    outSince ??= Date.now();
    lastFailure = err;
    // Marks of this member's generation must not be committed by the next one.
    generation += 1;
    tracker.reset(generation);
    const delay = Math.min(backoffMs * 2 ** restarts, MAX_BACKOFF_MS);
    restarts += 1;
    metrics.errors.inc({ kind: 'consumer_restart' });
    logger.warn({ err, why, inMs: delay, restarts }, 'restarting the consumer; it resumes from the committed offsets');
    const old = consumer;
    const attempt = (async () => {
      await old.stop().catch(() => undefined);
      await old.disconnect().catch(() => undefined);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (stopping || gaveUp) return;
      await startMember();
    })();
    restarting = attempt;
    attempt.then(
      () => {
        if (restarting === attempt) restarting = undefined;
      },
      (startErr: unknown) => {
        if (restarting === attempt) restarting = undefined;
        restart('the restarted consumer could not start', startErr);
      },
    );
  };

  const pauseAll = () => consumer.pause(topics.map((topic) => ({ topic })));
  const resumeAll = () => consumer.resume(topics.map((topic) => ({ topic })));

  const startMember = async () => {
    const member = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      // Small fetch wait keeps latency low when the topic is quiet; under load fetches fill anyway.
      maxWaitTimeInMs: 250,
      ...opts.consumerConfig,
      // Never hand over records of open or aborted transactions (the processor writes transactionally).
      readUncommitted: false,
    });
    consumer = member;
    lastFetchAt = undefined;
    member.on(member.events.FETCH, () => {
      if (member === consumer) lastFetchAt = Date.now();
    });

    member.on(member.events.GROUP_JOIN, (event) => {
      if (member !== consumer) return;
      generation += 1;
      const joined = generation;
      outSince = undefined;
      restarts = 0;
      const assignments = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions }));
      logger.info({ generation, assignments }, 'partitions assigned');
      tracker.reset(joined);
      assignmentReady = (async () => {
        await opts.onAssignmentStart?.({ generation: joined, assignments });
        const committed = await fetchCommitted(assignments);
        if (joined !== generation) return;
        tracker.reset(joined, committed);
        await opts.onPartitionsAssigned?.({
          generation: joined,
          assignments,
          committed: (topic, partition) => tracker.committedOffset(topic, partition),
          seek: (topic, partition, offset) => member.seek({ topic, partition, offset }),
        });
      })();
      // Awaited by the batches; marked handled here so a failure is not an unhandled rejection.
      assignmentReady.catch(() => undefined);
    });
    // Eager rebalancing revokes every partition: commit what is safe while this generation lasts.
    member.on(member.events.REBALANCING, () => void commitPending('revoke'));
    member.on(member.events.CRASH, (event) => {
      if (member !== consumer) return;
      metrics.errors.inc({ kind: 'consumer_crash' });
      outSince ??= Date.now();
      lastFailure = event.payload.error;
      logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
      if (!event.payload.restart) restart('kafkajs will not restart the consumer', event.payload.error);
    });
    // kafkajs skips fetched offsets that hold no data (markers, aborted records) without a batch.
    member.on(member.events.END_BATCH_PROCESS, ({ payload }) => {
      if (member !== consumer || payload.batchSize > 0 || payload.firstOffset === null) return;
      tracker.skipped(generation, payload.topic, payload.partition, payload.firstOffset, payload.lastOffset);
    });

    await member.connect();
    await member.subscribe({ topics, fromBeginning: opts.fromBeginning ?? true });
    await member.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 4,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (member !== consumer || stopping || restarting || !payload.isRunning()) return;
        const startedIn = generation;
        groupCommit = payload.commitOffsetsIfNecessary;

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
          await assignmentReady;
          result = await opts.handleBatch(batch, ctx);
        } catch (err) {
          metrics.errors.inc({ kind: 'handler' });
          logger.error(
            { err, topic: batch.topic, partition: batch.partition, firstOffset: batch.firstOffset() },
            'batch failed; replaying from the last commit',
          );
          restart('a batch failed', err);
          return;
        } finally {
          endTimer();
        }
        // A rebalance during the batch reset kafkajs' positions; our commit would be rejected.
        if (generation !== startedIn) return;

        payload.resolveOffset(batch.lastOffset());
        tracker.handled(startedIn, batch.topic, batch.partition, batch.lastOffset());
        const safe = toSafe(result);
        if (safe) tracker.mark(startedIn, { topic: batch.topic, partition: batch.partition, ...safe });
        // Through the payload, not consumer.commitOffsets: it still works while stopping,
        // so a batch that finished during shutdown keeps its commit.
        await commitOffsets(tracker.pending(batch), payload.commitOffsetsIfNecessary);
        const lag = Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n);
        metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, lag));
      },
    });
    // stop() ran while this member was starting: it only stopped the previous one.
    if (stopping) {
      await member.stop();
      await member.disconnect();
    }
  };

  let idleRun: Promise<void> | undefined;
  const tick = () => {
    if (outSince !== undefined && !gaveUp && !stopping && Date.now() - outSince > maxRecoveryMs) {
      gaveUp = true;
      logger.fatal({ err: lastFailure, maxRecoveryMs }, 'the consumer did not rejoin its group in time');
      opts.onGiveUp?.(lastFailure);
      return;
    }
    if (!opts.onIdle || idleRun || stopping || restarting) return;
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
      restart: (why, err) => {
        if (tickGeneration === generation) restart(why, err);
      },
      fetchedWithin: (ms) => lastFetchAt !== undefined && Date.now() - lastFetchAt <= ms,
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
  };
  const timer = setInterval(tick, opts.idleIntervalMs ?? 1000);
  timer.unref();

  await admin?.connect();
  await startMember();

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      stopping = true;
      clearInterval(timer);
      wake();
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
    isRunning: () => !stopping && !gaveUp && outSince === undefined,
    isHealthy: () => !gaveUp,
    stop,
  };
}
