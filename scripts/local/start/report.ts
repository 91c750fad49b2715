/**
 * What `npm start` shows: the live progress (a block redrawn in place on a terminal, one line
 * every few seconds otherwise) and the closing summary, as text and as one JSON object.
 * Pure string building, unit-tested.
 */
import type { AppFlow, PipelineCounters, Quantiles } from './counters';
import type { MetricStat, SentAs } from './stores';
import { TraceBreakdown, traceBreakdownLines } from './traces';

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const perSec = (n: number) => `${int(n)}/s`;
const ms = (n: number) => (Number.isFinite(n) ? `${int(n)} ms` : 'n/a');

export interface ProgressView {
  readonly elapsedMs: number;
  /** This run's counters (since the producer started). */
  readonly counters: PipelineCounters;
  /** Events per second over the last few seconds. */
  readonly rates: { readonly produced: number; readonly processed: number; readonly cassandra: number; readonly lake: number };
  /** What the run is waiting for, e.g. "producing" or "draining". */
  readonly phase: string;
}

/** The block redrawn in place on a terminal. */
export function progressBlock(v: ProgressView): string[] {
  const c = v.counters;
  const row = (label: string, count: number, rate: number | undefined, extra = '') =>
    `  ${label.padEnd(11)}${int(count).padStart(13)}${(rate === undefined ? '' : perSec(rate)).padStart(12)}${extra ? `   ${extra}` : ''}`;
  return [
    `pipeline: ${v.phase}, ${(v.elapsedMs / 1000).toFixed(1)} s`,
    row('produced', c.produced, v.rates.produced),
    row('processed', c.processed, v.rates.processed, `lag ${int(c.lag.processor)}`),
    row('dlq', c.dlq, undefined),
    row('cassandra', c.cassandraRows, v.rates.cassandra, `lag ${int(c.lag['cassandra-sink'])}, aggregates ${int(c.cassandraAggregates)}`),
    row('lake', c.lakeRecords, v.rates.lake, `lag ${int(c.lag['lake-sink'])}`),
    ...(c.errors > 0 ? [`  errors     ${int(c.errors).padStart(13)}   (see the app logs)`] : []),
  ];
}

/** One line for logs and pipes. */
export function progressLine(v: ProgressView): string {
  const c = v.counters;
  return (
    `[start] ${(v.elapsedMs / 1000).toFixed(0)}s ${v.phase}: produced ${int(c.produced)} (${perSec(v.rates.produced)}), ` +
    `processed ${int(c.processed)} (lag ${int(c.lag.processor)}), dlq ${int(c.dlq)}, ` +
    `cassandra ${int(c.cassandraRows)} (lag ${int(c.lag['cassandra-sink'])}), lake ${int(c.lakeRecords)} (lag ${int(c.lag['lake-sink'])})` +
    (c.errors > 0 ? `, errors ${int(c.errors)}` : '')
  );
}

/** Moves the cursor up over the previous block and clears each line before rewriting it. */
export function redraw(previousLines: number, lines: readonly string[]): string {
  const up = previousLines > 0 ? `\x1b[${previousLines}F` : '';
  return `${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`;
}

export interface SampleComparison {
  readonly deviceId: string;
  readonly day: string;
  readonly sql: string;
  readonly lake: readonly MetricStat[];
  readonly cassandra: readonly MetricStat[];
  readonly agree: boolean;
}

