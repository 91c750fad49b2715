/**
 * The real thing: Kafka (KRaft), Cassandra 5.0 and MinIO started from the cache, provisioned from
 * apps/contracts, and stopped without leaving a process or a bound port behind.
 *
 * Uses the data dir from LOCAL_SERVICES_DIR (default .local/services). Services that were already
 * running when the file started (e.g. from the global setup) are running again when it ends.
 */
import { GetObjectCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Client as CassandraClient } from 'cassandra-driver';
import { Admin, ConfigResourceTypes, ConfigSource, Kafka, logLevel } from 'kafkajs';
import * as net from 'net';
import { ensureCassandraSchema } from '../../apps/admin/cassandra-schema';
import { ensureTopics } from '../../apps/admin/topics';
import { allTopics, tables, topicConfig, topics } from '../../apps/contracts';
import {
  createLocalS3Client,
  endpoints,
  install,
  isPortFree,
  isReady,
  kill,
  localNames,
  ports,
  provision,
  ServiceName,
  serviceNames,
  start,
  status,
  stop,
  waitReady,
} from '../../scripts/local/local-services';

// The first run downloads ~120 MB of jars and builds MinIO from source (~5 min on 2 cores).
jest.setTimeout(20 * 60_000);

const e = endpoints();
const allPorts = Object.values(ports).flatMap((p) => Object.values(p));
const quiet = { info: () => undefined, warn: () => undefined };
const durability = { replicationFactor: localNames.replicationFactor, minInsyncReplicas: localNames.minInsyncReplicas };

let runningBefore: ServiceName[] = [];

