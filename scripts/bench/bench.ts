/**
 * `npm run bench`: a reproducible benchmark of the pipeline on this machine. Prints figures and
 * asserts nothing; the last line of stdout is one JSON object.
 *
 *  1. broker baseline: Kafka's ProducerPerformance and ConsumerPerformance (the broker's own jars)
 *     with records of the pipeline's mean raw size, on a scratch topic;
 *  2. each stage in isolation, on a clean slate (topics, groups, bench keyspace and bucket reset):
 *     the producer pre-fills telemetry.raw.v1, then the processor drains it alone, then the
 *     cassandra-sink and the lake-sink each drain the processor's output alone;
 *  3. end to end at full speed: all apps running, the producer sending as fast as it can;
 *  4. latency: all apps running, the producer at 50% of the end-to-end maximum for a while.
 *
 * Stage rates come from the apps' /metrics, polled from the outside. Usage:
 *   npm run bench [-- --events 1000000 --latency-seconds 60 --warmup-seconds 10 --lake-flush-ms 2000
 *                     --lake-max-records 50000 --stages broker,isolated,end-to-end,latency --profile]
 * `--profile` writes a CPU profile (`node --cpu-prof`) of every app process next to its log.
 * `--sampler always_off|always_on|...` sets OTEL_TRACES_SAMPLER for every app (default: the apps'
 * own, parentbased_always_on, spans written to a file per app beside its log), to measure tracing's cost.
 * `--flink` ends the run with the same job on Apache Flink, side by side (./flink.ts).
 */
import { Client as CassandraClient } from 'cassandra-driver';
import { Kafka, logLevel } from 'kafkajs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'node:util';
import { topics } from '../../apps/contracts/topics';
import { SAMPLERS } from '../../apps/lib/tracing';
import { generateReadings } from '../../apps/producer/generator';
import { createLocalS3Client, endpoints, kafkaDurability, status } from '../local/local-services';
import { consumerPerformance, producerPerformance } from './kafka-tools';
import { benchStores, resetStores, resetTopics } from './reset';
import { CpuMeter, CpuReport, waitForQuietMachine } from './cpu';
import { DrainTiming, timeDrain } from './stages';
import { flinkComparison, flinkStage } from './flink';
import { TargetVerdict, verdictLines, verdicts, writeBenchReport } from './report';
import { localRunEnv } from '../local/start/local-run';
import { AppName, consumerApps, countersSince, endToEndQuantiles, PipelineCounters, Quantiles, quantilesMs } from '../local/start/counters';
import { Pipeline } from '../local/start/pipeline';
import { LocalServices } from '../local/start/services';
import { pipelineDir } from '../local/start/supervisor';

/** Defaults: big enough that start-up and the final flush are a small part of each stage. */
const benchDefaults = { events: 1_000_000, latencySeconds: 60, warmupSeconds: 10, devices: 1_000, malformed: 0.01 } as const;

const say = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number) => Math.round(n);
const ratio = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 1000) / 1000 : null);

const STAGES = ['broker', 'isolated', 'end-to-end', 'latency'] as const;
type Stage = (typeof STAGES)[number];

interface BenchOptions {
  readonly events: number;
  /** Stages to run (latency needs end-to-end's rate). @default all */
  readonly stages: readonly Stage[];
  /** Write a CPU profile per app process (`node --cpu-prof`) next to its log. */
  readonly profile: boolean;
  readonly latencySeconds: number;
  readonly warmupSeconds: number;
  readonly lakeFlushMs: number;
  /** LAKE_SINK_MAX_RECORDS for the lake-sink; undefined keeps the app's default. */
  readonly lakeMaxRecords?: number;
  /** OTEL_TRACES_SAMPLER of every app; undefined keeps the apps' default. */
  readonly sampler?: (typeof SAMPLERS)[number];
  /** Run the same job on Apache Flink last, against the same services (./flink.ts). */
  readonly flink: boolean;
}

