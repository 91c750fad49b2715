/**
 * The one bootstrap of every stream app: `runApp({ app, env, start })` loads and validates the
 * environment, reports a bad one in one format and exits 1, creates the logger and metrics,
 * serves /metrics, /healthz and /readyz on the catalog's port, wires graceful shutdown, and
 * hands `start` a runtime whose Kafka subscriptions, consumer group and output topics come from
 * the app's catalog entry (apps/contracts/apps.ts), and a tracer (./tracing.ts) flushed last on
 * shutdown. An app's main.ts says only what it does.
 */
import type { Kafka, Producer, ProducerConfig } from 'kafkajs';
import type { z } from 'zod';
import type { AppDeclaration } from '../contracts/apps';
import { TopicKey, topics } from '../contracts/topics';
import { AppConfigError, CommonEnv, KafkaEnv, loadConfig, reportConfigError } from './config';
import { runConsumer, RunConsumerOptions, RunningConsumer } from './consumer';
import { startHttpServer } from './http';
import { createKafka, createProducer } from './kafka';
import { createLogger, Logger } from './logger';
import { AppMetrics, createMetrics } from './metrics';
import { configureShutdown, isShuttingDown, onShutdown, shutdown } from './shutdown';
import { startTracing, Tracing, TracingEnv, tracingEnv } from './tracing';

export interface AppRuntime<C> {
  readonly app: AppDeclaration;
  /** APP_NAME, else the catalog name: the `app` field of every log line and metric. */
  readonly name: string;
  readonly cfg: C;
  readonly logger: Logger;
  readonly metrics: AppMetrics;
  /** Batch spans and `traceparent` headers; `enabled` is false when no exporter is configured. */
  readonly tracing: Tracing;
  /** Created from the environment; connects nothing until used. */
  readonly kafka: Kafka;
  /** Name of a topic the catalog says this app consumes; throws if it does not. */
  input(key: TopicKey): string;
  /** Name of a topic the catalog says this app produces to; throws if it does not. */
  output(key: TopicKey): string;
  /** A connected idempotent producer, disconnected on shutdown. */
  producer(name: string, overrides?: Partial<ProducerConfig>): Promise<Producer>;
  /**
   * Joins the catalog's consumer group on the catalog's topics; /readyz (a member of its group)
   * and /healthz (not given up) follow the consumer from then on, and the app exits non-zero if
   * the consumer cannot rejoin its group (see apps/lib/consumer.ts).
   */
  consume(opts: Omit<RunConsumerOptions, 'kafka' | 'groupId' | 'topics' | 'logger' | 'metrics'>): Promise<RunningConsumer>;
  /** Adds a readiness condition (e.g. "producer connected"); /readyz is 200 once all hold. */
  readyWhen(check: () => boolean): void;
  /** Registers a cleanup, run in reverse registration order on SIGTERM/SIGINT. */
  onShutdown(fn: () => void | Promise<void>, name: string): void;
  /** Gives up for good: logs why and exits non-zero so the pod restarts (nothing uncommitted is lost). */
  fail(err: unknown, why: string): void;
}

export interface AppSpec<S extends z.ZodType<KafkaEnv & CommonEnv>> {
  readonly app: AppDeclaration;
  readonly env: S;
  /** Starts the app's work; may resolve at once (consumers) or when the work is done (the producer). */
  start(runtime: AppRuntime<z.output<S>>): Promise<void>;
}

export function runApp<S extends z.ZodType<KafkaEnv & CommonEnv>>(spec: AppSpec<S>): void {
  const { app } = spec;
  let cfg: z.output<S>;
  let tracingCfg: TracingEnv;
  try {
    cfg = loadConfig(spec.env);
    tracingCfg = loadConfig(tracingEnv);
  } catch (err) {
    if (!(err instanceof AppConfigError)) throw err;
    process.stderr.write(reportConfigError(app.name, err));
    process.exit(1);
  }
  const name = cfg.APP_NAME ?? app.name;
  const logger = createLogger(name, cfg.LOG_LEVEL);
  bootstrap(spec, cfg, tracingCfg, name, logger).catch((err: unknown) => {
    logger.fatal({ err }, 'startup failed');
    void shutdown('startup failed', 1);
  });
}

async function bootstrap<S extends z.ZodType<KafkaEnv & CommonEnv>>(
  spec: AppSpec<S>,
  cfg: z.output<S>,
  tracingCfg: TracingEnv,
  name: string,
  logger: Logger,
): Promise<void> {
  const { app } = spec;
  configureShutdown({ logger });
  const { tracing, exportsTo } = startTracing({
    env: tracingCfg,
    serviceName: name,
    onExportError: (err) => logger.warn({ err }, 'span export failed; those spans are dropped'),
  });
  // Registered first, so it runs last: the spans of the final batches are flushed too.
  onShutdown(() => tracing.shutdown(), 'tracing');
  logger.info({ sampler: tracingCfg.OTEL_TRACES_SAMPLER, exportsTo: exportsTo ?? 'nowhere (tracing off)' }, 'tracing');
  const metrics = createMetrics(name);
  const readiness: (() => boolean)[] = [];
  const health: (() => boolean)[] = [];
  const http = await startHttpServer({
    port: cfg.HTTP_PORT ?? app.httpPort,
    registry: metrics.registry,
    isReady: () => !isShuttingDown() && readiness.length > 0 && readiness.every((ok) => ok()),
    isHealthy: () => health.every((ok) => ok()),
  });
  onShutdown(() => http.close(), 'http server');
  logger.info({ port: http.port }, 'serving /metrics, /healthz, /readyz');

  const topicIn = (declared: readonly TopicKey[], direction: string) => (key: TopicKey) => {
    if (!declared.includes(key)) {
      throw new Error(`${app.name} uses topic '${key}' but its catalog entry (apps/contracts/apps.ts) does not list it under ${direction}`);
    }
    return topics[key].name;
  };
  const kafka = createKafka({ ...cfg, APP_NAME: name }, logger);
  const runtime: AppRuntime<z.output<S>> = {
    app,
    name,
    cfg,
    logger,
    metrics,
    tracing,
    kafka,
    input: topicIn(app.consumes, 'consumes'),
    output: topicIn(app.produces, 'produces'),
    producer: async (what, overrides) => {
      const producer = createProducer(kafka, overrides);
      await producer.connect();
      onShutdown(() => producer.disconnect(), what);
      return producer;
    },
    consume: async (opts) => {
      if (app.consumerGroup === undefined) throw new Error(`${app.name} has no consumerGroup in its catalog entry (apps/contracts/apps.ts)`);
      const consumer = await runConsumer({
        onGiveUp: (err) => runtime.fail(err, 'the consumer could not rejoin its group'),
        ...opts,
        kafka,
        groupId: app.consumerGroup,
        topics: app.consumes.map((k) => topics[k].name),
        logger,
        metrics,
      });
      readiness.push(() => consumer.isRunning());
      health.push(() => consumer.isHealthy());
      logger.info({ groupId: app.consumerGroup, topics: app.consumes.map((k) => topics[k].name) }, `${app.name} consuming`);
      return consumer;
    },
    readyWhen: (check) => readiness.push(check),
    onShutdown,
    fail: (err, why) => {
      logger.fatal({ err }, `${why}; exiting so the pod restarts (nothing uncommitted is lost)`);
      void shutdown(why, 1);
    },
  };
  await spec.start(runtime);
}
