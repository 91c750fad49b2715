/**
 * What `npm run bench` concludes and draws from its result: the verdict on each target of the
 * performance issue, every one a ratio to a yardstick measured in the same run (the machine is
 * shared: absolute rates and CPU per event moved 2.3x between days, the ratios did not), and a
 * self-contained report (`report.svg`, and `report.html` with the SVG inline and the verdicts).
 * `verdicts` and `benchReportSpec` are pure and unit-tested; `writeBenchReport` renders with
 * vega-lite and vega like the `npm start` chart (../local/start/chart.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { TopLevelSpec } from 'vega-lite/build/index';
import type { BenchResult, CpuRun } from './bench';
import { renderSvg } from '../local/start/chart';
import { appNames } from '../local/start/counters';

/** Keys of a CPU-per-event record that are not processes. */
const NOT_PROCESSES = new Set(['total', 'machineBusyPercent']);

export type Verdict = 'met' | 'missed' | 'not measured';

export interface TargetVerdict {
  readonly target: string;
  /** The measured figure, in the target's unit (a ratio, or ms). */
  readonly value: number | null;
  readonly limit: number;
  readonly comparison: '<=' | '>=' | '<';
  readonly verdict: Verdict;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * The Node apps' CPU per event end to end (every app of the catalog, the producer included) over
 * the Kafka broker's (every node) in the same run. The broker's figure from the end-to-end run is
 * the yardstick because it is the issue's: (24.5+21.2+22.5+12.6)/7.0, with 7.0 µs the broker's CPU
 * per event while the pipeline runs (each event crosses it several times). The baseline's
 * per-record figures with Kafka's own tools are in the report's CPU chart beside it.
 */
export function appsCpuToBroker(cpu: Readonly<Record<string, number>> | undefined): number | null {
  if (!cpu) return null;
  const apps = appNames.reduce((sum, a) => sum + (cpu[a] ?? 0), 0);
  const broker = Object.entries(cpu)
    .filter(([name]) => name === 'kafka' || name.startsWith('kafka-'))
    .reduce((sum, [, v]) => sum + v, 0);
  return apps > 0 && broker > 0 ? round3(apps / broker) : null;
}

/** The targets, each judged from the same run's figures. */
export function verdicts(r: BenchResult): TargetVerdict[] {
  const judge = (target: string, value: number | null | undefined, comparison: TargetVerdict['comparison'], limit: number): TargetVerdict => {
    const v = typeof value === 'number' && Number.isFinite(value) ? value : null;
    const ok = v === null ? undefined : comparison === '>=' ? v >= limit : comparison === '<=' ? v <= limit : v < limit;
    return { target, value: v, limit, comparison, verdict: ok === undefined ? 'not measured' : ok ? 'met' : 'missed' };
  };
  const s = r.ratioToBrokerConsume;
  const bySink = r.latency.bySinkMs;
  return [
    judge("Node apps' CPU per event end to end, × the broker's", appsCpuToBroker(r.cpuMicrosPerEvent.endToEnd), '<=', 6),
    judge('end to end, share of broker consume', s.endToEnd, '>=', 0.017),
    judge('processor alone, share of broker consume', s.processor, '>=', 0.05),
    judge('cassandra-sink alone, share of broker consume', s.cassandraSink, '>=', 0.04),
    judge('lake-sink alone, share of broker consume', s.lakeSink, '>=', 0.04),
    judge('Cassandra p95 at 50% load, ms', bySink?.cassandra.p95, '<', 5_000),
    judge('lake p95 at 50% load, ms', bySink?.lake.p95, '<', 5_000),
    judge('Cassandra p95 at 50% load, its own target, ms', bySink?.cassandra.p95, '<', 1_000),
  ];
}

export function verdictLines(vs: readonly TargetVerdict[]): string[] {
  return vs.map(
    (v) =>
      `  ${v.verdict === 'met' ? 'met   ' : v.verdict === 'missed' ? 'MISSED' : '  -   '} ${v.target}: ${v.value ?? 'not measured'} (target ${v.comparison} ${v.limit})`,
  );
}

/** Stage label, its share of the broker's consume rate, and its target share where the issue sets one. */
function throughputRows(r: BenchResult): { stage: string; share: number; target?: number }[] {
  const s = r.ratioToBrokerConsume;
  const rows: { stage: string; share: number | null | undefined; target?: number }[] = [
    { stage: 'producer', share: s.producer },
    { stage: 'processor', share: s.processor, target: 0.05 },
    { stage: 'cassandra-sink', share: s.cassandraSink, target: 0.04 },
    { stage: 'lake-sink', share: s.lakeSink, target: 0.04 },
    { stage: 'end to end', share: s.endToEnd, target: 0.017 },
    { stage: 'Flink end to end', share: r.flink?.ratioToBrokerConsume },
  ];
  return rows.flatMap((x) =>
    typeof x.share === 'number' ? [{ stage: x.stage, share: x.share, ...(x.target !== undefined ? { target: x.target } : {}) }] : [],
  );
}

const CPU_RUNS: Record<CpuRun, string> = {
  brokerProduce: 'Kafka ProducerPerformance',
  brokerConsume: 'Kafka ConsumerPerformance',
  producer: 'producer alone',
  processor: 'processor alone',
  cassandraSink: 'cassandra-sink alone',
  lakeSink: 'lake-sink alone',
  endToEnd: 'end to end',
};

/** One row per (run, process) with CPU-µs per event, Flink's run last. */
function cpuRows(r: BenchResult): { run: string; process: string; micros: number }[] {
  const runs: [string, Readonly<Record<string, number>>][] = (Object.keys(CPU_RUNS) as CpuRun[]).flatMap((k) => {
    const cpu = r.cpuMicrosPerEvent[k];
    return cpu ? [[CPU_RUNS[k], cpu] as [string, Readonly<Record<string, number>>]] : [];
  });
  if (r.flink) runs.push(['Flink end to end', r.flink.cpuMicrosPerEvent]);
  return runs.flatMap(([run, cpu]) =>
    Object.entries(cpu)
      .filter(([p, v]) => !NOT_PROCESSES.has(p) && v > 0)
      .map(([process, micros]) => ({ run, process, micros })),
  );
}

function latencyRows(r: BenchResult): { store: string; quantile: string; ms: number }[] {
  const bySink = r.latency.bySinkMs;
  if (!bySink) return [];
  return (['cassandra', 'lake'] as const).flatMap((store) =>
    (['p50', 'p95', 'p99'] as const).flatMap((q) => (Number.isFinite(bySink[store][q]) ? [{ store, quantile: q, ms: bySink[store][q] }] : [])),
  );
}

/** Three charts, one above the other: throughput against the broker, CPU per event, latency per store. */
export function benchReportSpec(r: BenchResult, title = 'npm run bench'): TopLevelSpec {
  const width = 560;
  const throughput = throughputRows(r);
  const latency = latencyRows(r);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: [
        `broker consume ${r.brokerConsumePerSec?.toLocaleString('en-US') ?? '-'} rec/s in this run; every figure is relative to this run's yardsticks`,
      ],
    },
    config: { font: 'sans-serif', view: { stroke: null } },
    vconcat: [
      {
        title: 'Throughput, share of the broker consume rate (tick: target)',
        width,
        height: 180,
        data: { values: throughput },
        encoding: { x: { field: 'stage', type: 'nominal', sort: null, axis: { labelAngle: 0, title: null } } },
        layer: [
          { mark: { type: 'bar', color: '#4c78a8' }, encoding: { y: { field: 'share', type: 'quantitative', title: 'share of broker consume' } } },
          {
            mark: { type: 'text', dy: -6 },
            encoding: { y: { field: 'share', type: 'quantitative' }, text: { field: 'share', type: 'quantitative', format: '.3f' } },
          },
          { mark: { type: 'tick', color: '#e45756', thickness: 3, size: 40 }, encoding: { y: { field: 'target', type: 'quantitative' } } },
        ],
      },
      {
        title: 'CPU per event by process (µs; Kafka tools: per record)',
        width,
        data: { values: cpuRows(r) },
        mark: 'bar',
        encoding: {
          y: { field: 'run', type: 'nominal', sort: null, axis: { title: null, labelLimit: 240 } },
          x: { field: 'micros', type: 'quantitative', aggregate: 'sum', title: 'CPU µs per event' },
          color: { field: 'process', type: 'nominal', title: 'process', scale: { scheme: 'tableau20' } },
          order: { field: 'process' },
          tooltip: [{ field: 'process' }, { field: 'micros', type: 'quantitative' }],
        },
      },
      {
        title: `Latency per store at ${r.latency.ratePerSec?.toLocaleString('en-US') ?? '-'} events/s, 50% of the end-to-end maximum (rule: 5 s; tick: Cassandra's 1 s)`,
        width,
        height: 180,
        data: { values: latency },
        encoding: { x: { field: 'store', type: 'nominal', axis: { labelAngle: 0, title: null } } },
        layer: [
          {
            mark: 'bar',
            encoding: {
              xOffset: { field: 'quantile', type: 'nominal', sort: ['p50', 'p95', 'p99'] },
              y: { field: 'ms', type: 'quantitative', title: 'ms (Kafka timestamp to stored)' },
              color: { field: 'quantile', type: 'nominal', sort: ['p50', 'p95', 'p99'], scale: { scheme: 'blues' } },
            },
          },
          {
            mark: { type: 'text', dy: -6, fontSize: 10 },
            encoding: {
              xOffset: { field: 'quantile', type: 'nominal', sort: ['p50', 'p95', 'p99'] },
              y: { field: 'ms', type: 'quantitative' },
              text: { field: 'ms', type: 'quantitative', format: ',.0f' },
            },
          },
          {
            data: { values: [{ ms: 5_000 }] },
            mark: { type: 'rule', color: '#e45756', strokeDash: [4, 3] },
            encoding: { x: null, y: { field: 'ms', type: 'quantitative' } },
          },
          {
            data: { values: [{ store: 'cassandra', ms: 1_000 }] },
            mark: { type: 'tick', color: '#e45756', thickness: 3 },
            encoding: { y: { field: 'ms', type: 'quantitative' } },
          },
        ],
      },
    ],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** `report.svg` and `report.html` (the SVG inline, the verdicts as a table; no scripts) in `dir`. */
export async function writeBenchReport(r: BenchResult, dir: string, title?: string): Promise<{ svg: string; html: string }> {
  const svg = await renderSvg(benchReportSpec(r, title));
  fs.mkdirSync(dir, { recursive: true });
  const files = { svg: path.join(dir, 'report.svg'), html: path.join(dir, 'report.html') };
  fs.writeFileSync(files.svg, svg);
  const rows = verdicts(r)
    .map(
      (v) =>
        `<tr><td>${escapeHtml(v.target)}</td><td>${v.value ?? '-'}</td><td>${escapeHtml(v.comparison)} ${v.limit}</td><td class="${v.verdict.replace(' ', '-')}">${v.verdict}</td></tr>`,
    )
    .join('\n');
  fs.writeFileSync(
    files.html,
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title ?? 'npm run bench')}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}.met{color:#2a7}.missed{color:#c33}</style></head>
<body><h1>${escapeHtml(title ?? 'npm run bench')}</h1>
<table><tr><th>target</th><th>measured</th><th>target</th><th>verdict</th></tr>
${rows}
</table>
${svg.replace(/^<\?xml[^>]*>\s*/, '')}
</body></html>
`,
  );
  return files;
}
