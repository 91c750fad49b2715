/**
 * Pinned versions, fixed loopback ports, cache and data locations of the local services.
 * Everything a developer may want to look up ("which Kafka?", "where are the logs?") lives here.
 */
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

/** One host port per listener; all bound to 127.0.0.1 only. */
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
  /** Local durability: a single broker and a single Cassandra node. */
  replicationFactor: 1,
  minInsyncReplicas: 1,
} as const;

export interface Endpoints {
  readonly kafkaBrokers: string;
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
 * Where the apps and tests find the services. The MinIO root credentials come from
 * `MINIO_ROOT_USER` / `MINIO_ROOT_PASSWORD`; the defaults are only acceptable because every
 * listener is bound to loopback.
 */
export function endpoints(env: NodeJS.ProcessEnv = process.env): Endpoints {
  return {
    kafkaBrokers: `${LOOPBACK}:${ports.kafka.broker}`,
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
