/**
 * cassandra-sink: `telemetry.clean.v1` -> `readings_by_device_day` and
 * `telemetry.aggregates.v1` -> `aggregates_by_device_minute`, at least once with idempotent
 * upserts, offsets committed only after every write of the batch succeeded.
 *
 * Run locally: `node -r ts-node/register/transpile-only apps/cassandra-sink/main.ts` with
 * KAFKA_BROKERS, KAFKA_CLIENT_ID, CASSANDRA_CONTACT_POINTS, CASSANDRA_KEYSPACE (see ./config.ts).
 */
import { auth, Client, types } from 'cassandra-driver';
import { aggregatesTable, consumerGroups, readingsTable, topics } from '../contracts';
import {
  AppConfigError,
  cassandraClientOptions,
  compressionOf,
  configureShutdown,
  createKafka,
  createLogger,
  createMetrics,
  createWriteRetries,
  createProducer,
  loadConfig,
  onShutdown,
  runConsumer,
  RunningConsumer,
  shutdown,
  startHttpServer,
} from '../lib';
import { CassandraSinkConfig, cassandraSinkEnv, retryPolicyOf } from './config';
import { DeadLetterQueue } from './dead-letter';
import { PauseGate } from './flow-control';
import { verifyTables } from './schema-check';
import { cassandraSinkHandler, contractRoutes } from './sink';
import { aggregatesWriter, readingsWriter } from './statements';
import { CassandraWriter } from './writer';

const APP = 'cassandra-sink';

/**
 * `createCassandraClient` from apps/lib plus a connection pool size: Keyspaces throughput
 * scales with connections, not only with in-flight requests.
 */
function createSinkCassandraClient(cfg: CassandraSinkConfig): Client {
  let authProvider: auth.AuthProvider | undefined;
  if (cfg.CASSANDRA_AUTH === 'sigv4') {
    // Required lazily, as in apps/lib: the plugin pulls in the AWS SDK v2.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SigV4AuthProvider } = require('aws-sigv4-auth-cassandra-plugin') as {
      SigV4AuthProvider: new (opts: { region: string }) => auth.AuthProvider;
    };
    authProvider = new SigV4AuthProvider({ region: cfg.AWS_REGION as string });
  }
  const perHost = cfg.CASSANDRA_SINK_CONNECTIONS_PER_HOST;
  return new Client({
    ...cassandraClientOptions(cfg, authProvider),
    pooling: { coreConnectionsPerHost: { [types.distance.local]: perHost, [types.distance.remote]: 1 } },
  });
}

async function main(): Promise<void> {
  const cfg = loadConfig(cassandraSinkEnv);
  const app = cfg.APP_NAME ?? APP;
  const logger = createLogger(app, cfg.LOG_LEVEL);
  configureShutdown({ logger });
  const metrics = createMetrics(app);
  const writeRetries = createWriteRetries(metrics.registry);

  let consumer: RunningConsumer | undefined;
  const http = await startHttpServer({
    port: cfg.HTTP_PORT,
    registry: metrics.registry,
    isReady: () => consumer?.isRunning() ?? false,
    isHealthy: () => consumer?.isHealthy() ?? true,
  });
  onShutdown(() => http.close(), 'http server');
  logger.info({ port: http.port }, 'serving /metrics, /healthz, /readyz');

  const client = createSinkCassandraClient(cfg);
  await client.connect();
  onShutdown(() => client.shutdown(), 'cassandra client');
  await verifyTables(client.metadata, cfg.CASSANDRA_KEYSPACE, [readingsTable, aggregatesTable]);

  const kafka = createKafka({ ...cfg, APP_NAME: app }, logger);
  const producer = createProducer(kafka);
  await producer.connect();
  onShutdown(() => producer.disconnect(), 'dead-letter producer');

  const gate = new PauseGate();
  const writer = new CassandraWriter(client, {
    concurrency: cfg.CASSANDRA_SINK_CONCURRENCY,
    retry: retryPolicyOf(cfg),
    onPressure: (underPressure) => (underPressure ? gate.hold('writes_queued') : gate.release('writes_queued')),
  });
  const handleBatch = cassandraSinkHandler({
    routes: contractRoutes({ readings: readingsWriter(cfg.CASSANDRA_KEYSPACE), aggregates: aggregatesWriter(cfg.CASSANDRA_KEYSPACE) }),
    writer,
    deadLetters: new DeadLetterQueue(producer, metrics, compressionOf(cfg)),
    gate,
    metrics: { ...metrics, writeRetries },
    logger,
    onFatal: (err) => {
      logger.fatal({ err }, 'giving up on cassandra writes; exiting so the pod restarts (batch not committed)');
      void shutdown('cassandra writes failing', 1);
    },
  });

  consumer = await runConsumer({
    kafka,
    groupId: consumerGroups.cassandraSink,
    topics: [topics.clean.name, topics.aggregates.name],
    logger,
    metrics,
    handleBatch,
    partitionsConsumedConcurrently: cfg.CASSANDRA_SINK_PARTITIONS_CONCURRENTLY,
  });
  logger.info(
    { groupId: consumerGroups.cassandraSink, keyspace: cfg.CASSANDRA_KEYSPACE, concurrency: cfg.CASSANDRA_SINK_CONCURRENCY },
    'cassandra sink running',
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
