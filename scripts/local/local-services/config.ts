/**
 * Pinned versions, fixed loopback ports, cache and data locations of the local services.
 * Everything a developer may want to look up ("which Kafka?", "where are the logs?") lives here.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export type ServiceName = 'kafka' | 'cassandra' | 's3';
export const serviceNames: readonly ServiceName[] = ['kafka', 'cassandra', 's3'];

/** Bumping a version installs side by side: every cache entry is keyed by its version. */
export const versions = {
  /** Apache Kafka 4.x, KRaft only; the broker needs Java 17. */
  kafka: '4.1.2',
  /** Must match the log4j-core that kafka_2.13 pulls in, so the slf4j binding agrees with it. */
  kafkaLog4j: '2.25.3',
  cassandra: '5.0.9',
  /**
   * MinIO publishes no semver tags, so the Go module proxy only knows pseudo-versions;
   * this one is the last commit of the community repository (built and tested with Go 1.26).
   */
  minio: 'v0.0.0-20260212201848-7aac2a2c5b7c',
} as const;

/** One host port per listener; all bound to 127.0.0.1 only. `kafka` is node 1's (the only node unless in cluster mode). */
export const ports = {
  kafka: { broker: 9092, controller: 9093 },
  cassandra: { native: 9042, storage: 7000, jmx: 7199 },
  s3: { api: 9000, console: 9001 },
} as const satisfies Record<ServiceName, Record<string, number>>;

export const LOOPBACK = '127.0.0.1';

/** Downloads and builds, shared by every checkout: `${XDG_CACHE_HOME:-~/.cache}/streaming-data-platform`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'streaming-data-platform');
}

/** Runtime state (data, logs, pid files): `$LOCAL_SERVICES_DIR`, else `<repo>/.local/services` (git-ignored). */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.LOCAL_SERVICES_DIR || path.join(__dirname, '..', '..', '..', '.local', 'services'));
}

export const kafkaLibDir = (): string => path.join(cacheDir(), `kafka-${versions.kafka}`, 'lib');
export const cassandraLibDir = (): string => path.join(cacheDir(), `cassandra-${versions.cassandra}`, 'lib');
export const minioBinary = (): string => path.join(cacheDir(), `minio-${versions.minio}`, 'minio');

/** Names the local provisioning uses; the cloud gets its names from config/. */
export const localNames = {
  keyspace: 'telemetry_local',
  bucket: 'sdp-local-lake',
  cassandraLocalDc: 'datacenter1',
  s3Region: 'us-east-1',
  /** Single-node durability: always Cassandra's; Kafka's unless it runs as a cluster (see `kafkaDurability`). */
  replicationFactor: 1,
  minInsyncReplicas: 1,
} as const;

// ---------------------------------------------------------------------------------------------
// Kafka's two modes: one combined broker+controller (the default), or three of them forming a
// 3-voter KRaft quorum with RF 3 and min ISR 2, as MSK runs staging and prod, so a fault test can
// stop, kill and roll brokers one at a time and the quorum and acks=all writes survive.

/** How many Kafka nodes run: 1, or 3 (a cluster). */
export type KafkaNodeCount = 1 | 3;
export const kafkaNodeCounts: readonly KafkaNodeCount[] = [1, 3];

/** Selects the mode for `start` when nothing is running yet; the CLI's `--kafka-nodes` wins over it. */
export const KAFKA_NODES_VAR = 'LOCAL_KAFKA_NODES';

export interface KafkaNode {
  /** KRaft `node.id`, 1-based; node 1 is the single node of the default mode. */
  readonly id: number;
  readonly brokerPort: number;
  readonly controllerPort: number;
}

/** Node n listens on 9092 + 2(n-1) (broker) and the port above it (controller): 9092/9093, 9094/9095, 9096/9097. */
export function kafkaNodes(count: KafkaNodeCount): readonly KafkaNode[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    brokerPort: ports.kafka.broker + 2 * i,
    controllerPort: ports.kafka.controller + 2 * i,
  }));
}

/** Node `id` of the mode; an id the mode does not have is an error naming the valid ones. */
export function kafkaNode(count: KafkaNodeCount, id: number): KafkaNode {
  const node = kafkaNodes(count).find((n) => n.id === id);
  if (!node) throw new Error(`Kafka node ${id} does not exist with ${count} node(s); nodes are 1..${count}`);
  return node;
}

export interface KafkaDurability {
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
}

/** A cluster keeps acks=all writes (and transactions) going with one node down: RF 3, min ISR 2. */
export function kafkaDurability(count: KafkaNodeCount = kafkaNodeCount()): KafkaDurability {
  return count === 3 ? { replicationFactor: 3, minInsyncReplicas: 2 } : { replicationFactor: 1, minInsyncReplicas: 1 };
}

