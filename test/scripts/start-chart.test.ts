import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { intervalBounds, renderRunChart, runChartSpec, RunPoint, RunSeries, stageCounts } from '../../scripts/local/start/chart';
import { pipelineCounters } from '../../scripts/local/start/counters';
import { ProgressPrinter } from '../../scripts/local/start/progress';
import { RunSummary, summaryJson, summaryText } from '../../scripts/local/start/report';

const empty = pipelineCounters({});
const stages = ['produced', 'processed', 'clean', 'aggregates', 'dead letters', 'Cassandra readings', 'Cassandra aggregates', 'lake readings', 'alerts out'];

/** Three scrapes: 2 s, then 1 s, with known counts per stage. */
const points: RunPoint[] = [
  { atMs: 10_000, counts: { produced: 0, processed: 0, 'lake readings': 0 } },
  { atMs: 12_000, counts: { produced: 1_000, processed: 500, 'lake readings': 0 } },
  { atMs: 13_000, counts: { produced: 1_000, processed: 1_000, 'lake readings': 900 } },
];

type Row = Record<string, number | string>;
/** The inline rows of each panel (rates on top, counts below), by stage. */
function panels(spec: ReturnType<typeof runChartSpec>): { rates: Row[]; counts: Row[] } {
  const [top, bottom] = (spec as any).vconcat;
  return { rates: top.layer[0].data.values, counts: bottom.data.values };
}
const of = (rows: Row[], stage: string) => rows.filter((r) => r.stage === stage);

describe('stageCounts', () => {
  test('names every stage in pipeline order, the example app by its records out without its dead letters', () => {
    const c = {
      ...empty,
      produced: 9,
      processed: 8,
      clean: 7,
      aggregates: 6,
      dlq: 5,
      cassandraRows: 4,
      cassandraAggregates: 3,
      lakeRecords: 2,
      apps: { ...empty.apps, alerts: { in: { 'telemetry.aggregates.v1': 6 }, out: { 'telemetry.alerts.v1': 1, 'telemetry.dlq.v1': 40 } } },
    };
    expect(Object.entries(stageCounts(c))).toEqual(stages.map((s, i) => [s, 9 - i]));
  });
});

