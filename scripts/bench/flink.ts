/**
 * `npm run bench -- --flink`: the peer, measured in the same run. The pipeline's logical job
 * (validate + DLQ, 1-minute event-time windows, Cassandra rows, Parquet on S3) as one Apache
 * Flink job (scripts/bench/flink) on a local MiniCluster in its own JVM, against the same Kafka,
 * Cassandra and MinIO. The raw topic is pre-filled by the project's producer with the same
 * events, then Flink drains it (bounded at the end offsets it finds when it starts), so the
 * figures are those of a drain: the project's end-to-end stage has the producer running beside
 * the apps. CPU is metered from /proc like every other stage, from the job's first record to its
 * last write.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Client as CassandraClient } from 'cassandra-driver';
import type { Admin } from 'kafkajs';
import { readingsTable } from '../../apps/contracts/tables';
import { topics } from '../../apps/contracts/topics';
import { processorEnv } from '../../apps/processor/config';
import { localRunEnv } from '../local/start/local-run';
import { Pipeline } from '../local/start/pipeline';
import { endpoints, javaBinary, kafkaDurability } from '../local/local-services';
import { CpuMeter, CpuReport } from './cpu';
import { benchStores } from './reset';

/** Where the Flink job writes its rejects and files, apart from the project's own. */
export const flinkStores = { dlqTopic: 'sdp-bench.flink.dlq', lakePrefix: 'flink/' } as const;

/**
 * Flink's counterparts of the project's exactly-once settings: a checkpoint every second, as the
 * processor commits a transaction every PROCESSOR_COMMIT_INTERVAL_MS (1 s); the DLQ through
 * Kafka transactions (60 s timeout, as PROCESSOR_TRANSACTION_TIMEOUT_MS); Parquet files
 * committed on checkpoints; Cassandra upserts flushed before each checkpoint (at-least-once and
 * idempotent, as the cassandra-sink). Parallelism 2: one slot per core.
 */
const flinkSettings = { checkpointIntervalMs: 1_000, parallelism: 2 } as const;

/** Java 17 needs these for Flink's serializers (Flink's own `env.java.opts.all` default). */
const JAVA_OPENS = [
  'java.lang',
  'java.net',
  'java.io',
  'java.nio',
  'sun.nio.ch',
  'java.lang.reflect',
  'java.text',
  'java.time',
  'java.util',
  'java.util.concurrent',
  'java.util.concurrent.atomic',
  'java.util.concurrent.locks',
].map((p) => `--add-opens=java.base/${p}=ALL-UNNAMED`);

export interface FlinkStageContext {
  readonly admin: Admin;
  readonly cassandra: CassandraClient;
  readonly s3: S3Client;
  readonly events: number;
  /** The local services' pids by name, metered beside the job. */
  readonly servicePids: Readonly<Record<string, number>>;
  readonly logsDir: string;
  /** Empties the topics and the bench stores (scripts/bench/reset.ts). */
  readonly reset: () => Promise<void>;
  /** Waits for the machine to settle before a measurement. */
  readonly quiet: () => Promise<void>;
  /** The producer's environment for `events` at full speed, as the other stages use it. */
  readonly producerEnv: (events: number) => Record<string, string>;
  /** CPU-µs per event by process, as the bench reports them. */
  readonly perEvent: (cpu: CpuReport, events: number) => Record<string, number>;
}