export interface RunSummary {
  /** Records the brokers acknowledged to the producer (valid + malformed). */
  readonly produced: number;
  readonly malformed: number;
  readonly valid: number;
  /** Raw records the processor consumed during the run. */
  readonly processed: number;
  /** Dead letters this run added to the DLQ topic. */
  readonly dlq: number;
  /** 1-minute aggregates the processor emitted during the run. */
  readonly aggregates: number;
  /** Aggregates the cassandra-sink wrote to aggregates_by_device_minute during the run. */
  readonly cassandraAggregates: number;
  /** This run's readings found in readings_by_device_day. */
  readonly cassandraRows: number;
  /** This run's readings found in the lake's Parquet files. */
  readonly lakeRecords: number;
  readonly lakeDuplicates: number;
  readonly lakeFiles: number;
  /**
   * Valid readings by the contract version they were sent as: produced (the producer's count),
   * and as stored (a unit or none: every stored row is upcast to v2, only v2 devices send a unit).
   */
  readonly sentAs: { readonly produced: SentAs; readonly cassandra: SentAs; readonly lake: SentAs };
  /** Producer's own rate (acknowledged records per second). */
  readonly producerPerSec: number;
  /** Events per second from the first produced record to the last one landing in both stores. */
  readonly throughputPerSec: number;
  /** Kafka timestamp -> in both stores (the slower sink's quantiles). */
  readonly latencyMs: Quantiles;
  readonly latencyBySinkMs: { readonly cassandra: Quantiles; readonly lake: Quantiles };
  readonly latencyMethod: string;
  /** Producing, first record to last in both stores, the whole command, and its phases (synth, services, apps, settle, run, verify). */
  readonly durationMs: { readonly produce: number; readonly pipeline: number; readonly total: number; readonly phases?: Readonly<Record<string, number>> };
  readonly sample?: SampleComparison;
  /** Each app's records in and out by topic during the run, from its /metrics. */
  readonly apps?: Readonly<Record<string, AppFlow>>;
  /** Empty when every valid reading is in both stores and every malformed one in the DLQ. */
  readonly problems: readonly string[];
  readonly ok: boolean;
  readonly logsDir: string;
  /** The SVG picture of the run (each stage's rate over time); absent when it could not be drawn. */
  readonly chart?: string;
  /** Per-stage latency from the apps' spans, and where the spans are. */
  readonly traces?: TraceBreakdown;
}

