/**
 * Processor: the raw topic -> clean readings, 1-minute aggregates and dead letters, exactly once
 * (see ./processor.ts), topics and group from its catalog entry (apps/contracts/apps.ts).
 * Run locally: `node --import tsx apps/processor/main.ts` (variables in ./config.ts).
 */
import { apps } from '../contracts/apps';
import { runApp } from '../lib/app';
import { compressionOf } from '../lib/kafka';
import { PartitionTransactions } from '../lib/transactions';
import { processorEnv } from './config';
import { CommitMetadata, decodeCommitMetadata } from './offsets';
import { Processor } from './processor';

runApp({
  app: apps.processor,
  env: processorEnv,
  start: async ({ app, cfg, kafka, logger, metrics, tracing, input, output, consume, onShutdown }) => {
    const raw = input('raw');
    const transactions = new PartitionTransactions({
      kafka,
      groupId: app.consumerGroup!,
      inputTopic: raw,
      logger,
      compression: compressionOf(cfg),
      maxMessagesPerRequest: cfg.PROCESSOR_MESSAGES_PER_REQUEST,
      transactionTimeoutMs: cfg.PROCESSOR_TRANSACTION_TIMEOUT_MS,
    });
    onShutdown(() => transactions.close(), 'transactional producers');
    const processor = new Processor({
      begin: transactions.begin,
      topics: { raw, clean: output('clean'), aggregates: output('aggregates'), deadLetter: output('deadLetter') },
      logger,
      metrics,
      tracing,
      allowedLatenessMs: cfg.PROCESSOR_ALLOWED_LATENESS_MS,
      maxClockSkewMs: cfg.PROCESSOR_MAX_CLOCK_SKEW_MS,
      idleFlushMs: cfg.PROCESSOR_WINDOW_IDLE_FLUSH_MS,
      maxInFlightMessages: cfg.PROCESSOR_MAX_IN_FLIGHT_MESSAGES,
      commitIntervalMs: cfg.PROCESSOR_COMMIT_INTERVAL_MS,
    });
    const mine = (assignments: readonly { topic: string; partitions: readonly number[] }[]) => assignments.find((a) => a.topic === raw)?.partitions ?? [];

    await consume({
      partitionsConsumedConcurrently: cfg.PROCESSOR_PARTITIONS_CONCURRENTLY,
      handleBatch: (batch, ctx) => processor.handleBatch(batch, ctx),
      // Fence first: once every earlier writer of these partitions is fenced, the commits read next are final.
      onAssignmentStart: async ({ assignments }) => {
        processor.revokeAll();
        await transactions.fence(mine(assignments));
      },
      // Windows are rebuilt by replay; the commit metadata says where event time stood.
      onPartitionsAssigned: ({ assignments, committed }) => {
        const partitions = mine(assignments);
        const restored = new Map<number, CommitMetadata | undefined>(partitions.map((p) => [p, decodeCommitMetadata(committed(raw, p)?.metadata)]));
        processor.assign(restored);
        logger.info(
          { partitions: [...partitions].sort((a, b) => a - b), restored: [...restored.values()].filter(Boolean).length },
          'window state reset for assignment',
        );
      },
      onIdle: (ctx) => processor.flushIdle(Date.now(), ctx),
    });
    logger.info({ allowedLatenessMs: cfg.PROCESSOR_ALLOWED_LATENESS_MS, commitIntervalMs: cfg.PROCESSOR_COMMIT_INTERVAL_MS }, 'processor running');
  },
});
