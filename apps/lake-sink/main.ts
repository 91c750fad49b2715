/**
 * lake-sink: `telemetry.clean.v1` -> Parquet files on S3 under `raw/telemetry/dt=/hour=/`, with
 * deterministic keys (`<topic>+<partition>+<startOffset>.parquet`) and offsets committed only
 * after the files that hold them are uploaded.
 *
 * Run locally: `node -r ts-node/register/transpile-only apps/lake-sink/main.ts` with
 * KAFKA_BROKERS, KAFKA_CLIENT_ID, S3_BUCKET, S3_ENDPOINT, S3_FORCE_PATH_STYLE=true and AWS
 * credentials for the endpoint (see ./config.ts).
 */
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Counter, Gauge } from 'prom-client';
import { consumerGroups, topics } from '../contracts';
import {
  AppConfigError,
  compressionOf,
  configureShutdown,
  createKafka,
  createLogger,
  createMetrics,
  createWriteRetries,
  createProducer,
  createS3Client,
  loadConfig,
  Logger,
  onShutdown,
  runConsumer,
  RunningConsumer,
  shutdown,
  startHttpServer,
} from '../lib';
import { DeadLetterQueue } from '../cassandra-sink/dead-letter';
import { lakeSinkEnv, lakeSinkOptionsOf } from './config';
import { S3ObjectStore } from './object-store';
import { LakeSink } from './sink';

const APP = 'lake-sink';

/**
 * Fails fast on a wrong bucket name or endpoint. A 403 still proves the endpoint and
 * credentials work: the role may be granted PutObject on the prefix without s3:ListBucket.
 */
async function checkBucket(s3: S3Client, bucket: string, logger: Logger): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 403) {
      logger.warn({ bucket }, 'HeadBucket denied (no s3:ListBucket); continuing, uploads will tell');
      return;
    }
    if (status === 404) throw new Error(`S3 bucket "${bucket}" does not exist (S3_BUCKET)`);
    throw err;
  }
}

async function main(): Promise<void> {
  const cfg = loadConfig(lakeSinkEnv);
  const app = cfg.APP_NAME ?? APP;
  const logger = createLogger(app, cfg.LOG_LEVEL);
  configureShutdown({ logger });
  const base = createMetrics(app);
  const registers = [base.registry];
  const metrics = {
    ...base,
    writeRetries: createWriteRetries(base.registry),
    filesUploaded: new Counter({
      name: 'sdp_lake_files_uploaded_total',
      help: 'Lake files uploaded (final, or partial by an idle flush)',
      labelNames: ['kind'],
      registers,
    }),
    bytesUploaded: new Counter({ name: 'sdp_lake_bytes_uploaded_total', help: 'Parquet bytes uploaded to the lake', registers }),
    bufferedRows: new Gauge({ name: 'sdp_lake_buffered_records', help: 'Readings held in memory until their files are final', registers }),
  };

  let consumer: RunningConsumer | undefined;
  const http = await startHttpServer({
    port: cfg.HTTP_PORT,
    registry: base.registry,
    isReady: () => consumer?.isRunning() ?? false,
    isHealthy: () => consumer?.isHealthy() ?? true,
  });
  onShutdown(() => http.close(), 'http server');
  logger.info({ port: http.port }, 'serving /metrics, /healthz, /readyz');

  const s3 = createS3Client(cfg);
  onShutdown(() => s3.destroy(), 's3 client');
  await checkBucket(s3, cfg.S3_BUCKET, logger);

  const kafka = createKafka({ ...cfg, APP_NAME: app }, logger);
  const producer = createProducer(kafka);
  await producer.connect();
  onShutdown(() => producer.disconnect(), 'dead-letter producer');

  const admin = kafka.admin();
  await admin.connect();
  onShutdown(() => admin.disconnect(), 'kafka admin');

  const options = lakeSinkOptionsOf(cfg);
  const sink = new LakeSink(options, {
    store: new S3ObjectStore(s3, cfg.S3_BUCKET),
    deadLetters: new DeadLetterQueue(producer, metrics, compressionOf(cfg)),
    metrics,
    logger,
    committedOffsets: async (topic, partitions) => {
      const [offsets] = await admin.fetchOffsets({ groupId: consumerGroups.lakeSink, topics: [topic] });
      return new Map((offsets?.partitions ?? []).filter((p) => partitions.includes(p.partition)).map((p) => [p.partition, p.offset]));
    },
    onFatal: (err) => {
      logger.fatal({ err }, 'giving up on lake uploads; exiting so the pod restarts (offsets not committed)');
      void shutdown('lake uploads failing', 1);
    },
  });

  consumer = await runConsumer({
    kafka,
    groupId: consumerGroups.lakeSink,
    topics: [topics.clean.name],
    logger,
    metrics,
    handleBatch: (batch, ctx) => sink.handleBatch(batch, ctx),
    onPartitionsAssigned: (assignments, consumer) => sink.onPartitionsAssigned(assignments, consumer),
    onIdle: (ctx) => sink.onIdle(ctx),
    idleIntervalMs: Math.min(1_000, Math.ceil(options.idleFlushMs / 2)),
    partitionsConsumedConcurrently: cfg.LAKE_SINK_PARTITIONS_CONCURRENTLY,
  });
  logger.info(
    { groupId: consumerGroups.lakeSink, bucket: cfg.S3_BUCKET, maxRecords: options.blockSize, idleFlushMs: options.idleFlushMs },
    'lake sink running',
  );
}

main().catch((err: unknown) => {
  if (err instanceof AppConfigError) {
    process.stderr.write(`${APP}: ${err.message}\n`);
    process.exit(1);
  }
  createLogger(APP).fatal({ err }, 'startup failed');
  void shutdown('startup failed', 1);
});
