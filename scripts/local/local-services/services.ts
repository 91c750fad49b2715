/**
 * The three local services: how each of their processes is configured, launched and probed for
 * readiness (Kafka has one process per node). Config files are rendered from ./templates into the
 * process's data dir on every start, so a template change takes effect on the next start while
 * data survives.
 */
import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3';
import { Client as CassandraClient } from 'cassandra-driver';
import * as crypto from 'crypto';
import * as fs from 'fs';
import { Admin, Kafka, logLevel } from 'kafkajs';
import * as path from 'path';
import {
  cassandraLibDir,
  dataDir,
  endpoints,
  kafkaDurability,
  kafkaLibDir,
  kafkaNode,
  KafkaNodeCount,
  kafkaNodes,
  LOOPBACK,
  minioBinary,
  ports,
  ServiceName,
  versions,
} from './config';
import { run } from './install';
import type { LaunchSpec } from '../launcher';

/**
 * Heaps sized for a 2-core laptop running all three services plus the apps. A cluster node gets
 * half the single node's heap: the local load needs a fraction of either, and three 1 GiB heaps
 * would crowd Cassandra and the apps (the README's "Kafka as a 3-node cluster" has the figures).
 */
const heaps = { kafka: '1g', kafkaClusterNode: '512m', cassandra: '1G' } as const;

/** One process of a service: Cassandra, MinIO, or one Kafka node. */
export interface ServiceProcess {
  readonly service: ServiceName;
  readonly title: string;
  /** Its data, generated config, logs and pid file. */
  readonly dir: string;
  readonly pidFile: string;
  /** stdout and stderr of the process. */
  readonly consoleLog: string;
  /** The log file whose tail explains a failed start. */
  readonly logFile: string;
  /** Every port the process binds, checked before start and after stop. */
  readonly ports: readonly { readonly port: number; readonly purpose: string }[];
  /** How long SIGTERM may take before SIGKILL. */
  readonly stopGraceMs: number;
  /** Default wait for readiness after start. */
  readonly readyTimeoutMs: number;
  readonly installed: () => boolean;
  /** Writes config files (and formats storage when needed), then says how to launch. */
  readonly prepare: () => Promise<Required<Pick<LaunchSpec, 'command' | 'args' | 'marker'>> & Pick<LaunchSpec, 'env'>>;
  /** Resolves when the process serves real requests; rejects otherwise. */
  readonly probe: () => Promise<void>;
}

/** Where a service keeps its data: the single Kafka node, Cassandra and MinIO in `<data dir>/<name>`, cluster nodes below. */
export const serviceDir = (name: ServiceName): string => path.join(dataDir(), name);
export const kafkaClusterDir = (): string => path.join(dataDir(), 'kafka-cluster');

const processFiles = (service: ServiceName, dir: string) => ({
  dir,
  pidFile: path.join(dir, `${service}.pid`),
  consoleLog: path.join(dir, 'logs', 'console.log'),
});

const templatesDir = path.join(__dirname, 'templates');

/** Fills `{{name}}` placeholders; an unknown placeholder is a bug in the template, so it throws. */
export function render(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in vars)) throw new Error(`template placeholder {{${key}}} has no value`);
    return String(vars[key]);
  });
}

function renderTemplate(name: string, target: string, vars: Record<string, string | number>): string {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, render(fs.readFileSync(path.join(templatesDir, name), 'utf8'), vars));
  return target;
}

