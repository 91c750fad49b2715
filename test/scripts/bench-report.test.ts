import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BenchResult, servicePidsOf } from '../../scripts/bench/bench';
import type { ServiceStatus } from '../../scripts/local/local-services';
import { flinkComparison, FlinkStageResult } from '../../scripts/bench/flink';
import { appsCpuToBroker, benchReportSpec, verdicts, writeBenchReport } from '../../scripts/bench/report';

const q = (p50: number, p95: number, p99: number) => ({ p50, p95, p99, count: 1_000 });

/** A whole run's result, typed as bench.ts returns it, so a field it renames fails to compile here. */
function result(over: Partial<BenchResult> = {}): BenchResult {
  return {
    brokerProducePerSec: 200_000,
    brokerConsumePerSec: 1_000_000,
    producerPerSec: 100_000,
    processorPerSec: 60_000,
    cassandraSinkPerSec: 45_000,
    lakeSinkPerSec: 30_000,
    endToEndPerSec: 20_000,
    p50Ms: 900,
    p95Ms: 3_000,
    p99Ms: 4_000,
    ratioToBrokerConsume: { producer: 0.1, processor: 0.06, cassandraSink: 0.045, lakeSink: 0.03, endToEnd: 0.02 },
    latency: {
      ratePerSec: 10_000,
      seconds: 60,
      warmupSeconds: 10,
      bySinkMs: { cassandra: q(200, 1_200, 1_500), lake: q(900, 3_000, 4_000) },
      method: 'test',
    },
    cpuMicrosPerEvent: {
      brokerProduce: { ProducerPerformance: 3, kafka: 2, cassandra: 0.5, total: 5.5 },
      brokerConsume: { ConsumerPerformance: 1, kafka: 0.5, total: 1.5 },
      processor: { processor: 20, kafka: 5, total: 25, machineBusyPercent: 90 },
      endToEnd: { producer: 10, processor: 20, 'cassandra-sink': 15, 'lake-sink': 10, alerts: 5, kafka: 8, 'kafka-2': 2, cassandra: 30, total: 100 },
    },
    flink: null,
    settings: {
      stages: ['broker', 'isolated', 'end-to-end', 'latency'],
      events: 10_000,
      recordBytes: 158,
      malformedShare: 0.01,
      devices: 1_000,
      lakeFlushMs: 2_000,
      lakeMaxRecords: 'app default',
      tracesSampler: 'app default',
      processorIdleFlushMs: 2_000,
      logs: '/tmp',
    },
    machine: { cpus: 2, cpuModel: 'test', memGiB: 24, node: process.version },
    ...over,
  };
}

/** Flink's part as bench.ts builds it, from a stage result typed as flink.ts returns it. */
function flink(brokerConsumePerSec: number): NonNullable<BenchResult['flink']> {
  const stage: FlinkStageResult = {
    events: 10_000,
    valid: 9_900,
    rejected: 100,
    aggregates: 50,
    seconds: 0.5,
    perSec: 30_000,
    cpuMicrosPerEvent: { flink: 40, kafka: 6, total: 46 },
    stored: { cassandraReadingRows: 9_900, parquetObjects: 3 },
    settings: {},
  };
  return flinkComparison(stage, { endToEndPerSec: 20_000, cpu: result().cpuMicrosPerEvent.endToEnd }, brokerConsumePerSec);
}

/** Opened and closed elements pair up, innermost first (what a browser's XML parser needs). */
function nestingErrors(svg: string): string[] {
  const open: string[] = [];
  const errors: string[] = [];
  for (const [tag, close, name] of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*>/g)) {
    if (tag.endsWith('/>')) continue;
    if (!close) open.push(name);
    else if (open.pop() !== name) errors.push(tag);
  }
  return [...errors, ...open.map((n) => `<${n}> not closed`)];
}

const byTarget = (r: BenchResult) => Object.fromEntries(verdicts(r).map((v) => [v.target, [v.value, v.verdict]]));

