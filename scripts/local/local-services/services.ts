/**
 * The three local services: how each is configured, launched and probed for readiness.
 * Config files are rendered from ./templates into the service's data dir on every start, so a
 * template change takes effect on the next start while data survives.
 */
import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3';
import { Client as CassandraClient } from 'cassandra-driver';
import * as crypto from 'crypto';
import * as fs from 'fs';
import { Kafka, logLevel } from 'kafkajs';
import * as path from 'path';
import { cassandraLibDir, dataDir, endpoints, kafkaLibDir, LOOPBACK, minioBinary, ports, ServiceName, versions } from './config';
import { run } from './install';
import type { LaunchSpec } from '../launcher';

/** Heaps sized for a 2-core laptop running all three services plus the apps. */
const heaps = { kafka: '1g', cassandra: '1G' } as const;

export interface ServiceDefinition {
  readonly name: ServiceName;
  readonly title: string;
  /** Every port the service binds, checked before start and after stop. */
  readonly ports: readonly { readonly port: number; readonly purpose: string }[];
  /** How long SIGTERM may take before SIGKILL. */
  readonly stopGraceMs: number;
  /** Default wait for readiness after start. */
  readonly readyTimeoutMs: number;
  /** The log file whose tail explains a failed start. */
  readonly logFile: () => string;
  readonly installed: () => boolean;
  /** Writes config files (and formats storage when needed), then says how to launch. */
  readonly prepare: () => Promise<Required<Pick<LaunchSpec, 'command' | 'args' | 'marker'>> & Pick<LaunchSpec, 'env'>>;
  /** Resolves when the service serves real requests; rejects otherwise. */
  readonly probe: () => Promise<void>;
}

export const serviceDir = (name: ServiceName): string => path.join(dataDir(), name);
export const pidFile = (name: ServiceName): string => path.join(serviceDir(name), `${name}.pid`);
export const consoleLog = (name: ServiceName): string => path.join(serviceDir(name), 'logs', 'console.log');

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
// Kafka: single-node KRaft, broker and controller in one JVM.

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

/** KRaft cluster ids are 16 random bytes, base64url without padding (Kafka's `Uuid.toString()`). */
const kafkaClusterId = (): string => crypto.randomBytes(16).toString('base64url');

const kafka: ServiceDefinition = {
  name: 'kafka',
  title: `Apache Kafka ${versions.kafka} (KRaft)`,
  ports: [
    { port: ports.kafka.broker, purpose: 'Kafka broker' },
    { port: ports.kafka.controller, purpose: 'Kafka KRaft controller' },
  ],
  stopGraceMs: 30_000,
  readyTimeoutMs: 90_000,
  logFile: () => path.join(serviceDir('kafka'), 'logs', 'server.log'),
  installed: () => hasFiles(kafkaLibDir(), '.jar'),
  async prepare() {
    await requireJava17();
    const dir = serviceDir('kafka');
    const logDir = path.join(dir, 'logs');
    const storage = path.join(dir, 'data');
    const serverProperties = renderTemplate('kafka-server.properties', path.join(dir, 'server.properties'), {
      brokerPort: ports.kafka.broker,
      controllerPort: ports.kafka.controller,
      logDirs: storage,
    });
    const log4j = path.join(dir, 'log4j2.xml');
    fs.copyFileSync(path.join(templatesDir, 'kafka-log4j2.xml'), log4j);
    fs.mkdirSync(logDir, { recursive: true });
    if (!fs.existsSync(path.join(storage, 'meta.properties'))) {
      const result = await run(javaBinary(), [
        ...kafkaJvmArgs('256m', logDir, log4j),
        'kafka.tools.StorageTool',
        'format',
        '--cluster-id',
        kafkaClusterId(),
        '--config',
        serverProperties,
      ]);
      if (result.code !== 0) throw new Error(`formatting Kafka storage in ${storage} failed:\n${result.output.slice(-4000)}`);
    }
    return { command: javaBinary(), args: [...kafkaJvmArgs(heaps.kafka, logDir, log4j), 'kafka.Kafka', serverProperties], marker: serverProperties };
  },
  async probe() {
    const admin = new Kafka({
      clientId: 'local-services-probe',
      brokers: [endpoints().kafkaBrokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      requestTimeout: 3_000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length === 0 || cluster.controller === null) throw new Error('no broker or controller yet');
    } finally {
      await admin.disconnect();
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Cassandra: CassandraDaemon in a plain JVM with a generated cassandra.yaml.

/** Reads an options template: one JVM option per line, '#' comments and blank lines dropped. */
function jvmOptions(template: string, vars: Record<string, string | number>): string[] {
  return render(fs.readFileSync(path.join(templatesDir, template), 'utf8'), vars)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

const cassandra: ServiceDefinition = {
  name: 'cassandra',
  title: `Apache Cassandra ${versions.cassandra}`,
  ports: [
    { port: ports.cassandra.native, purpose: 'Cassandra CQL' },
    { port: ports.cassandra.storage, purpose: 'Cassandra storage (inter-node)' },
    { port: ports.cassandra.jmx, purpose: 'Cassandra JMX' },
  ],
  stopGraceMs: 45_000,
  readyTimeoutMs: 240_000,
  logFile: () => path.join(serviceDir('cassandra'), 'logs', 'system.log'),
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
};

// ---------------------------------------------------------------------------------------------
// S3: MinIO in single-drive mode.

const s3: ServiceDefinition = {
  name: 's3',
  title: `MinIO (${versions.minio})`,
  ports: [
    { port: ports.s3.api, purpose: 'MinIO S3 API' },
    { port: ports.s3.console, purpose: 'MinIO console' },
  ],
  stopGraceMs: 15_000,
  readyTimeoutMs: 60_000,
  logFile: () => consoleLog('s3'),
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
    const client = createLocalS3Client();
    try {
      await client.send(new ListBucketsCommand({}));
    } finally {
      client.destroy();
    }
  },
};

/** An S3 client for the local MinIO (path-style addressing, static local credentials). */
export function createLocalS3Client(): S3Client {
  const e = endpoints();
  return new S3Client({
    endpoint: e.s3Endpoint,
    region: e.s3Region,
    forcePathStyle: true,
    credentials: { accessKeyId: e.s3AccessKeyId, secretAccessKey: e.s3SecretAccessKey },
    maxAttempts: 1,
  });
}

export const services: Readonly<Record<ServiceName, ServiceDefinition>> = { kafka, cassandra, s3 };
