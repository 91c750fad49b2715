/**
 * lake-sink: the clean topic -> Parquet files on S3 under `raw/telemetry/dt=/hour=/`, with
 * freshness parts of open files under `raw/telemetry_parts/` (docs/lake.md) (topics and
 * group from its catalog entry, apps/contracts/apps.ts), with deterministic keys
 * (`<topic>+<partition>+<startOffset>.parquet`) and offsets committed once the readings below them
 * are in S3, in a file or a part, with the state a restart restores (./blocks.ts, ./restore.ts).
 *
 * Run locally: `node --import tsx apps/lake-sink/main.ts` with KAFKA_BROKERS, S3_BUCKET,
 * S3_ENDPOINT, S3_FORCE_PATH_STYLE=true and AWS credentials for the endpoint (see ./config.ts).
 */
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Counter, Gauge } from 'prom-client';
import { apps } from '../contracts/apps';
import { runApp } from '../lib/app';
import { DeadLetterQueue } from '../lib/dead-letter';
import { compressionOf } from '../lib/kafka';
import type { Logger } from '../lib/logger';
import { createWriteRetries } from '../lib/metrics';
import { createS3Client } from '../lib/s3';
import { lakeSinkEnv, lakeSinkOptionsOf } from './config';
import { S3ObjectStore } from './object-store';
import { LakeSink } from './sink';

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

runApp({
  app: apps.lakeSink,
  env: lakeSinkEnv,
  start: async ({ cfg, logger, metrics: base, tracing, output, producer, consume, onShutdown, fail }) => {
    const registers = [base.registry];
    const metrics = {
      ...base,
      writeRetries: createWriteRetries(base.registry),
      filesUploaded: new Counter({
        name: 'sdp_lake_files_uploaded_total',
        help: "Lake objects uploaded (final: a complete file; part: an open file's sub-block, by an idle flush)",
        labelNames: ['kind'],
        registers,
      }),
      partsDeleted: new Counter({ name: 'sdp_lake_parts_deleted_total', help: 'Lake parts deleted once their file was uploaded', registers }),
      bytesUploaded: new Counter({ name: 'sdp_lake_bytes_uploaded_total', help: 'Parquet bytes uploaded to the lake', registers }),
      bufferedRows: new Gauge({ name: 'sdp_lake_buffered_records', help: 'Readings held in memory until their files are final', registers }),
    };

    const s3 = createS3Client(cfg);
    onShutdown(() => s3.destroy(), 's3 client');
    await checkBucket(s3, cfg.S3_BUCKET, logger);

    const dlqProducer = await producer('dead-letter producer');
    const options = lakeSinkOptionsOf(cfg);
    const sink = new LakeSink(options, {
      store: new S3ObjectStore(s3, cfg.S3_BUCKET),
      deadLetters: new DeadLetterQueue(dlqProducer, output('deadLetter'), metrics, compressionOf(cfg)),
      metrics,
      logger,
      onFatal: (err) => fail(err, 'lake uploads failing'),
      tracing,
    });

    await consume({
      handleBatch: (batch, ctx) => sink.handleBatch(batch, ctx),
      onPartitionsAssigned: (ctx) => sink.onPartitionsAssigned(ctx),
      onIdle: (ctx) => sink.onIdle(ctx),
      idleIntervalMs: Math.min(1_000, Math.ceil(options.idleFlushMs / 2)),
      partitionsConsumedConcurrently: cfg.LAKE_SINK_PARTITIONS_CONCURRENTLY,
    });
    logger.info({ bucket: cfg.S3_BUCKET, maxRecords: options.blockSize, idleFlushMs: options.idleFlushMs }, 'lake sink running');
  },
});
