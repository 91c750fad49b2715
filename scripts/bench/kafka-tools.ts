/**
 * The broker baseline: Kafka's own perf tools (`ProducerPerformance`, `ConsumerPerformance`) from
 * the broker's jars, run against the same local broker, so every pipeline figure can be read as a
 * share of what a JVM client gets from this machine.
 */
import { spawn } from 'child_process';
import { javaBinary, kafkaClasspath } from '../local/local-services';

export interface ToolRun {
  readonly code: number | null;
  readonly output: string;
}

function runJava(mainClass: string, args: readonly string[]): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    // A small heap: the tools share two cores and the memory with the broker they measure.
    const child = spawn(javaBinary(), ['-Xmx512m', '-cp', kafkaClasspath(), mainClass, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

export interface ProducerPerfResult {
  readonly records: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  readonly avgLatencyMs: number;
  readonly p99LatencyMs: number;
}

/**
 * Parses ProducerPerformance's final line:
 * `1000000 records sent, 345542.5 records/sec (72.50 MB/sec), 312.27 ms avg latency, 681.00 ms max latency, 302 ms 50th, 600 ms 95th, 650 ms 99th, 680 ms 99.9th.`
 */
export function parseProducerPerformance(output: string): ProducerPerfResult {
  const m =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, [\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, (\d+) ms 99th/.exec(
      output,
    );
  if (!m) throw new Error(`ProducerPerformance printed no final summary line:\n${output.slice(-2000)}`);
  return { records: Number(m[1]), recordsPerSec: Number(m[2]), mbPerSec: Number(m[3]), avgLatencyMs: Number(m[4]), p99LatencyMs: Number(m[5]) };
}

export interface ConsumerPerfResult {
  readonly records: number;
  /** Over the whole run, including the group join. */
  readonly recordsPerSec: number;
  /** Over the fetch time only (what the consumer sustains once it is in its group). */
  readonly fetchRecordsPerSec: number;
  readonly fetchMbPerSec: number;
}

/**
 * Parses ConsumerPerformance's CSV-like report: a header line starting with `start.time` and the
 * values on the next line.
 */
export function parseConsumerPerformance(output: string): ConsumerPerfResult {
  const lines = output.split('\n').map((l) => l.trim());
  const h = lines.findIndex((l) => l.startsWith('start.time'));
  if (h < 0 || !lines[h + 1]) throw new Error(`ConsumerPerformance printed no report:\n${output.slice(-2000)}`);
  const keys = lines[h].split(',').map((k) => k.trim());
  const values = lines[h + 1].split(',').map((v) => v.trim());
  const get = (key: string) => {
    const i = keys.indexOf(key);
    if (i < 0 || values[i] === undefined) throw new Error(`ConsumerPerformance report has no ${key}:\n${lines[h]}\n${lines[h + 1]}`);
    return Number(values[i]);
  };
  return {
    records: get('data.consumed.in.nMsg'),
    recordsPerSec: get('nMsg.sec'),
    fetchRecordsPerSec: get('fetch.nMsg.sec'),
    fetchMbPerSec: get('fetch.MB.sec'),
  };
}

export interface BrokerBaselineOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly records: number;
  /** Bytes per record: the pipeline's mean raw record size, so both move the same bytes. */
  readonly recordSize: number;
}

/** acks=all like the apps; everything else is the Java client's defaults. */
export async function producerPerformance(o: BrokerBaselineOptions): Promise<ProducerPerfResult> {
  const run = await runJava('org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    o.topic,
    '--num-records',
    String(o.records),
    '--record-size',
    String(o.recordSize),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${o.bootstrap}`,
    'acks=all',
  ]);
  if (run.code !== 0) throw new Error(`ProducerPerformance exited with ${run.code}:\n${run.output.slice(-2000)}`);
  return parseProducerPerformance(run.output);
}

export async function consumerPerformance(o: Omit<BrokerBaselineOptions, 'recordSize'> & { readonly group: string }): Promise<ConsumerPerfResult> {
  const run = await runJava('org.apache.kafka.tools.ConsumerPerformance', [
    '--bootstrap-server',
    o.bootstrap,
    '--topic',
    o.topic,
    '--messages',
    String(o.records),
    '--group',
    o.group,
    '--timeout',
    '30000',
  ]);
  if (run.code !== 0) throw new Error(`ConsumerPerformance exited with ${run.code}:\n${run.output.slice(-2000)}`);
  return parseConsumerPerformance(run.output);
}
