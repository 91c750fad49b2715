/**
 * Processor: telemetry.raw.v1 -> clean readings, 1-minute aggregates and dead letters.
 * Run locally: `node -r ts-node/register/transpile-only apps/processor/main.ts`.
 */
import { consumerGroups, topics } from '../contracts/topics';
import { loadConfig } from '../lib/config';
import { runConsumer } from '../lib/consumer';
import { startHttpServer } from '../lib/http';
import { compressionOf, createKafka, createProducer, createSender } from '../lib/kafka';
import { createLogger } from '../lib/logger';
import { createMetrics } from '../lib/metrics';
import { configureShutdown, isShuttingDown, onShutdown, shutdown } from '../lib/shutdown';
import { processorEnv } from './config';
import { CommitMetadata, decodeCommitMetadata } from './offsets';
import { Processor } from './processor';

async function main(): Promise<void> {
  const cfg = loadConfig(processorEnv);
  const app = cfg.APP_NAME ?? 'processor';
  const logger = createLogger(app, cfg.LOG_LEVEL);
  configureShutdown({ logger });
  const metrics = createMetrics(app);

  let consuming: { isRunning(): boolean; isHealthy(): boolean } | undefined;
  const http = await startHttpServer({
    port: cfg.HTTP_PORT,
    registry: metrics.registry,
    isReady: () => !isShuttingDown() && (consuming?.isRunning() ?? false),
    isHealthy: () => consuming?.isHealthy() ?? true,
  });
  onShutdown(() => http.close(), 'http server');

  const kafka = createKafka({ ...cfg, APP_NAME: app }, logger);
  const producers = Array.from({ length: cfg.PROCESSOR_PRODUCERS }, () => createProducer(kafka));
  await Promise.all(producers.map((p) => p.connect()));
  onShutdown(() => Promise.all(producers.map((p) => p.disconnect())).then(() => undefined), 'producers');
  const senders = producers.map((p) => createSender(p, { compression: compressionOf(cfg), maxMessagesPerRequest: cfg.PROCESSOR_MESSAGES_PER_REQUEST }));
  const admin = kafka.admin();
  await admin.connect();
  onShutdown(() => admin.disconnect(), 'admin');

  const processor = new Processor({
    send: (topicMessages, sourcePartition) => senders[sourcePartition % senders.length](topicMessages),
    logger,
    metrics,
    allowedLatenessMs: cfg.PROCESSOR_ALLOWED_LATENESS_MS,
    idleFlushMs: cfg.PROCESSOR_WINDOW_IDLE_FLUSH_MS,
    maxInFlightMessages: cfg.PROCESSOR_MAX_IN_FLIGHT_MESSAGES,
  });

  consuming = await runConsumer({
    kafka,
    groupId: consumerGroups.processor,
    topics: [topics.raw.name],
    logger,
    metrics,
    partitionsConsumedConcurrently: cfg.PROCESSOR_PARTITIONS_CONCURRENTLY,
    handleBatch: (batch, ctx) => processor.handleBatch(batch, ctx),
    // Windows are rebuilt by replay; the commit metadata says where event time stood.
    onPartitionsAssigned: async (assignments) => {
      const mine = new Set(assignments.find((a) => a.topic === topics.raw.name)?.partitions ?? []);
      const committed = await admin.fetchOffsets({ groupId: consumerGroups.processor, topics: [topics.raw.name] });
      const restored = new Map<number, CommitMetadata | undefined>();
      for (const p of committed[0]?.partitions ?? []) {
        if (mine.has(p.partition)) restored.set(p.partition, decodeCommitMetadata(p.metadata));
      }
      for (const p of mine) if (!restored.has(p)) restored.set(p, undefined);
      processor.assign(restored);
      logger.info({ partitions: [...mine].sort((a, b) => a - b), restored: [...restored.values()].filter(Boolean).length }, 'window state reset for assignment');
    },
    onIdle: (ctx) => processor.flushIdle(Date.now(), ctx),
  });
  logger.info({ allowedLatenessMs: cfg.PROCESSOR_ALLOWED_LATENESS_MS }, 'processor running');
}

main().catch((err: unknown) => {
  createLogger('processor').fatal({ err }, 'processor failed to start');
  void shutdown('startup failure', 1);
});
