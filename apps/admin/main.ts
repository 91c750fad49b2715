/**
 * The admin step: applies the repository's declarations to a running platform, idempotently.
 *   node dist/apps/admin/main.js topics   # Kafka topics (the Kubernetes topic job runs this)
 *   node dist/apps/admin/main.js schema   # Cassandra keyspace and tables (local Cassandra)
 *   node dist/apps/admin/main.js bucket   # the lake bucket (local S3-compatible server)
 * On AWS the keyspace, tables and bucket belong to Terraform; only topics are applied here,
 * because MSK has no Terraform-managed topics and broker auto-create is off.
 */
import { z } from 'zod';
import { allTopics } from '../contracts/topics';
import { AppConfigError, cassandraEnv, commonEnv, envInt, kafkaEnv, loadConfig, reportConfigError, s3Env } from '../lib/config';
import { createLogger } from '../lib/logger';

const topicsEnv = commonEnv.extend(kafkaEnv.shape).extend({
  /** The environment's durability: replication factor and min.insync.replicas of every topic. */
  KAFKA_REPLICATION_FACTOR: envInt(1, 5),
  KAFKA_MIN_INSYNC_REPLICAS: envInt(1, 5),
});

const schemaEnv = commonEnv.extend(cassandraEnv.shape).extend({
  CASSANDRA_REPLICATION_FACTOR: envInt(1, 5).default(1),
});

const bucketEnv = commonEnv.extend(s3Env.shape).extend({
  S3_ACCESS_KEY_ID: z.string().optional(),
});

async function applyTopics(): Promise<void> {
  const cfg = loadConfig(topicsEnv);
  const logger = createLogger(cfg.APP_NAME ?? 'topic-admin', cfg.LOG_LEVEL);
  const { createKafka } = await import('../lib/kafka');
  const { ensureTopics } = await import('./topics');
  const admin = createKafka({ ...cfg, APP_NAME: cfg.APP_NAME ?? 'topic-admin' }, logger).admin();
  await admin.connect();
  try {
    const summary = await ensureTopics(admin, allTopics, {
      replicationFactor: cfg.KAFKA_REPLICATION_FACTOR,
      minInsyncReplicas: cfg.KAFKA_MIN_INSYNC_REPLICAS,
      logger,
    });
    logger.info(summary, 'topics applied');
  } finally {
    await admin.disconnect();
  }
}

async function applySchema(): Promise<void> {
  const cfg = loadConfig(schemaEnv);
  const logger = createLogger(cfg.APP_NAME ?? 'schema-admin', cfg.LOG_LEVEL);
  const { createCassandraClient } = await import('../lib/cassandra');
  const { ensureCassandraSchema } = await import('./cassandra-schema');
  // Connect without a keyspace: it may not exist yet.
  const client = createCassandraClient({ ...cfg, CASSANDRA_KEYSPACE: undefined as unknown as string });
  await client.connect();
  try {
    const summary = await ensureCassandraSchema(client, { keyspace: cfg.CASSANDRA_KEYSPACE, replicationFactor: cfg.CASSANDRA_REPLICATION_FACTOR });
    logger.info(summary, 'schema applied');
  } finally {
    await client.shutdown();
  }
}

async function applyBucket(): Promise<void> {
  const cfg = loadConfig(bucketEnv);
  const logger = createLogger(cfg.APP_NAME ?? 'bucket-admin', cfg.LOG_LEVEL);
  const { createS3Client } = await import('../lib/s3');
  const { ensureBucket } = await import('./bucket');
  const result = await ensureBucket(createS3Client(cfg), cfg.S3_BUCKET);
  logger.info({ bucket: cfg.S3_BUCKET, result }, 'bucket applied');
}

const commands: Record<string, () => Promise<void>> = { topics: applyTopics, schema: applySchema, bucket: applyBucket };

const command = process.argv[2] ?? '';
const run = commands[command];
if (!run) {
  process.stderr.write(`usage: admin <${Object.keys(commands).join('|')}>\n`);
  process.exit(2);
}
run().catch((err: Error) => {
  process.stderr.write(err instanceof AppConfigError ? reportConfigError('admin', err) : `admin failed: ${err.message}\n`);
  process.exit(1);
});
