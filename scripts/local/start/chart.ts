/**
 * The picture of an `npm start` run: each stage's records per second over the run, and how many
 * it has handled so far, from the counters the progress scrapes. `RunSeries` keeps the samples in
 * bounded memory, `runChartSpec` (pure, unit-tested) turns them into a vega-lite spec, and
 * `renderRunChart` draws that as an SVG with vega, loaded only then, off the start-up path.
 */
import * as fs from 'fs';
import * as path from 'path';
import type * as Vega from 'vega';
import type * as VegaLite from 'vega-lite/build/index';
import type { TopLevelSpec } from 'vega-lite/build/index';
import { allApps, apps, producedTopicNames } from '../../../apps/contracts/apps';
import { topics } from '../../../apps/contracts/topics';
import { PipelineCounters, ratePerSec } from './counters';

/** Each stage's cumulative count at one scrape. */
export interface RunPoint {
  readonly atMs: number;
  readonly counts: Readonly<Record<string, number>>;
}

/** A moment worth marking on the time axis, e.g. the producer finishing. */
export interface RunEvent {
  readonly atMs: number;
  readonly label: string;
}

export interface RunChartOptions {
  /** Lines under the title. */
  readonly subtitle?: readonly string[];
  readonly events?: readonly RunEvent[];
  /**
   * Shortest interval a rate is taken over. The apps count per batch (a lake file, a Cassandra
   * write batch), so rates between scrapes a quarter of a second apart only show the batching.
   * @default 1000
   */
  readonly rateIntervalMs?: number;
}

/** A chart 640 px wide shows no more than this. */
export const MAX_POINTS = 300;

const coreApps = new Set<string>([apps.producer.name, apps.processor.name, apps.cassandraSink.name, apps.lakeSink.name]);

/**
 * The stages in pipeline order, as the legend lists them. Apps beyond the core four (the example
 * `alerts` app, and any app added to the catalog later) appear by their records out, dead letters aside.
 */
export function stageCounts(c: PipelineCounters): Record<string, number> {
  const others = allApps
    .filter((a) => !coreApps.has(a.name))
    .map((a) => {
      const out = producedTopicNames(a).filter((t) => t !== topics.deadLetter.name);
      return [`${a.name} out`, out.reduce((n, t) => n + (c.apps[a.name]?.out[t] ?? 0), 0)] as const;
    });
  return {
    produced: c.produced,
    processed: c.processed,
    clean: c.clean,
    aggregates: c.aggregates,
    'dead letters': c.dlq,
    'Cassandra readings': c.cassandraRows,
    'Cassandra aggregates': c.cassandraAggregates,
    'lake readings': c.lakeRecords,
    ...Object.fromEntries(others),
  };
}

/**
 * The run's samples, at most `maxPoints` of them however long it runs: once full, every other
 * sample is dropped and from then on only every other one is kept, so the kept ones stay evenly
 * spread. The first sample and the latest are always there. Counts are cumulative, so dropping a
 * sample only merges two intervals into one with their average rate.
 */
export class RunSeries {
  private kept: RunPoint[] = [];
  private latest?: RunPoint;
  private stride = 1;
  private seen = 0;

  constructor(private readonly maxPoints = MAX_POINTS) {
    if (!Number.isInteger(maxPoints) || maxPoints < 3) throw new Error(`RunSeries maxPoints must be an integer of at least 3, got ${maxPoints}`);
  }

  add(atMs: number, counters: PipelineCounters): void {
    this.addPoint({ atMs, counts: stageCounts(counters) });
  }

  addPoint(p: RunPoint): void {
    if (this.seen++ % this.stride === 0) {
      this.kept.push(p);
      // One place stays free for the latest sample.
      if (this.kept.length > this.maxPoints - 1) {
        this.kept = this.kept.filter((_, i) => i % 2 === 0);
        this.stride *= 2;
      }
    }
    this.latest = p;
  }

  /** Oldest first. */
  points(): RunPoint[] {
    const last = this.kept[this.kept.length - 1];
    return this.latest !== undefined && this.latest !== last ? [...this.kept, this.latest] : [...this.kept];
  }
}

/**
 * Two panels over one time axis: records per second per stage (each interval drawn as a step at
 * its rate, from rest at the first sample), and each stage's running count, which shows how far
 * each stage trails the one before it.
 */
