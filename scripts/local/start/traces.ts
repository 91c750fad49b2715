/**
 * The per-stage latency breakdown of a local run, from the spans the apps wrote (one JSON-lines
 * file per app, apps/lib/tracing-file.ts): how long each kind of span took (a producer send, a
 * processor chunk, its output sends, a sink's write or upload), and how long the records waited
 * in Kafka between stages: from the end of an upstream span (the parent or a link) to the start of
 * the span that continued it. Pure computation over the parsed lines, unit-tested.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseSpanLines, SpanLine } from '../../../apps/lib/tracing-file';

export interface StageLatency {
  /** `producer: send telemetry.raw.v1`, or `wait: producer -> processor (telemetry.raw.v1)` */
  readonly stage: string;
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

export interface TraceBreakdown {
  /** Where the spans are (the run's traces directory). */
  readonly dir: string;
  readonly spans: number;
  readonly traces: number;
  /** Spans marked as failed. */
  readonly errors: number;
  /** In pipeline order: by the earliest start of each stage's spans. */
  readonly stages: readonly StageLatency[];
}

/** The trace file of `app` in a run's logs directory (SDP_TRACES_FILE). */
export const traceFileOf = (logsDir: string, app: string): string => path.join(logsDir, 'traces', `${app}.jsonl`);

/** Reads every app's trace file in the run's traces directory. */
export function readTraceDir(dir: string): SpanLine[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) => parseSpanLines(fs.readFileSync(path.join(dir, f), 'utf8')));
}

/** Nearest-rank quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function traceBreakdown(dir: string, spans: readonly SpanLine[]): TraceBreakdown {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const groups = new Map<string, { first: number; values: number[] }>();
  const add = (stage: string, at: number, value: number) => {
    let g = groups.get(stage);
    if (!g) groups.set(stage, (g = { first: at, values: [] }));
    g.first = Math.min(g.first, at);
    g.values.push(value);
  };
  for (const s of spans) {
    add(`${s.service}: ${s.name}`, s.startMs, s.durationMs);
    const upstream = [...(s.parentSpanId !== undefined ? [s.parentSpanId] : []), ...s.links.map((l) => l.spanId)];
    for (const id of upstream) {
      const u = byId.get(id);
      if (!u || u.service === s.service) continue;
      const topic = u.attributes['messaging.destination.name'];
      const wait = s.startMs - (u.startMs + u.durationMs);
      add(`wait: ${u.service} -> ${s.service}${typeof topic === 'string' ? ` (${topic})` : ''}`, u.startMs + u.durationMs, Math.max(0, wait));
    }
  }
  const stages = [...groups]
    .sort(([, a], [, b]) => a.first - b.first)
    .map(([stage, g]) => {
      const sorted = [...g.values].sort((a, b) => a - b);
      return { stage, count: sorted.length, p50Ms: quantile(sorted, 0.5), p95Ms: quantile(sorted, 0.95), maxMs: sorted[sorted.length - 1] };
    });
  return { dir, spans: spans.length, traces: new Set(spans.map((s) => s.traceId)).size, errors: spans.filter((s) => s.error !== undefined).length, stages };
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

/** The summary's lines for the breakdown. */
export function traceBreakdownLines(b: TraceBreakdown): string[] {
  if (b.spans === 0) return [`Traces: none were written to ${b.dir} (see the app logs' "tracing" line)`];
  const width = Math.max(...b.stages.map((s) => s.stage.length), 5);
  return [
    `Traces: ${b.spans.toLocaleString('en-US')} spans in ${b.traces.toLocaleString('en-US')} traces${b.errors > 0 ? `, ${b.errors} failed` : ''}, per stage (ms):`,
    `  ${'stage'.padEnd(width)}${'spans'.padStart(8)}${'p50'.padStart(10)}${'p95'.padStart(10)}${'max'.padStart(10)}`,
    ...b.stages.map(
      (s) => `  ${s.stage.padEnd(width)}${String(s.count).padStart(8)}${fmt(s.p50Ms).padStart(10)}${fmt(s.p95Ms).padStart(10)}${fmt(s.maxMs).padStart(10)}`,
    ),
    `  spans (one JSON line each, by app): ${b.dir}`,
  ];
}
