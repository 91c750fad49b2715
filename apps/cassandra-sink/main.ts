/**
 * cassandra-sink: the clean topic -> `readings_by_device_day` and the aggregates topic ->
 * `aggregates_by_device_minute` (topics and group from its catalog entry,
 * apps/contracts/apps.ts), at least once with idempotent upserts, offsets committed only after
 * every write of the batch succeeded.
 *
 * Run locally: `node --import tsx apps/cassandra-sink/main.ts` with KAFKA_BROKERS,
 * CASSANDRA_CONTACT_POINTS and CASSANDRA_KEYSPACE (see ./config.ts).
 */
import { auth, Client, types } from 'cassandra-driver';
import { apps } from '../contracts/apps';
import { aggregatesTable, readingsTable } from '../contracts/tables';
import { runApp } from '../lib/app';
import { cassandraClientOptions } from '../lib/cassandra';
import { DeadLetterQueue } from '../lib/dead-letter';
import { PauseGate } from '../lib/flow-control';
import { compressionOf } from '../lib/kafka';
import { createWriteRetries } from '../lib/metrics';
import { CassandraSinkConfig, cassandraSinkEnv, retryPolicyOf } from './config';
import { verifyTables } from './schema-check';
import { cassandraSinkHandler, contractRoutes } from './sink';
import { aggregatesWriter, readingsWriter } from './statements';
import { CassandraWriter } from './writer';

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

runApp({
  app: apps.cassandraSink,
  env: cassandraSinkEnv,
  start: async ({ cfg, logger, metrics, tracing, input, output, producer, consume, onShutdown, fail }) => {
    const client = createSinkCassandraClient(cfg);
    await client.connect();
    onShutdown(() => client.shutdown(), 'cassandra client');
    await verifyTables(client.metadata, cfg.CASSANDRA_KEYSPACE, [readingsTable, aggregatesTable]);

    const dlqProducer = await producer('dead-letter producer');
    const gate = new PauseGate();
    const writer = new CassandraWriter(client, {
      concurrency: cfg.CASSANDRA_SINK_CONCURRENCY,
      retry: retryPolicyOf(cfg),
      onPressure: (underPressure) => (underPressure ? gate.hold('writes_queued') : gate.release('writes_queued')),
    });
    const handleBatch = cassandraSinkHandler({
      routes: contractRoutes(
        { clean: input('clean'), aggregates: input('aggregates') },
        { readings: readingsWriter(cfg.CASSANDRA_KEYSPACE), aggregates: aggregatesWriter(cfg.CASSANDRA_KEYSPACE) },
      ),
      writer,
      deadLetters: new DeadLetterQueue(dlqProducer, output('deadLetter'), metrics, compressionOf(cfg)),
      gate,
      metrics: { ...metrics, writeRetries: createWriteRetries(metrics.registry) },
      logger,
      onFatal: (err) => fail(err, 'cassandra writes failing'),
      tracing,
    });

    await consume({ handleBatch, partitionsConsumedConcurrently: cfg.CASSANDRA_SINK_PARTITIONS_CONCURRENTLY });
    logger.info({ keyspace: cfg.CASSANDRA_KEYSPACE, concurrency: cfg.CASSANDRA_SINK_CONCURRENCY }, 'cassandra sink running');
  },
});