export function runChartSpec(points: readonly RunPoint[], opts: RunChartOptions = {}): TopLevelSpec {
  if (points.length < 2) throw new Error(`the run chart needs at least two samples of the counters, got ${points.length}`);
  const t0 = points[0].atMs;
  const end = points[points.length - 1].atMs;
  const seconds = (ms: number) => (ms - t0) / 1000;
  const stages = [...new Set(points.flatMap((p) => Object.keys(p.counts)))];
  const countOf = (p: RunPoint, stage: string) => p.counts[stage] ?? 0;
  const intervalMs = opts.rateIntervalMs ?? 1_000;
  const bounds = intervalBounds(points, intervalMs);
  const rates = stages.flatMap((stage) => [
    { stage, t: 0, rate: 0 },
    ...bounds.slice(1).map((p, i) => ({ stage, t: seconds(p.atMs), rate: ratePerSec(countOf(p, stage) - countOf(bounds[i], stage), p.atMs - bounds[i].atMs) })),
  ]);
  const counts = stages.flatMap((stage) => points.map((p) => ({ stage, t: seconds(p.atMs), count: countOf(p, stage) })));
  // Labels above the plot, one over the other, so they cover no line and two moments close in time stay readable.
  const inRun = (opts.events ?? []).filter((e) => e.atMs >= t0 && e.atMs <= end);
  const events = inRun.map((e, i) => ({ t: seconds(e.atMs), label: e.label, y: -4 - 14 * (inRun.length - 1 - i) }));

  const x = { field: 't', type: 'quantitative', title: 'time since the producer was launched (s)', scale: { nice: false } } as const;
  const color = { field: 'stage', type: 'nominal', title: 'stage', scale: { domain: stages }, legend: { labelLimit: 300 } } as const;
  // Symmetric log: the dead letters (1% of the readings) and the aggregates stay visible beside the
  // readings, and zero is still drawn.
  const y = (field: string, title: string, max: number) =>
    ({ field, type: 'quantitative', title, scale: { type: 'symlog' }, axis: { values: decades(max), format: ',d' } }) as const;
  const eventLayers = events.length
    ? [
        { data: { values: events }, mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#888' }, encoding: { x } },
        {
          data: { values: events },
          mark: { type: 'text' as const, align: 'left' as const, baseline: 'bottom' as const, color: '#555' },
          encoding: { x, y: { field: 'y', type: 'quantitative' as const, scale: null }, text: { field: 'label' } },
        },
      ]
    : [];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'npm start: records per second at each stage',
      subtitle: [...(opts.subtitle ?? []), `each step: a stage's rate over ${intervalMs / 1000} s or more, from its app's /metrics`],
      anchor: 'start',
    },
    background: 'white',
    padding: 12,
    vconcat: [
      {
        width: 640,
        height: 240,
        layer: [
          {
            data: { values: rates },
            mark: { type: 'line', interpolate: 'step-before', strokeWidth: 1.5 },
            encoding: {
              x,
              y: y(
                'rate',
                'records/s (log scale)',
                rates.reduce((m, r) => Math.max(m, r.rate), 0),
              ),
              color,
            },
          },
          ...eventLayers,
        ],
      },
      {
        width: 640,
        height: 160,
        data: { values: counts },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x,
          y: y(
            'count',
            'records so far (log scale)',
            counts.reduce((m, c) => Math.max(m, c.count), 0),
          ),
          color,
        },
      },
    ],
  };
}

/**
 * The points that bound the rate intervals: the first, then each one at least `minMs` after the
 * previous bound, and the last (a shorter tail joins the interval before it).
 */
export function intervalBounds(points: readonly RunPoint[], minMs: number): RunPoint[] {
  const bounds = [points[0]];
  for (const p of points.slice(1)) if (p.atMs - bounds[bounds.length - 1].atMs >= minMs) bounds.push(p);
  const last = points[points.length - 1];
  if (bounds.length === 1) bounds.push(last);
  else bounds[bounds.length - 1] = last;
  return bounds;
}

/** Axis ticks for a symlog scale: 0 and the powers of ten up to `max` (vega's own ticks bunch up at the top). */
function decades(max: number): number[] {
  const ticks = [0];
  for (let t = 1; t <= max; t *= 10) ticks.push(t);
  return ticks;
}

/** Draws `runChartSpec` as an SVG into `file`; returns `file`. */
export async function renderRunChart(points: readonly RunPoint[], file: string, opts: RunChartOptions = {}): Promise<string> {
  const svg = await renderSvg(runChartSpec(points, opts));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, svg);
  return file;
}

/** A vega-lite spec drawn as an SVG document by vega, both loaded only when first needed. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const importEsm = process.getBuiltinModule('module').createRequire(__filename)('./import-esm.cjs') as <T>(specifier: string) => Promise<T>;
  const [vl, vega] = await Promise.all([importEsm<typeof VegaLite>('vega-lite'), importEsm<typeof Vega>('vega')]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
