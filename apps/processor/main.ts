/**
 * Processor: the raw topic -> clean readings, 1-minute aggregates and dead letters, topics and
 * group from its catalog entry (apps/contracts/apps.ts).
 * Run locally: `node --import tsx apps/processor/main.ts` (variables in ./config.ts).
 */
import { apps } from '../contracts/apps';
import { runApp } from '../lib/app';
import { compressionOf, createSender } from '../lib/kafka';
import { processorEnv } from './config';
import { CommitMetadata, decodeCommitMetadata } from './offsets';
import { Processor } from './processor';

runApp({
  app: apps.processor,
  env: processorEnv,
  start: async ({ cfg, logger, metrics, input, output, producer, consume }) => {
    const producers = await Promise.all(Array.from({ length: cfg.PROCESSOR_PRODUCERS }, (_, i) => producer(`producer ${i + 1}`)));
    const senders = producers.map((p) => createSender(p, { compression: compressionOf(cfg), maxMessagesPerRequest: cfg.PROCESSOR_MESSAGES_PER_REQUEST }));
    const raw = input('raw');
    const processor = new Processor({
      send: (topicMessages, sourcePartition) => senders[sourcePartition % senders.length](topicMessages),
      topics: { raw, clean: output('clean'), aggregates: output('aggregates'), deadLetter: output('deadLetter') },
      logger,
      metrics,
      allowedLatenessMs: cfg.PROCESSOR_ALLOWED_LATENESS_MS,
      idleFlushMs: cfg.PROCESSOR_WINDOW_IDLE_FLUSH_MS,
      maxInFlightMessages: cfg.PROCESSOR_MAX_IN_FLIGHT_MESSAGES,
    });

    await consume({
      partitionsConsumedConcurrently: cfg.PROCESSOR_PARTITIONS_CONCURRENTLY,
      handleBatch: (batch, ctx) => processor.handleBatch(batch, ctx),
      // Windows are rebuilt by replay; the commit metadata says where event time stood.
      onPartitionsAssigned: ({ assignments, committed }) => {
        const mine = assignments.find((a) => a.topic === raw)?.partitions ?? [];
        const restored = new Map<number, CommitMetadata | undefined>(mine.map((p) => [p, decodeCommitMetadata(committed(raw, p)?.metadata)]));
        processor.assign(restored);
        logger.info(
          { partitions: [...mine].sort((a, b) => a - b), restored: [...restored.values()].filter(Boolean).length },
          'window state reset for assignment',
        );
      },
      onIdle: (ctx) => processor.flushIdle(Date.now(), ctx),
    });
    logger.info({ allowedLatenessMs: cfg.PROCESSOR_ALLOWED_LATENESS_MS }, 'processor running');
  },
});