describe('runChartSpec', () => {
  test('rates per stage are the counts per interval over its length, drawn from rest at the first scrape', () => {
    const { rates } = panels(runChartSpec(points));
    expect(of(rates, 'produced')).toEqual([
      { stage: 'produced', t: 0, rate: 0 },
      { stage: 'produced', t: 2, rate: 500 },
      { stage: 'produced', t: 3, rate: 0 },
    ]);
    expect(of(rates, 'processed').map((r) => r.rate)).toEqual([0, 250, 500]);
    expect(of(rates, 'lake readings').map((r) => r.rate)).toEqual([0, 0, 900]);
  });

  test('one series per stage, in pipeline order, in both panels, with the running counts below', () => {
    const spec = runChartSpec(points) as any;
    const { rates, counts } = panels(spec);
    const order = ['produced', 'processed', 'lake readings'];
    expect([...new Set(rates.map((r) => r.stage))]).toEqual(order);
    expect([...new Set(counts.map((r) => r.stage))]).toEqual(order);
    expect(spec.vconcat[0].layer[0].encoding.color.scale.domain).toEqual(order);
    expect(spec.vconcat[1].encoding.color.scale.domain).toEqual(order);
    expect(of(counts, 'processed').map((r) => [r.t, r.count])).toEqual([
      [0, 0],
      [2, 500],
      [3, 1_000],
    ]);
  });

  test('rates are taken over at least a second, so a sink that writes in batches shows its rate, not its batching', () => {
    // Scrapes every 250 ms; the lake-sink lands 500 records every 500 ms.
    const batchy: RunPoint[] = Array.from({ length: 11 }, (_, i) => ({ atMs: i * 250, counts: { 'lake readings': Math.floor(i / 2) * 500 } }));
    expect(of(panels(runChartSpec(batchy)).rates, 'lake readings').map((r) => [r.t, r.rate])).toEqual([
      [0, 0],
      [1, 1_000],
      [2.5, 1_000],
    ]);
    expect(of(panels(runChartSpec(batchy, { rateIntervalMs: 250 })).rates, 'lake readings').map((r) => r.rate)).toEqual([
      0, 0, 2_000, 0, 2_000, 0, 2_000, 0, 2_000, 0, 2_000,
    ]);
  });

  test('a counter that went back (an app restarted) counts as no progress, not a negative rate', () => {
    const back: RunPoint[] = [points[0], points[1], { atMs: 13_000, counts: { produced: 10 } }];
    expect(of(panels(runChartSpec(back)).rates, 'produced').map((r) => r.rate)).toEqual([0, 500, 0]);
  });

  test('title, axis titles with units, subtitle; marks only the moments inside the run', () => {
    const spec = runChartSpec(points, {
      subtitle: ['1,000 events'],
      events: [
        { atMs: 9_000, label: 'before' },
        { atMs: 12_500, label: 'producer done' },
        { atMs: 13_500, label: 'after' },
      ],
    }) as any;
    expect(spec.title.text).toMatch(/records per second at each stage/);
    expect(spec.title.subtitle[0]).toBe('1,000 events');
    expect(spec.vconcat[0].layer[0].encoding.y.title).toMatch(/records\/s/);
    expect(spec.vconcat[0].layer[0].encoding.x.title).toMatch(/\(s\)/);
    expect(spec.vconcat[1].encoding.y.title).toMatch(/records/);
    expect(spec.vconcat[0].layer[1].data.values).toEqual([{ t: 2.5, label: 'producer done', y: -4 }]);
  });

  test('the log-scale ticks are the powers of ten up to the largest value', () => {
    const spec = runChartSpec(points) as any;
    expect(spec.vconcat[0].layer[0].encoding.y.axis.values).toEqual([0, 1, 10, 100]);
    expect(spec.vconcat[1].encoding.y.axis.values).toEqual([0, 1, 10, 100, 1_000]);
  });

  test('fewer than two scrapes: a clear error', () => {
    expect(() => runChartSpec(points.slice(0, 1))).toThrow(/at least two samples of the counters, got 1/);
  });
});

describe('intervalBounds', () => {
  const at = (...ms: number[]) => ms.map((atMs) => ({ atMs, counts: {} }));
  const times = (p: RunPoint[]) => p.map((x) => x.atMs);

  test('one bound per interval of at least minMs; a shorter tail joins the interval before it', () => {
    expect(times(intervalBounds(at(0, 250, 500, 750, 1_000, 1_250, 1_500, 1_750, 2_000, 2_250, 2_500), 1_000))).toEqual([0, 1_000, 2_500]);
    expect(times(intervalBounds(at(0, 1_200, 2_400), 1_000))).toEqual([0, 1_200, 2_400]);
  });

  test('a run shorter than minMs is one interval, first to last', () => {
    expect(times(intervalBounds(at(0, 300, 600), 1_000))).toEqual([0, 600]);
  });
});

