/**
 * What each Kafka mode costs on this machine, for the figures in the README ("Kafka as a 3-node
 * cluster"): time to ready (first start, which formats storage, and a restart), resident memory,
 * idle CPU, and the brokers' CPU under a fixed load (Kafka's ProducerPerformance at a fixed rate,
 * acks=all, to a topic with the mode's RF and min ISR, after a warm-up run), plus the producer's
 * rate flat out. The cluster's figures are stated as ratios to the single node's of the same run.
 *
 *   flock /tmp/sdp-services.lock npx tsx scripts/local/local-services/measure.ts [--idle-s 30] [--records 100000] [--rate 5000]
 *
 * Kafka only, in a fresh data dir of its own (deleted afterwards); it needs Kafka's fixed ports free.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { Kafka, logLevel } from 'kafkajs';
import * as os from 'os';
import * as path from 'path';
import { parseProducerPerformance, ProducerPerfResult } from '../../bench/kafka-tools';
import { sleep } from '../launcher';
import { endpoints, javaBinary, kafkaClasspath, kafkaDurability, KafkaNodeCount, start, status, stop } from '../local-services';
import { run } from './install';

interface Options {
  readonly idleSeconds: number;
  readonly records: number;
  readonly rate: number;
  readonly recordSize: number;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string, fallback: number) => {
    const i = argv.indexOf(flag);
    if (i < 0) return fallback;
    const n = Number(argv[i + 1]);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number; got '${argv[i + 1] ?? ''}'`);
    return n;
  };
  return { idleSeconds: value('--idle-s', 30), records: value('--records', 100_000), rate: value('--rate', 5_000), recordSize: value('--record-size', 256) };
}

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** utime + stime of a process, in seconds (all its threads: a JVM is one process). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb ? Number(kb[1]) / 1024 : 0;
}

async function brokerPids(): Promise<number[]> {
  const kafka = (await status()).find((s) => s.name === 'kafka');
  const pids = (kafka?.nodes ?? []).map((n) => n.pid);
  if (pids.length === 0 || pids.some((p) => p === undefined)) throw new Error('a Kafka node is not running');
  return pids as number[];
}

const totalCpu = (pids: readonly number[]) => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
const totalRss = (pids: readonly number[]) => pids.reduce((sum, pid) => sum + rssMiB(pid), 0);

/** Broker CPU while `fn` runs, as a share of one core. */
async function brokerCpuDuring<T>(pids: readonly number[], fn: () => Promise<T>): Promise<{ result: T; cpuSeconds: number; coreShare: number }> {
  const cpu0 = totalCpu(pids);
  const t0 = Date.now();
  const result = await fn();
  const cpu = totalCpu(pids) - cpu0;
  return { result, cpuSeconds: cpu, coreShare: cpu / ((Date.now() - t0) / 1000) };
}

async function producerPerformance(topic: string, records: number, rate: number, recordSize: number): Promise<ProducerPerfResult> {
  const args = ['-Xmx512m', '-cp', kafkaClasspath(), 'org.apache.kafka.tools.ProducerPerformance'];
  args.push('--topic', topic, '--num-records', String(records), '--record-size', String(recordSize), '--throughput', String(rate));
  args.push('--producer-props', `bootstrap.servers=${endpoints().kafkaBrokers}`, 'acks=all');
  const result = await run(javaBinary(), args);
  if (result.code !== 0) throw new Error(`ProducerPerformance exited with ${result.code}:\n${result.output.slice(-2000)}`);
  return parseProducerPerformance(result.output);
}

interface ModeCost {
  readonly nodes: KafkaNodeCount;
  readonly firstStartS: number;
  readonly restartS: number;
  readonly rssIdleMiB: number;
  readonly idleCpuCore: number;
  readonly loadCpuCore: number;
  readonly loadCpuSecondsPer100k: number;
  readonly loadRecordsPerSec: number;
  readonly loadAvgLatencyMs: number;
  readonly flatOutRecordsPerSec: number;
  readonly flatOutCpuCore: number;
  readonly rssLoadedMiB: number;
}