export function parseKafkaNodes(value: string, source: string): KafkaNodeCount {
  const n = Number(value.trim());
  if (!kafkaNodeCounts.includes(n as KafkaNodeCount)) {
    throw new Error(`${source} must be 1 (one broker) or 3 (a 3-node KRaft cluster with RF 3 and min ISR 2); got '${value}'`);
  }
  return n as KafkaNodeCount;
}

/** The mode asked for with LOCAL_KAFKA_NODES, if any. */
export function requestedKafkaNodes(env: NodeJS.ProcessEnv = process.env): KafkaNodeCount | undefined {
  const value = env[KAFKA_NODES_VAR];
  return value === undefined || value.trim() === '' ? undefined : parseKafkaNodes(value, KAFKA_NODES_VAR);
}

/** Written by `start` before it launches Kafka and removed by `stop`: the mode of the Kafka of this data dir. */
export const kafkaModeFile = (env: NodeJS.ProcessEnv = process.env): string => path.join(dataDir(env), 'kafka-mode.json');

export function recordedKafkaNodes(env: NodeJS.ProcessEnv = process.env): KafkaNodeCount | undefined {
  let text: string;
  try {
    text = fs.readFileSync(kafkaModeFile(env), 'utf8');
  } catch {
    return undefined;
  }
  const nodes = (JSON.parse(text) as { nodes?: unknown }).nodes;
  return parseKafkaNodes(String(nodes), `'nodes' in ${kafkaModeFile(env)}`);
}

export function recordKafkaNodes(count: KafkaNodeCount, env: NodeJS.ProcessEnv = process.env): void {
  fs.mkdirSync(dataDir(env), { recursive: true });
  fs.writeFileSync(kafkaModeFile(env), `${JSON.stringify({ nodes: count, recordedAt: new Date().toISOString() })}\n`);
}

export function forgetKafkaNodes(env: NodeJS.ProcessEnv = process.env): void {
  fs.rmSync(kafkaModeFile(env), { force: true });
}

/** The mode Kafka runs in (as recorded by `start`), else the one `start` would pick: LOCAL_KAFKA_NODES, else 1. */
export function kafkaNodeCount(env: NodeJS.ProcessEnv = process.env): KafkaNodeCount {
  return recordedKafkaNodes(env) ?? requestedKafkaNodes(env) ?? 1;
}

export interface Endpoints {
  /** Every node's broker, comma-separated: the KAFKA_BROKERS value. */
  readonly kafkaBrokers: string;
  /** The same brokers as a list, for kafkajs' `brokers`: a client keeps a bootstrap broker while any one node is down. */
  readonly kafkaBrokerList: readonly string[];
  readonly cassandraContactPoints: string;
  readonly cassandraPort: number;
  readonly cassandraLocalDc: string;
  readonly cassandraKeyspace: string;
  readonly s3Endpoint: string;
  readonly s3AccessKeyId: string;
  readonly s3SecretAccessKey: string;
  readonly s3Region: string;
  readonly bucket: string;
}

/**
 * Where the apps and tests find the services; Kafka's follow the mode (`kafkaNodeCount`). The
 * MinIO root credentials come from `MINIO_ROOT_USER` / `MINIO_ROOT_PASSWORD`; the defaults are
 * only acceptable because every listener is bound to loopback.
 */
export function endpoints(env: NodeJS.ProcessEnv = process.env): Endpoints {
  const brokers = kafkaNodes(kafkaNodeCount(env)).map((n) => `${LOOPBACK}:${n.brokerPort}`);
  return {
    kafkaBrokers: brokers.join(','),
    kafkaBrokerList: brokers,
    cassandraContactPoints: LOOPBACK,
    cassandraPort: ports.cassandra.native,
    cassandraLocalDc: localNames.cassandraLocalDc,
    cassandraKeyspace: localNames.keyspace,
    s3Endpoint: `http://${LOOPBACK}:${ports.s3.api}`,
    s3AccessKeyId: env.MINIO_ROOT_USER || 'minioadmin',
    s3SecretAccessKey: env.MINIO_ROOT_PASSWORD || 'minioadmin',
    s3Region: localNames.s3Region,
    bucket: localNames.bucket,
  };
}

/** The endpoints as the apps' environment variables (see apps/lib/config.ts). */
export function appEnv(e: Endpoints = endpoints()): Record<string, string> {
  return {
    KAFKA_BROKERS: e.kafkaBrokers,
    KAFKA_AUTH: 'none',
    CASSANDRA_CONTACT_POINTS: e.cassandraContactPoints,
    CASSANDRA_PORT: String(e.cassandraPort),
    CASSANDRA_LOCAL_DC: e.cassandraLocalDc,
    CASSANDRA_KEYSPACE: e.cassandraKeyspace,
    CASSANDRA_AUTH: 'none',
    S3_BUCKET: e.bucket,
    S3_ENDPOINT: e.s3Endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: e.s3Region,
    AWS_ACCESS_KEY_ID: e.s3AccessKeyId,
    AWS_SECRET_ACCESS_KEY: e.s3SecretAccessKey,
  };
}