describe('verdicts', () => {
  test("the apps' CPU is every Node process over every broker node of the same stage", () => {
    // (10 + 20 + 15 + 10 + 5) / (8 + 2): Cassandra and the total are neither.
    expect(appsCpuToBroker(result().cpuMicrosPerEvent.endToEnd)).toBe(6);
    expect(appsCpuToBroker({ processor: 10 })).toBeNull();
    expect(appsCpuToBroker(undefined)).toBeNull();
  });

  test('every Kafka node is metered under a name the broker sum counts, so a three-node cluster is not one node', () => {
    const proc = (title: string, pid?: number) => ({ title, ...(pid !== undefined ? { pid } : {}), ready: true, ports: [], logFile: '/tmp/x.log' });
    const services: ServiceStatus[] = [
      { name: 'kafka', ...proc('kafka cluster', 11), kafkaNodes: 3, nodes: [proc('node 1', 11), proc('node 2', 12), proc('node 3', 13)] },
      { name: 'cassandra', ...proc('cassandra', 20) },
      { name: 's3', ...proc('MinIO') },
    ];
    const pids = servicePidsOf(services);
    expect(pids).toEqual({ kafka: 11, 'kafka-2': 12, 'kafka-3': 13, cassandra: 20 });
    const cpu = { processor: 60, ...Object.fromEntries(Object.keys(pids).map((k) => [k, k === 'cassandra' ? 100 : 5])) };
    expect(appsCpuToBroker(cpu)).toBe(4);
  });

  test('each target judged from the same run, at its limit included where the issue says "at most" or "at least"', () => {
    expect(byTarget(result())).toEqual({
      "Node apps' CPU per event end to end, × the broker's": [6, 'met'],
      'end to end, share of broker consume': [0.02, 'met'],
      'processor alone, share of broker consume': [0.06, 'met'],
      'cassandra-sink alone, share of broker consume': [0.045, 'met'],
      'lake-sink alone, share of broker consume': [0.03, 'missed'],
      'Cassandra p95 at 50% load, ms': [1_200, 'met'],
      'lake p95 at 50% load, ms': [3_000, 'met'],
      'Cassandra p95 at 50% load, its own target, ms': [1_200, 'missed'],
    });
  });

  test('at the limits: "at most" and "at least" include them, "under" does not', () => {
    const r = result({
      ratioToBrokerConsume: { producer: 0.1, processor: 0.05, cassandraSink: 0.04, lakeSink: 0.04, endToEnd: 0.017 },
      latency: { ...result().latency, bySinkMs: { cassandra: q(1, 1_000, 2_000), lake: q(1, 5_000, 6_000) } },
    });
    expect(verdicts(r).map((v) => v.verdict)).toEqual(['met', 'met', 'met', 'met', 'met', 'met', 'missed', 'missed']);
  });

  test('a stage that did not run, or a histogram without data (NaN), is not measured rather than met or missed', () => {
    const r = result({
      ratioToBrokerConsume: { producer: null, processor: null, cassandraSink: null, lakeSink: null, endToEnd: null },
      latency: { ...result().latency, bySinkMs: { cassandra: q(NaN, NaN, NaN), lake: q(1, 2, 3) } },
      cpuMicrosPerEvent: {},
      p95Ms: null,
    });
    const v = byTarget(r);
    expect(Object.values(v).filter(([, verdict]) => verdict === 'not measured')).toHaveLength(7);
    expect(v['lake p95 at 50% load, ms']).toEqual([2, 'met']);
  });
});

describe('benchReportSpec', () => {
  test('throughput against the broker with targets, CPU stacked per run and process, latency per store', () => {
    const spec = benchReportSpec(result({ flink: flink(1_000_000) })) as any;
    const [throughput, cpu, latency] = spec.vconcat;
    expect(throughput.data.values.map((x: any) => [x.stage, x.share, x.target])).toEqual([
      ['producer', 0.1, undefined],
      ['processor', 0.06, 0.05],
      ['cassandra-sink', 0.045, 0.04],
      ['lake-sink', 0.03, 0.04],
      ['end to end', 0.02, 0.017],
      ['Flink end to end', 0.03, undefined],
    ]);
    expect(cpu.encoding.x.aggregate).toBe('sum');
    expect([...new Set(cpu.data.values.map((x: any) => x.run))]).toEqual([
      'Kafka ProducerPerformance',
      'Kafka ConsumerPerformance',
      'processor alone',
      'end to end',
      'Flink end to end',
    ]);
    expect(cpu.data.values.filter((x: any) => x.run === 'end to end').map((x: any) => x.process)).toEqual([
      'producer',
      'processor',
      'cassandra-sink',
      'lake-sink',
      'alerts',
      'kafka',
      'kafka-2',
      'cassandra',
    ]);
    expect(latency.data.values).toContainEqual({ store: 'cassandra', quantile: 'p95', ms: 1_200 });
    expect(latency.data.values).toHaveLength(6);
    // The 5 s rule across both stores, and Cassandra's own 1 s at its store only.
    expect(latency.layer.filter((l: any) => l.data).map((l: any) => l.data.values)).toEqual([[{ ms: 5_000 }], [{ store: 'cassandra', ms: 1_000 }]]);
  });

  test('a run with only some stages draws only what it measured', () => {
    const r = result({
      ratioToBrokerConsume: { producer: null, processor: 0.06, cassandraSink: null, lakeSink: null, endToEnd: null },
      latency: { ...result().latency, bySinkMs: null },
      cpuMicrosPerEvent: {},
    });
    const [throughput, cpu, latency] = (benchReportSpec(r) as any).vconcat;
    expect(throughput.data.values).toEqual([{ stage: 'processor', share: 0.06, target: 0.05 }]);
    expect(cpu.data.values).toEqual([]);
    expect(latency.data.values).toEqual([]);
  });
});

describe('writeBenchReport', () => {
  test('an SVG drawn by vega and an HTML page with it inline, the verdicts, and no script', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-report-'));
    const files = await writeBenchReport(result({ flink: flink(1_000_000) }), dir, 'a <test> run');
    const svg = fs.readFileSync(files.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(nestingErrors(svg)).toEqual([]);
    const texts = new Set([...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]));
    const labels = [
      'producer',
      'processor',
      'cassandra-sink',
      'lake-sink',
      'end to end',
      'Flink end to end',
      'Kafka ConsumerPerformance',
      'cassandra',
      'lake',
      'p95',
    ];
    expect(labels.filter((l) => !texts.has(l))).toEqual([]);
    const html = fs.readFileSync(files.html, 'utf8');
    expect(html).toContain('<title>a &lt;test&gt; run</title>');
    expect(html).toContain('<td class="missed">missed</td>');
    expect(html).toContain(svg.slice(0, 200));
    expect(html).not.toMatch(/<script/i);
  }, 60_000);
});