describe('RunSeries', () => {
  const at = (i: number) => ({ ...empty, produced: i });

  test('keeps every scrape while there is room', () => {
    const s = new RunSeries(10);
    for (let i = 0; i < 9; i++) s.add(i * 250, at(i));
    expect(s.points().map((p) => p.counts.produced)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test('thins a long run to at most maxPoints, evenly, keeping the first and the latest scrape', () => {
    const max = 300;
    const s = new RunSeries(max);
    for (let n = 1; n <= 10_000; n++) {
      s.add(n * 250, at(n));
      expect(s.points().length).toBeLessThanOrEqual(max);
    }
    const kept = s.points().map((p) => p.counts.produced);
    expect(kept.length).toBeGreaterThan(max / 2);
    expect(kept[0]).toBe(1);
    expect(kept[kept.length - 1]).toBe(10_000);
    const gaps = new Set(kept.slice(1, -1).map((k, i) => k - kept[i]));
    expect(gaps.size).toBe(1); // evenly spread, only the gap to the latest differs
    expect(s.points()[1].atMs - s.points()[0].atMs).toBe([...gaps][0] * 250);
  });

  test('rejects a bound too small to keep a first and a latest point', () => {
    expect(() => new RunSeries(2)).toThrow(/maxPoints must be an integer of at least 3, got 2/);
  });
});

describe('ProgressPrinter', () => {
  test('keeps every update for the picture; a restart (new baseline) starts the samples over', () => {
    const out = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
    const progress = new ProgressPrinter(out, 0);
    progress.update({ ...empty, produced: 0 }, 'producing', 1_000);
    progress.update({ ...empty, produced: 500, lakeRecords: 20 }, 'producing', 2_000);
    expect(progress.samples().map((p) => [p.atMs, p.counts.produced, p.counts['lake readings']])).toEqual([
      [1_000, 0, 0],
      [2_000, 500, 20],
    ]);
    progress.restart();
    expect(progress.samples()).toEqual([]);
  });
});

describe('renderRunChart', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdp-chart-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('writes an SVG with the title, the axis titles and every stage in the legend', async () => {
    const s = new RunSeries();
    for (let i = 0; i <= 20; i++) s.add(i * 500, { ...empty, produced: i * 1_000, processed: i * 900, dlq: i * 9, lakeRecords: i > 10 ? 10_000 : 0 });
    const file = path.join(dir, 'nested', 'run.svg');
    expect(await renderRunChart(s.points(), file, { events: [{ atMs: 5_000, label: 'producer done' }] })).toBe(file);
    const svg = fs.readFileSync(file, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const stage of stages) expect(texts).toContain(stage);
    expect(texts).toContain('npm start: records per second at each stage');
    expect(texts).toContain('records/s (log scale)');
    expect(texts).toContain('producer done');
    // Well formed enough for a browser: every opened element is closed.
    const tags = svg.match(/<\/?[a-zA-Z][^>]*>/g) ?? [];
    const opened = tags.filter((t) => !t.startsWith('</') && !t.endsWith('/>')).length;
    expect(opened).toBeGreaterThan(100);
    expect(tags.filter((t) => t.startsWith('</')).length).toBe(opened);
  });

  test('refuses to draw a run without two scrapes, and writes nothing', async () => {
    const file = path.join(dir, 'none.svg');
    await expect(renderRunChart([], file)).rejects.toThrow(/at least two samples/);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('summary', () => {
  const summary = {
    produced: 0,
    malformed: 0,
    valid: 0,
    processed: 0,
    dlq: 0,
    aggregates: 0,
    cassandraAggregates: 0,
    cassandraRows: 0,
    lakeRecords: 0,
    lakeDuplicates: 0,
    lakeFiles: 0,
    sentAs: { produced: { v1: 0, v2: 0 }, cassandra: { v1: 0, v2: 0 }, lake: { v1: 0, v2: 0 } },
    producerPerSec: 0,
    throughputPerSec: 0,
    latencyMs: { p50: NaN, p95: NaN, p99: NaN, count: 0 },
    latencyBySinkMs: { cassandra: { p50: NaN, p95: NaN, p99: NaN, count: 0 }, lake: { p50: NaN, p95: NaN, p99: NaN, count: 0 } },
    latencyMethod: '',
    durationMs: { produce: 0, pipeline: 0, total: 0 },
    problems: [],
    ok: true,
    logsDir: '/tmp/logs/run-1',
  } satisfies RunSummary;

  test('text and JSON name the picture when there is one, and say nothing of it otherwise', () => {
    const withChart = { ...summary, chart: '/tmp/logs/run-1/run.svg' };
    expect(summaryText(withChart).split('\n').pop()).toBe('Picture of the run (records/s per stage over time): /tmp/logs/run-1/run.svg');
    expect(JSON.parse(summaryJson(withChart)).chart).toBe('/tmp/logs/run-1/run.svg');
    expect(summaryText(summary)).not.toMatch(/Picture/);
    expect(JSON.parse(summaryJson(summary))).not.toHaveProperty('chart');
  });
});
