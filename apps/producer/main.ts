/**
 * Producer: synthetic device telemetry into telemetry.raw.v1.
 * Run locally: `node -r ts-node/register/transpile-only apps/producer/main.ts`.
 * Exits 0 after PRODUCER_EVENTS / PRODUCER_DURATION_SECONDS, or on SIGTERM/SIGINT.
 */
import { topics } from '../contracts/topics';
import { loadConfig } from '../lib/config';
import { startHttpServer } from '../lib/http';
import { compressionOf, createKafka, createProducer, createSender } from '../lib/kafka';
import { createLogger } from '../lib/logger';
import { createMetrics } from '../lib/metrics';
import { configureShutdown, isShuttingDown, onShutdown, shutdown } from '../lib/shutdown';
import { producerEnv } from './config';
import { runProducer } from './run';

async function main(): Promise<void> {
  const cfg = loadConfig(producerEnv);
  const app = cfg.APP_NAME ?? 'producer';
  const logger = createLogger(app, cfg.LOG_LEVEL);
  configureShutdown({ logger });
  const metrics = createMetrics(app);

  let connected = false;
  const http = await startHttpServer({ port: cfg.HTTP_PORT, registry: metrics.registry, isReady: () => connected && !isShuttingDown() });
  onShutdown(() => http.close(), 'http server');

  const kafka = createKafka({ ...cfg, APP_NAME: app }, logger);
  const producer = createProducer(kafka);
  await producer.connect();
  connected = true;
  onShutdown(() => producer.disconnect(), 'producer');

  // Registered last, so it runs first: stop generating, let in-flight sends finish.
  const stop = new AbortController();
  let run: Promise<unknown> = Promise.resolve();
  onShutdown(async () => {
    stop.abort();
    await run.catch(() => undefined);
  }, 'generator');

  logger.info({ rate: cfg.PRODUCER_RATE, devices: cfg.PRODUCER_DEVICES, events: cfg.PRODUCER_EVENTS, durationSeconds: cfg.PRODUCER_DURATION_SECONDS, malformedRatio: cfg.PRODUCER_MALFORMED_RATIO }, 'producing');
  run = runProducer({
    send: createSender(producer, { compression: compressionOf(cfg), maxMessagesPerRequest: cfg.PRODUCER_BATCH_SIZE }),
    topic: topics.raw.name,
    devices: cfg.PRODUCER_DEVICES,
    rate: cfg.PRODUCER_RATE,
    events: cfg.PRODUCER_EVENTS,
    durationSeconds: cfg.PRODUCER_DURATION_SECONDS,
    malformedRatio: cfg.PRODUCER_MALFORMED_RATIO,
    seed: cfg.PRODUCER_SEED,
    batchSize: cfg.PRODUCER_BATCH_SIZE,
    maxInFlight: cfg.PRODUCER_MAX_IN_FLIGHT,
    manifestPath: cfg.PRODUCER_MANIFEST,
    signal: stop.signal,
    metrics,
    logger,
  });
  const report = await run;
  logger.info({ report }, 'done');
  await shutdown('finished', 0);
}

main().catch((err: unknown) => {
  createLogger('producer').fatal({ err }, 'producer failed');
  void shutdown('failure', 1);
});