export interface FlinkStageResult {
  readonly events: number;
  readonly valid: number;
  readonly rejected: number;
  readonly aggregates: number;
  readonly seconds: number;
  readonly perSec: number;
  readonly cpuMicrosPerEvent: Record<string, number>;
  /** What the stores hold afterwards: a check that the job did the work it was timed for. */
  readonly stored: { readonly cassandraReadingRows: number; readonly parquetObjects: number };
  readonly settings: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds the job's jar with Maven on first use (scripts/lib.sh), cached by its sources' hash. */
function flinkJar(): string {
  const root = path.resolve(__dirname, '..', '..');
  const r = spawnSync('bash', ['-c', '. scripts/lib.sh && ensure_flink_bench_jar'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const jar = r.stdout.trim().split('\n').pop();
  if (r.status !== 0 || !jar) throw new Error(`could not build the Flink bench job (scripts/bench/flink): ensure_flink_bench_jar exited ${r.status}`);
  return jar;
}

async function resetFlinkDlq(admin: Admin): Promise<void> {
  await admin.deleteTopics({ topics: [flinkStores.dlqTopic] }).catch(() => undefined);
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.createTopics({
        topics: [{ topic: flinkStores.dlqTopic, numPartitions: topics.deadLetter.partitions, replicationFactor: kafkaDurability().replicationFactor }],
        waitForLeaders: true,
      });
      return;
    } catch (err) {
      // A deleted topic lingers for a moment; its name is free again shortly.
      if (attempt >= 30) throw new Error(`could not create ${flinkStores.dlqTopic}: ${(err as Error).message}`, { cause: err });
      await sleep(1_000);
    }
  }
}

async function prefill(ctx: FlinkStageContext, say: (m: string) => void): Promise<number> {
  const p = new Pipeline(path.join(ctx.logsDir, 'flink-prefill'));
  say(`flink: pre-filling ${topics.raw.name} with ${ctx.events.toLocaleString('en-US')} events (producer alone, full speed)`);
  await p.start('producer', ctx.producerEnv(ctx.events), { waitReady: false });
  try {
    for (;;) {
      const report = p.producerReport();
      if (report && !p.supervisor.isRunning('producer')) return report.valid + report.malformed;
      if (!report && !p.supervisor.isRunning('producer')) throw new Error(`producer failed:\n${p.supervisor.logTail('producer')}`);
      await sleep(200);
    }
  } finally {
    await p.supervisor.stopAll();
  }
}

function jobEnv(checkpointDir: string): Record<string, string> {
  const e = endpoints();
  const proc = processorEnv.parse({ ...localRunEnv.processor, KAFKA_BROKERS: e.kafkaBrokers });
  return {
    FLINK_BENCH_KAFKA_BROKERS: e.kafkaBrokers,
    FLINK_BENCH_RAW_TOPIC: topics.raw.name,
    FLINK_BENCH_DLQ_TOPIC: flinkStores.dlqTopic,
    FLINK_BENCH_ALLOWED_LATENESS_MS: String(proc.PROCESSOR_ALLOWED_LATENESS_MS),
    FLINK_BENCH_IDLE_FLUSH_MS: String(proc.PROCESSOR_WINDOW_IDLE_FLUSH_MS),
    FLINK_BENCH_MAX_CLOCK_SKEW_MS: String(proc.PROCESSOR_MAX_CLOCK_SKEW_MS),
    FLINK_BENCH_CHECKPOINT_INTERVAL_MS: String(flinkSettings.checkpointIntervalMs),
    FLINK_BENCH_CHECKPOINT_DIR: `file://${checkpointDir}`,
    FLINK_BENCH_PARALLELISM: String(flinkSettings.parallelism),
    FLINK_BENCH_LAKE_PATH: `s3://${benchStores.bucket}/${flinkStores.lakePrefix}raw/telemetry`,
    FLINK_BENCH_CASSANDRA_HOST: e.cassandraContactPoints,
    FLINK_BENCH_CASSANDRA_PORT: String(e.cassandraPort),
    FLINK_BENCH_CASSANDRA_DC: e.cassandraLocalDc,
    FLINK_BENCH_CASSANDRA_KEYSPACE: benchStores.keyspace,
    FLINK_BENCH_S3_ENDPOINT: e.s3Endpoint,
    FLINK_BENCH_S3_REGION: e.s3Region,
    FLINK_BENCH_S3_ACCESS_KEY: e.s3AccessKeyId,
    FLINK_BENCH_S3_SECRET_KEY: e.s3SecretAccessKey,
  };
}

interface JobLine {
  readonly event: 'first-record' | 'done';
  readonly at: number;
  readonly valid?: number;
  readonly rejected?: number;
  readonly aggregates?: number;
}

/** Runs the job in its own JVM; meters it (and the services) from its first record to its done line. */
async function runJob(ctx: FlinkStageContext, jar: string, say: (m: string) => void) {
  const checkpointDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdp-bench-flink-'));
  const logFile = path.join(ctx.logsDir, 'flink.log');
  fs.mkdirSync(ctx.logsDir, { recursive: true });
  const log = fs.openSync(logFile, 'a');
  const child = spawn(javaBinary(), ['-Xmx3g', ...JAVA_OPENS, '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-jar', jar], {
    env: { ...process.env, ...jobEnv(checkpointDir) },
    stdio: ['ignore', 'pipe', log],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let meter: CpuMeter | undefined;
  let first: JobLine | undefined;
  let done: JobLine | undefined;
  let cpu: CpuReport | undefined;
  const sampler = setInterval(() => meter?.sample(), 200);
  try {
    for await (const line of readline.createInterface({ input: child.stdout! })) {
      fs.appendFileSync(logFile, `${line}\n`);
      if (!line.startsWith('{"event":')) continue;
      const msg = JSON.parse(line) as JobLine;
      if (msg.event === 'first-record') {
        first = msg;
        meter = new CpuMeter({ flink: child.pid!, ...ctx.servicePids });
        say('flink: first record read, metering');
      } else if (msg.event === 'done') {
        done = msg;
        cpu = meter?.stop();
      }
    }
    const code = await exited;
    if (code !== 0 || !first || !done || !cpu) throw new Error(`flink: the job exited ${code} before it finished; see ${logFile}`);
    return { first, done, cpu };
  } finally {
    clearInterval(sampler);
    if (child.exitCode === null) child.kill('SIGTERM');
    fs.closeSync(log);
    fs.rmSync(checkpointDir, { recursive: true, force: true });
  }
}

async function countParquetObjects(s3: S3Client): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: benchStores.bucket, Prefix: flinkStores.lakePrefix, ContinuationToken: token }));
    n += (page.Contents ?? []).filter((o) => o.Key?.endsWith('.parquet')).length;
    token = page.NextContinuationToken;
  } while (token);
  return n;
}

