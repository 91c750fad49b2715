/**
 * Producer: synthetic device telemetry into the raw topic (from its catalog entry,
 * apps/contracts/apps.ts). Run locally: `node --import tsx apps/producer/main.ts` (variables in
 * ./config.ts). Exits 0 after PRODUCER_EVENTS / PRODUCER_DURATION_SECONDS, or on SIGTERM/SIGINT.
 */
import { apps } from '../contracts/apps';
import { runApp } from '../lib/app';
import { compressionOf, createSender } from '../lib/kafka';
import { shutdown } from '../lib/shutdown';
import { producerEnv } from './config';
import { runProducer } from './run';

runApp({
  app: apps.producer,
  env: producerEnv,
  start: async ({ cfg, logger, metrics, tracing, output, producer, readyWhen, onShutdown }) => {
    let connected = false;
    readyWhen(() => connected);
    const kafkaProducer = await producer('producer');
    connected = true;

    // Registered last, so it runs first: stop generating, let in-flight sends finish.
    const stop = new AbortController();
    let run: Promise<unknown> = Promise.resolve();
    onShutdown(async () => {
      stop.abort();
      await run.catch(() => undefined);
    }, 'generator');

    logger.info(
      {
        rate: cfg.PRODUCER_RATE,
        devices: cfg.PRODUCER_DEVICES,
        events: cfg.PRODUCER_EVENTS,
        durationSeconds: cfg.PRODUCER_DURATION_SECONDS,
        malformedRatio: cfg.PRODUCER_MALFORMED_RATIO,
        v2Ratio: cfg.PRODUCER_V2_RATIO,
      },
      'producing',
    );
    run = runProducer({
      send: createSender(kafkaProducer, { compression: compressionOf(cfg), maxMessagesPerRequest: cfg.PRODUCER_BATCH_SIZE }),
      topic: output('raw'),
      devices: cfg.PRODUCER_DEVICES,
      rate: cfg.PRODUCER_RATE,
      events: cfg.PRODUCER_EVENTS,
      durationSeconds: cfg.PRODUCER_DURATION_SECONDS,
      malformedRatio: cfg.PRODUCER_MALFORMED_RATIO,
      v2Ratio: cfg.PRODUCER_V2_RATIO,
      seed: cfg.PRODUCER_SEED,
      batchSize: cfg.PRODUCER_BATCH_SIZE,
      maxInFlight: cfg.PRODUCER_MAX_IN_FLIGHT,
      manifestPath: cfg.PRODUCER_MANIFEST,
      signal: stop.signal,
      metrics,
      logger,
      tracing,
    });
    const report = await run;
    logger.info({ report }, 'done');
    await shutdown('finished', 0);
  },
});