export function summaryText(s: RunSummary): string {
  const share = (n: number) => (s.valid > 0 ? ` (${((n / s.valid) * 100).toFixed(n === s.valid ? 0 : 2)}% of valid)` : '');
  const q = (x: Quantiles) => `p50 ${ms(x.p50)}, p95 ${ms(x.p95)}, p99 ${ms(x.p99)}`;
  const lines = [
    '',
    `Summary ${s.ok ? '(every valid reading is in both stores, every malformed record in the DLQ)' : '(INCOMPLETE: see problems below)'}`,
    `  produced      ${int(s.produced).padStart(12)}   ${int(s.valid)} valid, ${int(s.malformed)} malformed, ${perSec(s.producerPerSec)} for ${(s.durationMs.produce / 1000).toFixed(1)} s`,
    `  processed     ${int(s.processed).padStart(12)}   ${int(s.aggregates)} 1-minute aggregates emitted`,
    `  dlq           ${int(s.dlq).padStart(12)}`,
    `  cassandra     ${int(s.cassandraRows).padStart(12)}${share(s.cassandraRows)} + ${int(s.cassandraAggregates)} aggregate rows`,
    `  lake          ${int(s.lakeRecords).padStart(12)}${share(s.lakeRecords)} in ${int(s.lakeFiles)} Parquet file(s), ${int(s.lakeDuplicates)} duplicate(s)`,
    `  sent as v1/v2 ${versions(s.sentAs.produced).padStart(12)}   contract versions; stored (v1 upcast, no unit / v2, with unit): cassandra ${versions(s.sentAs.cassandra)}, lake ${versions(s.sentAs.lake)}`,
    `  throughput    ${perSec(s.throughputPerSec).padStart(12)}   first produced record to last one in both stores (${(s.durationMs.pipeline / 1000).toFixed(1)} s)`,
    `  latency       ${q(s.latencyMs)}   (in both stores)`,
    `    cassandra   ${q(s.latencyBySinkMs.cassandra)}`,
    `    lake        ${q(s.latencyBySinkMs.lake)}`,
    `    ${s.latencyMethod}`,
  ];
  if (s.apps) lines.push('', "Per app, records in and out by topic (or table), from each app's /metrics:", ...appFlowLines(s.apps));
  if (s.sample) {
    const { sample } = s;
    lines.push('', `Sample query, busiest device/day of the run (${sample.deviceId}, ${sample.day}), lake via DuckDB as in Athena:`);
    lines.push(...sample.sql.split('\n').map((l) => `    ${l}`));
    const metrics = [...new Set([...sample.lake, ...sample.cassandra].map((m) => m.metric))].sort();
    lines.push(
      `    ${'metric'.padEnd(14)}${'lake count'.padStart(11)}${'lake avg'.padStart(12)}${'cassandra count'.padStart(17)}${'cassandra avg'.padStart(15)}`,
    );
    for (const m of metrics) {
      const l = sample.lake.find((x) => x.metric === m);
      const c = sample.cassandra.find((x) => x.metric === m);
      lines.push(
        `    ${m.padEnd(14)}${(l ? int(l.count) : '-').padStart(11)}${(l ? l.avg.toFixed(3) : '-').padStart(12)}` +
          `${(c ? int(c.count) : '-').padStart(17)}${(c ? c.avg.toFixed(3) : '-').padStart(15)}`,
      );
    }
    lines.push(`    ${sample.agree ? 'both stores agree' : 'THE STORES DISAGREE'}`);
  }
  if (s.traces) lines.push('', ...traceBreakdownLines(s.traces));
  if (s.problems.length > 0) lines.push('', 'Problems:', ...s.problems.map((p) => `  - ${p}`));
  if (s.durationMs.phases) {
    const phases = Object.entries(s.durationMs.phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`);
    lines.push('', `Took ${(s.durationMs.total / 1000).toFixed(1)} s: ${phases.join(', ')}`);
  }
  lines.push(`App logs: ${s.logsDir}`);
  if (s.chart) lines.push(`Picture of the run (records/s per stage over time): ${s.chart}`);
  return lines.join('\n');
}

/** One line per app: `  processor       in telemetry.raw.v1 20,000  ->  out telemetry.clean.v1 19,800, ...`. */
export function appFlowLines(flows: Readonly<Record<string, AppFlow>>): string[] {
  const list = (m: Readonly<Record<string, number>>) =>
    Object.entries(m)
      .map(([t, n]) => `${t} ${int(n)}`)
      .join(', ') || '-';
  return Object.entries(flows).map(([app, f]) => `  ${app.padEnd(16)}in ${list(f.in)}  ->  out ${list(f.out)}`);
}

const versions = (v: SentAs): string => `${int(v.v1)}/${int(v.v2)}`;

/** The machine-readable summary (`--json`): one line, finite numbers only (NaN -> null). */
export function summaryJson(s: RunSummary, extra: Readonly<Record<string, unknown>> = {}): string {
  return JSON.stringify({ ...s, ...extra }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}

/** What is missing, in words; empty when the run is complete. */
export function findProblems(
  s: Pick<RunSummary, 'valid' | 'malformed' | 'dlq' | 'cassandraRows' | 'lakeRecords' | 'lakeDuplicates'> & {
    sampleAgrees?: boolean;
    sentAs?: RunSummary['sentAs'];
  },
): string[] {
  const problems: string[] = [];
  if (s.sentAs) {
    const { produced, cassandra, lake } = s.sentAs;
    const same = (a: SentAs, b: SentAs) => a.v1 === b.v1 && a.v2 === b.v2;
    if (!same(cassandra, produced)) problems.push(`Cassandra holds v1/v2 ${versions(cassandra)} of the ${versions(produced)} sent`);
    if (s.lakeDuplicates === 0 && !same(lake, produced)) problems.push(`the lake holds v1/v2 ${versions(lake)} of the ${versions(produced)} sent`);
  }
  if (s.cassandraRows !== s.valid) problems.push(`Cassandra holds ${int(s.cassandraRows)} of this run's ${int(s.valid)} valid readings`);
  if (s.lakeRecords - s.lakeDuplicates !== s.valid)
    problems.push(`the lake holds ${int(s.lakeRecords - s.lakeDuplicates)} of this run's ${int(s.valid)} valid readings`);
  if (s.lakeDuplicates > 0) problems.push(`the lake holds ${int(s.lakeDuplicates)} duplicate reading(s)`);
  if (s.dlq !== s.malformed) problems.push(`the DLQ received ${int(s.dlq)} records for ${int(s.malformed)} malformed ones produced`);
  if (s.sampleAgrees === false) problems.push('the sample query gives different results in the lake and in Cassandra');
  return problems;
}

/** What the run waits for right now, in words, for the progress line. */
export function waitingFor(c: PipelineCounters, produced: boolean, stored: boolean, unread: readonly string[]): string {
  if (!produced) return c.produced === 0 ? 'waiting for the producer to connect and send its first records' : 'producing';
  if (!stored) return 'draining: waiting for every record to reach Cassandra, the lake and the DLQ';
  if (c.openWindows > 0)
    return `waiting for the processor to close its last ${c.openWindows.toLocaleString('en-US')} 1-minute window(s) (once their minute has passed and the partition is idle)`;
  return `waiting for the apps to read what the others wrote (${unread.join(', ')})`;
}