/** `$JAVA_HOME/bin/java` when set, else `java` from PATH. */
export const javaBinary = (): string => (process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java');

let javaMajorCache: number | undefined;

/**
 * Kafka 4's broker needs Java 17+, Cassandra 5.0 runs on Java 11 or 17 only: so exactly 17.
 * Checked before launch because either JVM would otherwise die with a cryptic error in its log.
 */
async function requireJava17(): Promise<void> {
  if (javaMajorCache === undefined) {
    const result = await run(javaBinary(), ['-XshowSettings:properties', '-version']);
    const spec = /java\.specification\.version = (\d+)/.exec(result.output);
    javaMajorCache = spec ? Number(spec[1]) : 0;
  }
  if (javaMajorCache !== 17) {
    throw new Error(
      `${javaBinary()} is Java ${javaMajorCache || 'unknown'}; the local Kafka 4 + Cassandra 5.0 need Java 17 ` +
        '(install a JDK 17 and point JAVA_HOME at it)',
    );
  }
}

/** Classpath for `java -cp` that runs Kafka's tools, e.g. `org.apache.kafka.tools.ProducerPerformance`. */
export const kafkaClasspath = (): string => path.join(kafkaLibDir(), '*');

const hasFiles = (dir: string, suffix: string) => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith(suffix));

// ---------------------------------------------------------------------------------------------
// Kafka: KRaft nodes, broker and controller in one JVM each; one node, or three voters.