function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      events: { type: 'string' },
      'latency-seconds': { type: 'string' },
      'warmup-seconds': { type: 'string' },
      'lake-flush-ms': { type: 'string' },
      'lake-max-records': { type: 'string' },
      stages: { type: 'string' },
      profile: { type: 'boolean' },
      sampler: { type: 'string' },
      flink: { type: 'boolean' },
    },
  });
  const sampler = values.sampler;
  if (sampler !== undefined && !(SAMPLERS as readonly string[]).includes(sampler))
    throw new Error(`--sampler: choose one of ${SAMPLERS.join(', ')}, got "${sampler}"`);
  const stages = (values.stages ?? STAGES.join(',')).split(',').map((x) => x.trim());
  const unknown = stages.filter((x) => !(STAGES as readonly string[]).includes(x));
  if (unknown.length > 0) throw new Error(`--stages: unknown stage(s) ${unknown.join(', ')}; choose from ${STAGES.join(', ')}`);
  if (stages.includes('latency') && !stages.includes('end-to-end'))
    throw new Error('--stages: latency runs at half the end-to-end rate, so it needs end-to-end too');
  const num = (flag: string, v: string | undefined, fallback: number, min: number) => {
    if (v === undefined) return fallback;
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be a whole number >= ${min}, got "${v}"`);
    return n;
  };
  return {
    stages: stages as Stage[],
    profile: values.profile ?? false,
    flink: values.flink ?? false,
    events: num('events', values.events, benchDefaults.events, 10_000),
    latencySeconds: num('latency-seconds', values['latency-seconds'], benchDefaults.latencySeconds, 10),
    warmupSeconds: num('warmup-seconds', values['warmup-seconds'], benchDefaults.warmupSeconds, 0),
    lakeFlushMs: num('lake-flush-ms', values['lake-flush-ms'], Number(localRunEnv['lake-sink'].LAKE_SINK_IDLE_FLUSH_MS), 100),
    ...(values['lake-max-records'] !== undefined ? { lakeMaxRecords: num('lake-max-records', values['lake-max-records'], 0, 1) } : {}),
    ...(sampler !== undefined ? { sampler: sampler as (typeof SAMPLERS)[number] } : {}),
  };
}

/** Mean bytes of a raw record as the producer generates them (1% malformed), for the Kafka tools. */
function meanRawRecordBytes(): number {
  const gen = generateReadings({ devices: 1_000, malformedRatio: 0.01, seed: 1 });
  let bytes = 0;
  const n = 10_000;
  for (let i = 0; i < n; i++) bytes += Buffer.byteLength(gen.next().value.value);
  return Math.round(bytes / n);
}

/** What one run measured, as the last line of stdout prints it (plus `verdicts` and `report`). */
export type BenchResult = Awaited<ReturnType<Bench['run']>>;

/** The runs CPU is metered for, in the order they run: Kafka's own tools, each stage alone, end to end. */
export type CpuRun = 'brokerProduce' | 'brokerConsume' | 'producer' | 'processor' | 'cassandraSink' | 'lakeSink' | 'endToEnd';

/**
 * Every local service process by name, each Kafka node on its own (`kafka`, `kafka-2`, ...), so
 * the broker's CPU is the whole cluster's.
 */
export function servicePidsOf(services: Awaited<ReturnType<typeof status>>): Record<string, number> {
  return Object.fromEntries(
    services.flatMap((x) => {
      if (x.nodes && x.nodes.length > 1) return x.nodes.flatMap((n, i) => (n.pid !== undefined ? [[i === 0 ? x.name : `${x.name}-${i + 1}`, n.pid]] : []));
      return x.pid !== undefined ? [[x.name, x.pid]] : [];
    }),
  );
}

class Bench {
  private readonly services = new LocalServices();
  private pipeline?: Pipeline;
  private readonly runId = new Date().toISOString().replace(/[:.]/g, '-');
  private readonly e = endpoints();
  private readonly kafka = new Kafka({ clientId: 'sdp-bench', brokers: [...this.e.kafkaBrokerList], logLevel: logLevel.NOTHING });
  private readonly admin = this.kafka.admin();
  private cassandra?: CassandraClient;
  private readonly s3 = createLocalS3Client();

  private servicePids: Record<string, number> = {};
  /** CPU-microseconds per event by process, per measured run. */
  private readonly cpu: Partial<Record<CpuRun, Record<string, number>>> = {};

  constructor(private readonly opts: BenchOptions) {}

  /** The stage's apps plus the local services, for CPU metering. */
  private pids(p: Pipeline): Record<string, number> {
    return { ...Object.fromEntries(p.supervisor.apps.map((a) => [a.name, a.pid])), ...this.servicePids };
  }

  /** Lets start-up work (Cassandra's, the apps') finish before a stage is timed. */
  private async quiet(): Promise<void> {
    const q = await waitForQuietMachine();
    if (q.waitedMs > 2_500) say(`  waited ${(q.waitedMs / 1000).toFixed(0)} s for the machine to settle (busy ${(q.busyShare * 100).toFixed(0)}%)`);
  }

  private recordCpu(stage: CpuRun, t: DrainTiming, events: number): void {
    if (!t.cpu) return;
    this.cpu[stage] = perEvent(t.cpu, events);
  }

  /** Sink and lake settings of every stage (same for isolated and end-to-end runs). */
  private envOf(app: AppName): Record<string, string> {
    return { ...(this.opts.sampler !== undefined ? { OTEL_TRACES_SAMPLER: this.opts.sampler } : {}), ...this.stageEnvOf(app) };
  }

  private stageEnvOf(app: AppName): Record<string, string> {
    switch (app) {
      case 'processor':
        return { ...localRunEnv.processor };
      case 'cassandra-sink':
        return { CASSANDRA_KEYSPACE: benchStores.keyspace };
      case 'lake-sink':
        return {
          S3_BUCKET: benchStores.bucket,
          LAKE_SINK_IDLE_FLUSH_MS: String(this.opts.lakeFlushMs),
          ...(this.opts.lakeMaxRecords !== undefined ? { LAKE_SINK_MAX_RECORDS: String(this.opts.lakeMaxRecords) } : {}),
        };
      default:
        return {};
    }
  }

  private logsDir(stage?: string): string {
    return path.join(pipelineDir(), 'bench', this.runId, ...(stage ? [stage] : []));
  }

  private newPipeline(stage: string): Pipeline {
    const dir = this.logsDir(stage);
    this.pipeline = new Pipeline(dir, this.opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []);
    return this.pipeline;
  }

  async run() {
    await this.services.up(say);
    this.servicePids = servicePidsOf(await status());
    await this.admin.connect();
    this.cassandra = new CassandraClient({
      contactPoints: [this.e.cassandraContactPoints],
      protocolOptions: { port: this.e.cassandraPort },
      localDataCenter: this.e.cassandraLocalDc,
      socketOptions: { readTimeout: 60_000 },
    });
    await this.cassandra.connect();

    const recordSize = meanRawRecordBytes();
    const has = (stage: Stage) => this.opts.stages.includes(stage);
    const broker = has('broker') ? await this.brokerBaseline(recordSize) : undefined;
    const isolated = has('isolated') ? await this.isolatedStages() : undefined;
    const e2e = has('end-to-end') ? await this.endToEnd() : undefined;
    const latencyRate = e2e ? Math.max(1, Math.round(e2e.perSec / 2)) : undefined;
    const latency = latencyRate !== undefined && has('latency') ? await this.latency(latencyRate) : undefined;
    // A failed Flink run is reported, not fatal: the project's figures above are already measured.
    let flinkError: string | undefined;
    const flink = this.opts.flink
      ? await this.flink().catch((err: Error) => {
          flinkError = err.message;
          say(`flink failed, the project's figures stand: ${err.message}`);
          return undefined;
        })
      : undefined;

    const brokerConsume = broker?.consume.fetchRecordsPerSec;
    const rate = (n: number | undefined) => (n === undefined ? null : round(n));
    const share = (n: number | undefined) => (n === undefined || brokerConsume === undefined ? null : ratio(n, brokerConsume));
    return {
      brokerProducePerSec: rate(broker?.produce.recordsPerSec),
      brokerConsumePerSec: rate(brokerConsume),
      producerPerSec: rate(isolated?.producer),
      processorPerSec: rate(isolated?.processor),
      cassandraSinkPerSec: rate(isolated?.cassandraSink),
      lakeSinkPerSec: rate(isolated?.lakeSink),
      endToEndPerSec: rate(e2e?.perSec),
      p50Ms: latency?.total.p50 ?? null,
      p95Ms: latency?.total.p95 ?? null,
      p99Ms: latency?.total.p99 ?? null,
      ratioToBrokerConsume: {
        producer: share(isolated?.producer),
        processor: share(isolated?.processor),
        cassandraSink: share(isolated?.cassandraSink),
        lakeSink: share(isolated?.lakeSink),
        endToEnd: share(e2e?.perSec),
      },
      latency: {
        ratePerSec: latencyRate ?? null,
        seconds: this.opts.latencySeconds,
        warmupSeconds: this.opts.warmupSeconds,
        bySinkMs: latency?.bySink ?? null,
        method: "PromQL-style histogram_quantile over the sinks' sdp_end_to_end_latency_seconds; total = the slower sink",
      },
      cpuMicrosPerEvent: this.cpu,
      ...(flinkError !== undefined ? { flinkError } : {}),
      flink: flink ? flinkComparison(flink, { endToEndPerSec: e2e?.perSec, cpu: this.cpu.endToEnd }, brokerConsume) : null,
      settings: {
        stages: this.opts.stages,
        events: this.opts.events,
        recordBytes: recordSize,
        malformedShare: benchDefaults.malformed,
        devices: benchDefaults.devices,
        lakeFlushMs: this.opts.lakeFlushMs,
        lakeMaxRecords: this.opts.lakeMaxRecords ?? 'app default',
        tracesSampler: this.opts.sampler ?? 'app default (parentbased_always_on)',
        processorIdleFlushMs: Number(localRunEnv.processor.PROCESSOR_WINDOW_IDLE_FLUSH_MS),
        logs: this.logsDir(),
      },
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    };
  }

  private async brokerBaseline(recordSize: number) {
    const topic = 'sdp-bench.perf';
    const records = this.opts.events * 2;
    await this.admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await sleep(1_000);
    await this.admin.createTopics({
      topics: [{ topic, numPartitions: topics.raw.partitions, replicationFactor: kafkaDurability().replicationFactor }],
      waitForLeaders: true,
    });
    try {
      await this.quiet();
      say(`broker baseline: ProducerPerformance, ${records.toLocaleString('en-US')} records of ${recordSize} bytes, acks=all`);
      // The tool is a JVM this process starts and waits for, and nothing else it starts ends
      // meanwhile (no app runs yet): its CPU is this process's finished children's, exactly
      // (its JVM start-up included: a second or two of CPU, spread over millions of records).
      // The services are metered by pid beside it, so the bars show the broker's own CPU per
      // record with a JVM client. The 6x target's yardstick stays the broker's CPU per event in
      // the end-to-end run (report.ts), as the issue computes it; these bars put it in context.
      let meter = new CpuMeter(this.servicePids, 'ProducerPerformance');
      const produce = await producerPerformance({ bootstrap: this.e.kafkaBrokers, topic, records, recordSize });
      this.cpu.brokerProduce = perEvent(meter.stop(), produce.records);
      say(`  ${round(produce.recordsPerSec).toLocaleString('en-US')} records/s (${produce.mbPerSec} MB/s)`);
      say('broker baseline: ConsumerPerformance');
      meter = new CpuMeter(this.servicePids, 'ConsumerPerformance');
      const consume = await consumerPerformance({ bootstrap: this.e.kafkaBrokers, topic, records, group: `sdp-bench-perf-${this.runId}` });
      this.cpu.brokerConsume = perEvent(meter.stop(), consume.records);
      say(`  ${round(consume.fetchRecordsPerSec).toLocaleString('en-US')} records/s while fetching (${consume.fetchMbPerSec} MB/s)`);
      return { produce, consume };
    } finally {
      await this.admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await this.admin.deleteGroups([`sdp-bench-perf-${this.runId}`]).catch(() => undefined);
    }
  }

  private async reset(): Promise<void> {
    await resetTopics(this.admin);
    await resetStores(this.cassandra!, this.s3);
  }

  private producerEnv(events: number, rate: number, durationSeconds = 0): Record<string, string> {
    return {
      ...this.envOf('producer'),
      PRODUCER_EVENTS: String(events),
      PRODUCER_RATE: String(rate),
      PRODUCER_DURATION_SECONDS: String(durationSeconds),
      PRODUCER_DEVICES: String(benchDefaults.devices),
      PRODUCER_MALFORMED_RATIO: String(benchDefaults.malformed),
    };
  }

  /** Waits for the producer to exit after its report and returns it. */
  private async producerDone(p: Pipeline, meter?: CpuMeter) {
    for (;;) {
      meter?.sample();
      const report = p.producerReport();
      if (report && !p.supervisor.isRunning('producer')) return report;
      if (!report && !p.supervisor.isRunning('producer')) throw new Error(`producer failed:\n${p.supervisor.logTail('producer')}`);
      await sleep(200);
    }
  }

  private async isolatedStages() {
    say('isolated stages: resetting topics, groups, bench keyspace and bucket');
    await this.reset();
    const n = this.opts.events;

    let p = this.newPipeline('prefill');
    say(`pre-filling ${topics.raw.name} with ${n.toLocaleString('en-US')} events (producer alone, full speed)`);
    await this.quiet();
    await p.start('producer', this.producerEnv(n, 0), { waitReady: false });
    const meter = new CpuMeter(this.pids(p));
    const report = await this.producerDone(p, meter);
    const produced = report.valid + report.malformed;
    this.cpu.producer = perEvent(meter.stop(), produced);
    await p.supervisor.stopAll();
    say(`  producer: ${round(report.eventsPerSecond).toLocaleString('en-US')} events/s`);

    p = this.newPipeline('processor');
    say('processor alone: draining the raw topic');
    await this.quiet();
    await p.start('processor', this.envOf('processor'));
    const proc = await timeDrain(p, {
      label: 'processor',
      meter: () => this.pids(p),
      started: (c) => c.processed > 0,
      finished: (c) => c.clean + c.dlq,
      done: (c) => c.clean + c.dlq >= produced,
    });
    say(`  processor: ${round(proc.perSec).toLocaleString('en-US')} events/s (${proc.seconds.toFixed(1)} s)`);
    this.recordCpu('processor', proc, produced);
    // The last windows close after the idle flush; the cassandra stage needs all aggregates.
    const closed = await this.waitFor(p, (c) => c.openWindows === 0, 60_000);
    const aggregates = closed.aggregates;
    await p.supervisor.stopAll();

    p = this.newPipeline('cassandra-sink');
    say(`cassandra-sink alone: ${report.valid.toLocaleString('en-US')} readings + ${aggregates.toLocaleString('en-US')} aggregates`);
    await this.quiet();
    await p.start('cassandra-sink', this.envOf('cassandra-sink'));
    const cass = await timeDrain(p, {
      label: 'cassandra-sink',
      meter: () => this.pids(p),
      started: (c) => c.consumed['cassandra-sink'] > 0,
      finished: (c) => c.cassandraRows + c.cassandraAggregates,
      done: (c) => c.cassandraRows >= report.valid && c.cassandraAggregates >= aggregates,
    });
    say(`  cassandra-sink: ${round(cass.perSec).toLocaleString('en-US')} rows/s (${cass.seconds.toFixed(1)} s)`);
    this.recordCpu('cassandraSink', cass, report.valid + aggregates);
    await p.supervisor.stopAll();

    p = this.newPipeline('lake-sink');
    say(`lake-sink alone: ${report.valid.toLocaleString('en-US')} readings`);
    await this.quiet();
    await p.start('lake-sink', this.envOf('lake-sink'));
    const lake = await timeDrain(p, {
      label: 'lake-sink',
      meter: () => this.pids(p),
      started: (c) => c.consumed['lake-sink'] > 0,
      finished: (c) => c.lakeRecords,
      done: (c) => c.lakeRecords >= report.valid,
    });
    say(
      `  lake-sink: ${round(lake.perSec).toLocaleString('en-US')} readings/s (${lake.seconds.toFixed(1)} s, includes the last ${this.opts.lakeFlushMs} ms flush wait)`,
    );
    this.recordCpu('lakeSink', lake, report.valid);
    await p.supervisor.stopAll();
    return { producer: report.eventsPerSecond, processor: proc.perSec, cassandraSink: cass.perSec, lakeSink: lake.perSec };
  }

  /** All apps up, then the producer at full speed: events per second until the last one is in both stores. */
  private async endToEnd() {
    say('end to end at full speed: resetting, then all apps running');
    await this.reset();
    const p = this.newPipeline('end-to-end');
    await Promise.all(consumerApps.map((app) => p.start(app, this.envOf(app))));
    await this.quiet();
    const n = this.opts.events;
    await p.start('producer', this.producerEnv(n, 0), { waitReady: false });
    const t = await timeDrain(p, {
      label: 'end-to-end',
      meter: () => this.pids(p),
      started: () => p.producerStartedAt() !== undefined,
      since: () => p.producerStartedAt(),
      finished: (c) => Math.min(c.cassandraRows, c.lakeRecords),
      done: (c) => {
        const r = p.producerReport();
        return r !== undefined && c.cassandraRows >= r.valid && c.lakeRecords >= r.valid && c.dlq >= r.malformed;
      },
    });
    const report = p.producerReport()!;
    const produced = report.valid + report.malformed;
    const perSec = produced / t.seconds;
    this.recordCpu('endToEnd', t, produced);
    say(
      `  end to end: ${round(perSec).toLocaleString('en-US')} events/s (${produced.toLocaleString('en-US')} events in ${t.seconds.toFixed(1)} s; producer ${round(report.eventsPerSecond).toLocaleString('en-US')}/s)`,
    );
    await p.supervisor.stopAll();
    return { perSec };
  }

  /** All apps up, the producer at a fixed rate; latency quantiles after a warm-up. */
  private async latency(rate: number): Promise<{ total: Quantiles; bySink: { cassandra: Quantiles; lake: Quantiles } }> {
    say(
      `latency: ${rate.toLocaleString('en-US')} events/s for ${this.opts.latencySeconds} s (50% of the end-to-end maximum), after a ${this.opts.warmupSeconds} s warm-up`,
    );
    await this.reset();
    const p = this.newPipeline('latency');
    await Promise.all(consumerApps.map((app) => p.start(app, this.envOf(app))));
    await this.quiet();
    await p.start('producer', this.producerEnv(0, rate, this.opts.warmupSeconds + this.opts.latencySeconds), { waitReady: false });
    while (p.producerStartedAt() === undefined) await sleep(100);
    await sleep(this.opts.warmupSeconds * 1000);
    const warm = await p.counters();
    const report = await this.producerDone(p);
    const end = await this.waitFor(p, (c) => c.cassandraRows >= report.valid && c.lakeRecords >= report.valid, 120_000);
    const c = countersSince(end, warm);
    const bySink = { cassandra: quantilesMs(c.latency.cassandra), lake: quantilesMs(c.latency.lake) };
    const total = endToEndQuantiles(bySink);
    say(`  latency: p50 ${total.p50} ms, p95 ${total.p95} ms, p99 ${total.p99} ms (cassandra p95 ${bySink.cassandra.p95} ms, lake p95 ${bySink.lake.p95} ms)`);
    await p.supervisor.stopAll();
    return { total, bySink };
  }

  private flink() {
    return flinkStage(
      {
        admin: this.admin,
        cassandra: this.cassandra!,
        s3: this.s3,
        events: this.opts.events,
        servicePids: this.servicePids,
        logsDir: this.logsDir('flink'),
        reset: () => this.reset(),
        quiet: () => this.quiet(),
        producerEnv: (events) => this.producerEnv(events, 0),
        perEvent,
      },
      say,
    );
  }

  private async waitFor(p: Pipeline, cond: (c: PipelineCounters) => boolean, timeoutMs: number): Promise<PipelineCounters> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await p.counters();
      if (cond(c)) return c;
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs / 1000} s waiting for the pipeline (counters ${JSON.stringify({ ...c, latency: undefined })})`);
      await sleep(250);
    }
  }

  async cleanup(): Promise<void> {
    await this.pipeline?.supervisor.stopAll();
    await this.admin.disconnect().catch(() => undefined);
    await this.cassandra?.shutdown().catch(() => undefined);
    this.s3.destroy();
    const stopped = await this.services.down();
    if (stopped.length > 0) say(`stopped the services this run started: ${stopped.join(', ')}`);
  }
}

/** CPU-microseconds per event by process, plus the total and the machine's busy share. */
function perEvent(cpu: CpuReport, events: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [name, seconds] of Object.entries(cpu.seconds)) {
    out[name] = Math.round(((seconds * 1e6) / events) * 10) / 10;
    total += seconds;
  }
  out.total = Math.round(((total * 1e6) / events) * 10) / 10;
  if (cpu.machineBusyShare !== undefined) out.machineBusyPercent = Math.round(cpu.machineBusyShare * 100);
  return out;
}

function table(r: BenchResult & { readonly verdicts: readonly TargetVerdict[] }): string {
  const ratios = r.ratioToBrokerConsume;
  const row = (name: string, value: unknown, unit: string, share?: number | null) =>
    `  ${name.padEnd(24)}${(typeof value === 'number' ? value.toLocaleString('en-US') : 'skipped').padStart(12)} ${unit.padEnd(9)}${share != null ? `${(share * 100).toFixed(1)}% of broker consume` : ''}`;
  return [
    '',
    'Benchmark (events/s unless noted)',
    row('broker produce (Java)', r.brokerProducePerSec, 'rec/s'),
    row('broker consume (Java)', r.brokerConsumePerSec, 'rec/s'),
    row('producer', r.producerPerSec, 'events/s', ratios.producer),
    row('processor', r.processorPerSec, 'events/s', ratios.processor),
    row('cassandra-sink', r.cassandraSinkPerSec, 'rows/s', ratios.cassandraSink),
    row('lake-sink', r.lakeSinkPerSec, 'rows/s', ratios.lakeSink),
    row('end to end', r.endToEndPerSec, 'events/s', ratios.endToEnd),
    row('latency p50', r.p50Ms, 'ms'),
    row('latency p95', r.p95Ms, 'ms'),
    row('latency p99', r.p99Ms, 'ms'),
    ...(r.latency.bySinkMs
      ? (['cassandra', 'lake'] as const).map((store) => {
          const q = r.latency.bySinkMs![store];
          return `  ${`latency ${store}`.padEnd(24)}${`${q.p50} / ${q.p95} / ${q.p99}`.padStart(22)} ms p50 / p95 / p99 (${q.count.toLocaleString('en-US')} readings)`;
        })
      : []),
    ...(r.flink ? [row('flink end to end', r.flink.endToEndPerSec, 'events/s', r.flink.ratioToBrokerConsume)] : []),
    '',
    'Targets (ratios to yardsticks of this run)',
    ...verdictLines(r.verdicts),
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const opts = parseBenchArgs(process.argv.slice(2));
  const bench = new Bench(opts);
  let stopping = false;
  let stoppingAt = 0;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // One Ctrl-C arrives several times at once (process group, npm and tsx forwarding it).
      if (stopping && Date.now() - stoppingAt < 1_000) return;
      if (stopping) process.exit(130);
      stopping = true;
      stoppingAt = Date.now();
      say(`${signal}: stopping the apps and the services this run started...`);
      void bench.cleanup().finally(() => process.exit(130));
    });
  }
  try {
    const measured = await bench.run();
    process.stdout.write(table({ ...measured, verdicts: verdicts(measured) }));
    // A report that cannot be drawn must not cost the run's figures: say why and go on.
    const report = await writeBenchReport(measured, measured.settings.logs, `npm run bench, ${new Date().toISOString().slice(0, 16)}Z`).catch((err: Error) => {
      say(`could not write the report: ${err.stack ?? err}`);
      return null;
    });
    if (report) say(`report: ${report.html} (picture: ${report.svg})`);
    const result = { ...measured, verdicts: verdicts(measured), report };
    await bench.cleanup();
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    if (stopping) return new Promise<number>(() => undefined);
    say(`failed: ${(err as Error).stack ?? err}`);
    await bench.cleanup();
    return 1;
  }
}

if (require.main === module) {
  main().then((code) => process.exit(code));
}