async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Kafka({ clientId: 'local-services-test', brokers: [e.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

async function withCassandra<T>(fn: (client: CassandraClient) => Promise<T>): Promise<T> {
  const client = new CassandraClient({
    contactPoints: [e.cassandraContactPoints],
    protocolOptions: { port: e.cassandraPort },
    localDataCenter: e.cassandraLocalDc,
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.shutdown();
  }
}

async function topicOverrides(admin: Admin, topic: string): Promise<Record<string, string>> {
  const res = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
  return Object.fromEntries(
    res.resources[0].configEntries.filter((c) => c.configSource === ConfigSource.TOPIC_CONFIG).map((c) => [c.configName, c.configValue]),
  );
}

/** Independent of the implementation: signal 0 fails once the process is gone (and reaped). */
async function processGone(pid: number, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  runningBefore = (await status()).filter((s) => s.pid !== undefined).map((s) => s.name);
  await install();
  await start();
});

afterAll(async () => {
  if (runningBefore.length > 0) await start(runningBefore);
  else await stop();
});

describe('local services', () => {
  it('installs from the cache without fetching anything', async () => {
    const started = Date.now();
    const result = await install();
    expect(result.fetched).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('starts all three services to readiness, each tracked by a pid', async () => {
    const s = await status();
    expect(s.map((x) => [x.name, x.ready, typeof x.pid])).toEqual(serviceNames.map((n) => [n, true, 'number']));
    await expect(start()).resolves.toBeUndefined(); // already running: a no-op
  });

  it('provisions the declared topics with their partition counts and configs', async () => {
    await provision(quiet);
    await withAdmin(async (admin) => {
      const metadata = await admin.fetchTopicMetadata({ topics: allTopics.map((t) => t.name) });
      const partitions = Object.fromEntries(metadata.topics.map((t) => [t.name, t.partitions.length]));
      expect(partitions).toEqual(Object.fromEntries(allTopics.map((t) => [t.name, t.partitions])));
      for (const t of allTopics) {
        expect(await topicOverrides(admin, t.name)).toEqual(expect.objectContaining(topicConfig(t, durability.minInsyncReplicas)));
      }
    });
  });

  it('provisions the keyspace and tables with the declared columns', async () => {
    await withCassandra(async (client) => {
      const rs = await client.execute('SELECT table_name, column_name, type, kind FROM system_schema.columns WHERE keyspace_name = ?', [e.cassandraKeyspace], {
        prepare: true,
      });
      for (const table of tables) {
        const columns = rs.rows.filter((r) => r.get('table_name') === table.name);
        const actual = Object.fromEntries(columns.map((r) => [r.get('column_name'), String(r.get('type')).replace(/\s/g, '')]));
        expect(actual).toEqual(Object.fromEntries(table.columns.map((c) => [c.name, c.type.replace(/\s/g, '')])));
        const partitionKey = columns.filter((r) => r.get('kind') === 'partition_key').map((r) => r.get('column_name'));
        expect(partitionKey.sort()).toEqual([...table.partitionKey].sort());
      }
    });
  });

  it('provisions the lake bucket, which round-trips an object', async () => {
    const s3 = createLocalS3Client();
    try {
      await s3.send(new HeadBucketCommand({ Bucket: e.bucket }));
      const key = `raw/telemetry/dt=2024-06-01/hour=12/round-trip-${Date.now()}.txt`;
      await s3.send(new PutObjectCommand({ Bucket: e.bucket, Key: key, Body: 'hello lake' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: e.bucket, Key: key }));
      expect(await got.Body!.transformToString()).toBe('hello lake');
    } finally {
      s3.destroy();
    }
  });

  it('provisions again without changing anything', async () => {
    const again = await provision(quiet);
    expect(again.topics).toEqual({ created: [], updated: [], unchanged: allTopics.map((t) => t.name), warnings: [] });
    expect(again.cassandra).toEqual({
      keyspaceCreated: false,
      created: [],
      updated: [],
      unchanged: tables.map((t) => t.name),
      warnings: [],
    });
    expect(again.bucket).toBe('exists');
  });

  it('repairs drifted topic configs and keeps overrides it does not manage', async () => {
    const topic = topics.aggregates.name;
    await withAdmin(async (admin) => {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: topic,
            configEntries: [
              { name: 'retention.ms', value: '60000' },
              { name: 'max.message.bytes', value: '2097152' },
            ],
          },
        ],
      });
      const repaired = await ensureTopics(admin, allTopics, durability);
      expect(repaired.updated).toEqual([topic]);
      expect(await topicOverrides(admin, topic)).toEqual({
        ...topicConfig(topics.aggregates, durability.minInsyncReplicas),
        'max.message.bytes': '2097152',
      });
      expect((await ensureTopics(admin, allTopics, durability)).updated).toEqual([]);

      // Leave the topic exactly as declared for the other test files.
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: topic,
            configEntries: Object.entries(topicConfig(topics.aggregates, 1)).map(([name, value]) => ({ name, value })),
          },
        ],
      });
    });
  });

  it('repairs a drifted default TTL', async () => {
    const opts = { keyspace: e.cassandraKeyspace, replicationFactor: 1 };
    await withCassandra(async (client) => {
      const withTtl = await ensureCassandraSchema(client, { ...opts, ttlSeconds: { readings_by_device_day: 86_400 } });
      expect(withTtl.updated).toEqual(['readings_by_device_day']);
      const rs = await client.execute(
        'SELECT default_time_to_live FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
        [e.cassandraKeyspace, 'readings_by_device_day'],
        { prepare: true },
      );
      expect(rs.first().get('default_time_to_live')).toBe(86_400);
      expect((await ensureCassandraSchema(client, opts)).updated).toEqual(['readings_by_device_day']);
      expect((await ensureCassandraSchema(client, opts)).updated).toEqual([]);
    });
  });

  it('adds a column a new contract version declares to an existing table, once (ALTER TABLE ADD)', async () => {
    const opts = { keyspace: e.cassandraKeyspace, replicationFactor: 1 };
    const readings = 'readings_by_device_day';
    const columnsOf = async (client: CassandraClient) =>
      (
        await client.execute(
          'SELECT column_name, type FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
          [e.cassandraKeyspace, readings],
          {
            prepare: true,
          },
        )
      ).rows.map((r) => `${r.get('column_name')} ${r.get('type')}`);
    await withCassandra(async (client) => {
      expect(tables.find((t) => t.name === readings)?.columns).toContainEqual({ name: 'unit', type: 'text' });
      // The table as it was before v2: without the column v2 added.
      await client.execute(`ALTER TABLE ${e.cassandraKeyspace}.${readings} DROP unit`, [], { prepare: false });
      expect(await columnsOf(client)).not.toContain('unit text');
      const added = await ensureCassandraSchema(client, opts);
      expect(added.updated).toEqual([readings]);
      expect(added.warnings).toEqual([]);
      expect(await columnsOf(client)).toContain('unit text');
      expect((await ensureCassandraSchema(client, opts)).updated).toEqual([]);
    });
  });

  it('recovers from a killed service with a stale pid file', async () => {
    const pid = kill('s3', 'SIGKILL');
    expect(pid).toEqual(expect.any(Number));
    expect(await processGone(pid!)).toBe(true);
    expect(await isReady('s3')).toBe(false);
    await start(['s3']);
    await waitReady('s3', 30_000);
    expect((await status()).find((s) => s.name === 's3')?.pid).not.toBe(pid);
  });

  it('refuses to start when a foreign process holds a port, naming the port', async () => {
    await stop(['s3']);
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(ports.s3.api, '127.0.0.1', resolve));
    try {
      await expect(start(['s3'])).rejects.toThrow(new RegExp(`port ${ports.s3.api} \\(MinIO S3 API\\)`));
    } finally {
      await new Promise((r) => squatter.close(r));
    }
    await start(['s3']);
  });

  it('stops every service, leaving no process and no bound port; stopping twice is safe', async () => {
    const pids = (await status()).map((s) => s.pid).filter((p): p is number => p !== undefined);
    expect(pids).toHaveLength(serviceNames.length);
    await stop();
    for (const pid of pids) expect(await processGone(pid)).toBe(true);
    for (const port of allPorts) expect(await isPortFree(port)).toBe(true);
    await expect(stop()).resolves.toBeUndefined();
    expect((await status()).every((s) => s.pid === undefined && !s.ready)).toBe(true);
  });
});