function kafkaJvmArgs(heap: string, logDir: string, log4jFile: string): string[] {
  return [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    // kafka-run-class.sh defaults.
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${logDir}`,
    `-Dlog4j2.configurationFile=${log4jFile}`,
    '-cp',
    kafkaClasspath(),
  ];
}

/** 16 random bytes, base64url without padding (Kafka's `Uuid.toString()`); never starting with '-', as `Uuid.randomUuid()` ensures, or the storage tool takes it for an option. */
export function newKafkaClusterId(): string {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * The KRaft cluster id every node of a mode is formatted with, kept in `<dir>/cluster.id` so a
 * node formatted later joins the same cluster. Synchronous, so nodes prepared concurrently still
 * agree on one id.
 */
function kafkaClusterId(dir: string): string {
  const file = path.join(dir, 'cluster.id');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, `${newKafkaClusterId()}\n`);
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/** server.properties of node `id`: its listeners, the voters of its mode, and the mode's durability. */
export function renderKafkaServerProperties(count: KafkaNodeCount, id: number, logDirs: string): string {
  const node = kafkaNode(count, id);
  const durability = kafkaDurability(count);
  return render(fs.readFileSync(path.join(templatesDir, 'kafka-server.properties'), 'utf8'), {
    nodeId: node.id,
    quorumVoters: kafkaNodes(count)
      .map((n) => `${n.id}@${LOOPBACK}:${n.controllerPort}`)
      .join(','),
    brokerPort: node.brokerPort,
    controllerPort: node.controllerPort,
    logDirs,
    replicationFactor: durability.replicationFactor,
    minInsyncReplicas: durability.minInsyncReplicas,
  });
}

/** kafkajs admin for probes: one try, short timeouts, so a poll never hangs on a dead node. */
export function probeAdmin(brokers: readonly string[]): Admin {
  return new Kafka({
    clientId: 'local-services-probe',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 3_000,
    retry: { retries: 0 },
  }).admin();
}

/**
 * Node `id` of a Kafka with `count` nodes. The single node keeps `<data dir>/kafka`; cluster nodes
 * live in `<data dir>/kafka-cluster/node-<id>`, so switching modes keeps both modes' topics.
 */
export function kafkaNodeProcess(count: KafkaNodeCount, id: number): ServiceProcess {
  const node = kafkaNode(count, id);
  const clusterDir = count === 1 ? serviceDir('kafka') : kafkaClusterDir();
  const files = processFiles('kafka', count === 1 ? clusterDir : path.join(clusterDir, `node-${id}`));
  const logDir = path.join(files.dir, 'logs');
  const broker = `${LOOPBACK}:${node.brokerPort}`;
  return {
    service: 'kafka',
    title: count === 1 ? `Apache Kafka ${versions.kafka} (KRaft)` : `Apache Kafka ${versions.kafka} (KRaft) node ${id} of ${count}`,
    ...files,
    logFile: path.join(logDir, 'server.log'),
    ports: [
      { port: node.brokerPort, purpose: count === 1 ? 'Kafka broker' : `Kafka broker of node ${id}` },
      { port: node.controllerPort, purpose: count === 1 ? 'Kafka KRaft controller' : `Kafka KRaft controller of node ${id}` },
    ],
    stopGraceMs: 30_000,
    // Three JVMs starting at once share two cores.
    readyTimeoutMs: count === 1 ? 90_000 : 180_000,
    installed: () => hasFiles(kafkaLibDir(), '.jar'),
    async prepare() {
      await requireJava17();
      const storage = path.join(files.dir, 'data');
      const serverProperties = path.join(files.dir, 'server.properties');
      fs.mkdirSync(logDir, { recursive: true });
      fs.writeFileSync(serverProperties, renderKafkaServerProperties(count, id, storage));
      const log4j = path.join(files.dir, 'log4j2.xml');
      fs.copyFileSync(path.join(templatesDir, 'kafka-log4j2.xml'), log4j);
      if (!fs.existsSync(path.join(storage, 'meta.properties'))) {
        const result = await run(javaBinary(), [
          ...kafkaJvmArgs('256m', logDir, log4j),
          'kafka.tools.StorageTool',
          'format',
          '--cluster-id',
          kafkaClusterId(clusterDir),
          '--config',
          serverProperties,
        ]);
        if (result.code !== 0) throw new Error(`formatting Kafka storage in ${storage} failed:\n${result.output.slice(-4000)}`);
      }
      const heap = count === 1 ? heaps.kafka : heaps.kafkaClusterNode;
      return { command: javaBinary(), args: [...kafkaJvmArgs(heap, logDir, log4j), 'kafka.Kafka', serverProperties], marker: serverProperties };
    },
    /** Ready when this node's broker answers and the metadata it serves lists it (registered, unfenced) and a controller. */
    async probe() {
      const admin = probeAdmin([broker]);
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.controller === null) throw new Error('no active controller yet');
        if (!cluster.brokers.some((b) => b.nodeId === id)) throw new Error(`node ${id} is not registered (or still fenced)`);
      } finally {
        await admin.disconnect();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Cassandra: CassandraDaemon in a plain JVM with a generated cassandra.yaml.

/** Reads an options template: one JVM option per line, '#' comments and blank lines dropped. */
function jvmOptions(template: string, vars: Record<string, string | number>): string[] {
  return render(fs.readFileSync(path.join(templatesDir, template), 'utf8'), vars)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

const cassandra = (): ServiceProcess => ({
  service: 'cassandra',
  title: `Apache Cassandra ${versions.cassandra}`,
  ...processFiles('cassandra', serviceDir('cassandra')),
  logFile: path.join(serviceDir('cassandra'), 'logs', 'system.log'),
  ports: [
    { port: ports.cassandra.native, purpose: 'Cassandra CQL' },
    { port: ports.cassandra.storage, purpose: 'Cassandra storage (inter-node)' },
    { port: ports.cassandra.jmx, purpose: 'Cassandra JMX' },
  ],
  stopGraceMs: 45_000,
  readyTimeoutMs: 240_000,
  installed: () => hasFiles(cassandraLibDir(), '.jar'),
  async prepare() {
    await requireJava17();
    const dir = serviceDir('cassandra');
    const logDir = path.join(dir, 'logs');
    fs.mkdirSync(logDir, { recursive: true });
    const configFile = renderTemplate('cassandra.yaml', path.join(dir, 'cassandra.yaml'), {
      dataDir: dir,
      storagePort: ports.cassandra.storage,
      nativePort: ports.cassandra.native,
    });
    const logbackFile = path.join(dir, 'logback.xml');
    fs.copyFileSync(path.join(templatesDir, 'cassandra-logback.xml'), logbackFile);
    const jamm = fs.readdirSync(cassandraLibDir()).find((f) => /^jamm-.*\.jar$/.test(f));
    if (!jamm) throw new Error(`no jamm jar in ${cassandraLibDir()}; delete that directory and run install again`);
    const args = jvmOptions('cassandra-jvm17.options', {
      heap: heaps.cassandra,
      logDir,
      dataDir: dir,
      configFile,
      logbackFile,
      jmxPort: ports.cassandra.jmx,
      jammJar: path.join(cassandraLibDir(), jamm),
    });
    return {
      command: javaBinary(),
      args: [...args, '-cp', path.join(cassandraLibDir(), '*'), 'org.apache.cassandra.service.CassandraDaemon'],
      env: { ...process.env, MALLOC_ARENA_MAX: '4' },
      marker: configFile,
    };
  },
  async probe() {
    const e = endpoints();
    const client = new CassandraClient({
      contactPoints: [e.cassandraContactPoints],
      protocolOptions: { port: e.cassandraPort },
      localDataCenter: e.cassandraLocalDc,
      socketOptions: { connectTimeout: 2_000, readTimeout: 5_000 },
    });
    try {
      await client.connect();
      const rs = await client.execute('SELECT release_version FROM system.local');
      if (!rs.first()?.get('release_version')) throw new Error('system.local has no release_version');
    } finally {
      await client.shutdown();
    }
  },
});

// ---------------------------------------------------------------------------------------------
// S3: MinIO in single-drive mode.

const s3 = (): ServiceProcess => ({
  service: 's3',
  title: `MinIO (${versions.minio})`,
  ...processFiles('s3', serviceDir('s3')),
  logFile: path.join(serviceDir('s3'), 'logs', 'console.log'),
  ports: [
    { port: ports.s3.api, purpose: 'MinIO S3 API' },
    { port: ports.s3.console, purpose: 'MinIO console' },
  ],
  stopGraceMs: 15_000,
  readyTimeoutMs: 60_000,
  installed: () => fs.existsSync(minioBinary()),
  async prepare() {
    const storage = path.join(serviceDir('s3'), 'data');
    fs.mkdirSync(storage, { recursive: true });
    const e = endpoints();
    return {
      command: minioBinary(),
      args: ['server', storage, '--address', `${LOOPBACK}:${ports.s3.api}`, '--console-address', `${LOOPBACK}:${ports.s3.console}`],
      env: {
        ...process.env,
        MINIO_ROOT_USER: e.s3AccessKeyId,
        MINIO_ROOT_PASSWORD: e.s3SecretAccessKey,
        MINIO_UPDATE: 'off',
      },
      marker: storage,
    };
  },
  async probe() {
    // A probe answers now or not at all: the caller polls.
    const client = createLocalS3Client({ maxAttempts: 1 });
    try {
      await client.send(new ListBucketsCommand({}));
    } finally {
      client.destroy();
    }
  },
});

/**
 * An S3 client for the local MinIO (path-style addressing, static local credentials). It retries
 * like any SDK client (standard mode, `maxAttempts` tries): on a busy machine MinIO drops the odd
 * connection ("socket hang up"), and a reader that gives up on the first one fails a whole run.
 */
export function createLocalS3Client(options: { maxAttempts?: number } = {}): S3Client {
  const e = endpoints();
  return new S3Client({
    endpoint: e.s3Endpoint,
    region: e.s3Region,
    forcePathStyle: true,
    credentials: { accessKeyId: e.s3AccessKeyId, secretAccessKey: e.s3SecretAccessKey },
    maxAttempts: options.maxAttempts ?? 5,
  });
}

/** The processes of a service: one, except Kafka in cluster mode (one per node). */
export function serviceProcesses(name: ServiceName, kafkaNodeCount: KafkaNodeCount): readonly ServiceProcess[] {
  switch (name) {
    case 'kafka':
      return kafkaNodes(kafkaNodeCount).map((n) => kafkaNodeProcess(kafkaNodeCount, n.id));
    case 'cassandra':
      return [cassandra()];
    case 's3':
      return [s3()];
  }
}