export async function flinkStage(ctx: FlinkStageContext, say: (m: string) => void): Promise<FlinkStageResult> {
  say('flink: building (or reusing) the job jar');
  const jar = flinkJar();
  say('flink: resetting topics, groups, bench keyspace and bucket');
  await ctx.reset();
  await resetFlinkDlq(ctx.admin);
  const produced = await prefill(ctx, say);
  await ctx.quiet();
  say(`flink: draining ${produced.toLocaleString('en-US')} events on a MiniCluster (parallelism ${flinkSettings.parallelism})`);
  const { first, done, cpu } = await runJob(ctx, jar, say);
  const seconds = Math.max(0.001, (done.at - first.at) / 1000);
  const valid = done.valid ?? 0;
  const rejected = done.rejected ?? 0;
  if (valid + rejected !== produced) throw new Error(`flink: the job saw ${valid + rejected} records, the producer wrote ${produced}`);
  const rows = await ctx.cassandra.execute(`SELECT COUNT(*) AS n FROM ${benchStores.keyspace}.${readingsTable.name}`, [], { readTimeout: 120_000 });
  const stored = { cassandraReadingRows: Number(rows.first().get('n')), parquetObjects: await countParquetObjects(ctx.s3) };
  const perSec = produced / seconds;
  say(
    `  flink: ${Math.round(perSec).toLocaleString('en-US')} events/s (${seconds.toFixed(1)} s; ${valid} valid, ${rejected} to the DLQ, ${done.aggregates} aggregates)`,
  );
  return {
    events: produced,
    valid,
    rejected,
    aggregates: done.aggregates ?? 0,
    seconds,
    perSec,
    cpuMicrosPerEvent: ctx.perEvent(cpu, produced),
    stored,
    settings: {
      ...flinkSettings,
      flink: '2.1.1',
      kafkaConnector: '5.0.0-2.1',
      dlqTopic: flinkStores.dlqTopic,
      lakePrefix: flinkStores.lakePrefix,
      mode: 'drain of a pre-filled raw topic',
    },
  };
}

/** The Node apps of the pipeline (the producer left out: Flink's figures do not include it). */
const PIPELINE_APPS = ['processor', 'cassandra-sink', 'lake-sink'] as const;

/**
 * The comparison the bench reports: each side's CPU per event as a multiple of the broker's CPU
 * per event in its own stage, its rate as a share of the broker's consume rate, and project/Flink.
 */
export function flinkComparison(
  flink: FlinkStageResult,
  project: { readonly endToEndPerSec?: number; readonly cpu?: Readonly<Record<string, number>> },
  brokerConsumePerSec: number | undefined,
) {
  const ratio = (n: number | undefined, d: number | undefined) => (n !== undefined && d !== undefined && d > 0 ? Math.round((n / d) * 1000) / 1000 : null);
  const appsCpu = project.cpu ? PIPELINE_APPS.reduce((sum, a) => sum + (project.cpu![a] ?? 0), 0) : undefined;
  const flinkCpu = flink.cpuMicrosPerEvent.flink;
  return {
    endToEndPerSec: Math.round(flink.perSec),
    ratioToBrokerConsume: ratio(flink.perSec, brokerConsumePerSec),
    cpuMicrosPerEvent: flink.cpuMicrosPerEvent,
    cpuToBroker: ratio(flinkCpu, flink.cpuMicrosPerEvent.kafka),
    project: {
      appsCpuMicrosPerEvent: appsCpu === undefined ? null : Math.round(appsCpu * 10) / 10,
      apps: PIPELINE_APPS,
      cpuToBroker: ratio(appsCpu, project.cpu?.kafka),
      ratioToBrokerConsume: ratio(project.endToEndPerSec, brokerConsumePerSec),
    },
    projectToFlink: { cpuPerEvent: ratio(appsCpu, flinkCpu), endToEndRate: ratio(project.endToEndPerSec, flink.perSec) },
    run: {
      events: flink.events,
      valid: flink.valid,
      rejected: flink.rejected,
      aggregates: flink.aggregates,
      seconds: flink.seconds,
      stored: flink.stored,
      settings: flink.settings,
    },
  };
}