async function measureMode(nodes: KafkaNodeCount, o: Options): Promise<ModeCost> {
  const timedStart = async () => {
    const t0 = Date.now();
    await start(['kafka'], { kafkaNodes: nodes });
    return (Date.now() - t0) / 1000;
  };
  const firstStartS = await timedStart();
  await stop(['kafka']);
  const restartS = await timedStart();
  const pids = await brokerPids();
  // Start-up work (class loading, JIT, the first metadata snapshot) is not what idling costs.
  await sleep(10_000);
  const idle = await brokerCpuDuring(pids, () => sleep(o.idleSeconds * 1000));
  const rssIdleMiB = totalRss(pids);

  const topic = `measure-kafka-modes-${nodes}`;
  const { replicationFactor, minInsyncReplicas } = kafkaDurability(nodes);
  const admin = new Kafka({ clientId: 'measure-kafka-modes', brokers: [...endpoints().kafkaBrokerList], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: false,
      topics: [{ topic, numPartitions: 6, replicationFactor, configEntries: [{ name: 'min.insync.replicas', value: String(minInsyncReplicas) }] }],
    });
  } finally {
    await admin.disconnect();
  }
  // Leaders settle on every broker, and a first run warms the brokers' JIT, before the measured runs.
  await sleep(3_000);
  await producerPerformance(topic, o.records, -1, o.recordSize);
  const load = await brokerCpuDuring(pids, () => producerPerformance(topic, o.records, o.rate, o.recordSize));
  const flatOut = await brokerCpuDuring(pids, () => producerPerformance(topic, o.records * 3, -1, o.recordSize));
  const rssLoadedMiB = totalRss(pids);
  await stop(['kafka']);
  return {
    nodes,
    firstStartS,
    restartS,
    rssIdleMiB,
    idleCpuCore: idle.coreShare,
    loadCpuCore: load.coreShare,
    loadCpuSecondsPer100k: (load.cpuSeconds / load.result.records) * 100_000,
    loadRecordsPerSec: load.result.recordsPerSec,
    loadAvgLatencyMs: load.result.avgLatencyMs,
    flatOutRecordsPerSec: flatOut.result.recordsPerSec,
    flatOutCpuCore: flatOut.coreShare,
    rssLoadedMiB,
  };
}

function report(single: ModeCost, cluster: ModeCost, o: Options): string {
  const rows: [string, (c: ModeCost) => number, number][] = [
    ['time to ready, first start (formats storage), s', (c) => c.firstStartS, 1],
    ['time to ready, restart, s', (c) => c.restartS, 1],
    ['resident memory idle, MiB (all nodes)', (c) => c.rssIdleMiB, 0],
    ['resident memory after the load, MiB', (c) => c.rssLoadedMiB, 0],
    ['idle CPU, % of one core (all nodes)', (c) => c.idleCpuCore * 100, 1],
    [`broker CPU at ${o.rate} rec/s acks=all, % of one core`, (c) => c.loadCpuCore * 100, 1],
    ['broker CPU-seconds per 100k records at that rate', (c) => c.loadCpuSecondsPer100k, 2],
    ['producer avg latency at that rate, ms', (c) => c.loadAvgLatencyMs, 1],
    ['producer flat out acks=all, records/s', (c) => c.flatOutRecordsPerSec, 0],
    ['broker CPU flat out, % of one core', (c) => c.flatOutCpuCore * 100, 0],
  ];
  const lines = rows.map(([name, get, digits]) => {
    const [a, b] = [get(single), get(cluster)];
    return `| ${name} | ${a.toFixed(digits)} | ${b.toFixed(digits)} | ${a > 0 ? `${(b / a).toFixed(2)}x` : 'n/a'} |`;
  });
  return [
    `${os.cpus().length} cores; ${o.records} records of ${o.recordSize} B at ${o.rate}/s, then ${o.records * 3} flat out; idle window ${o.idleSeconds} s`,
    '| | 1 node | 3 nodes | 3 / 1 |',
    '|---|---:|---:|---:|',
    ...lines,
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<void> {
  const options = parseOptions(argv);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdp-kafka-modes-'));
  process.env.LOCAL_SERVICES_DIR = dir;
  try {
    const single = await measureMode(1, options);
    const cluster = await measureMode(3, options);
    process.stdout.write(`${report(single, cluster, options)}\n`);
  } finally {
    await stop(['kafka']);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`[measure] ${err.message}\n`);
    process.exit(1);
  },
);
