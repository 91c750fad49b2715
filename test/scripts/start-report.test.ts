import { pipelineCounters } from '../../scripts/local/start/counters';
import {
  appFlowLines,
  findProblems,
  progressBlock,
  progressLine,
  redraw,
  RunSummary,
  summaryJson,
  summaryText,
  waitingFor,
} from '../../scripts/local/start/report';

const counters = { ...pipelineCounters({}), produced: 20_000, processed: 19_990, dlq: 190, cassandraRows: 18_000, lakeRecords: 12_345 };
const view = { elapsedMs: 12_345, counters, phase: 'draining', rates: { produced: 10_000, processed: 9_999.6, cassandra: 9_000, lake: 0 } };

const q = { p50: 800, p95: 2_400, p99: 3_100, count: 19_810 };
const summary: RunSummary = {
  produced: 20_000,
  malformed: 190,
  valid: 19_810,
  processed: 20_000,
  dlq: 190,
  aggregates: 4_000,
  cassandraAggregates: 4_000,
  cassandraRows: 19_810,
  lakeRecords: 19_810,
  lakeDuplicates: 0,
  lakeFiles: 12,
  sentAs: { produced: { v1: 9_905, v2: 9_905 }, cassandra: { v1: 9_905, v2: 9_905 }, lake: { v1: 9_905, v2: 9_905 } },
  producerPerSec: 9_876,
  throughputPerSec: 4_321,
  latencyMs: q,
  latencyBySinkMs: { cassandra: { p50: 90, p95: 300, p99: 800, count: 19_810 }, lake: q },
  latencyMethod: 'histogram_quantile',
  durationMs: { produce: 2_000, pipeline: 4_600, total: 30_000 },
  sample: {
    deviceId: 'dev-000042',
    day: '2025-01-01',
    sql: 'SELECT metric, count(*)\nFROM raw_telemetry',
    lake: [{ metric: 'battery', count: 5, avg: 80.12345 }],
    cassandra: [{ metric: 'battery', count: 5, avg: 80.12345 }],
    agree: true,
  },
  problems: [],
  ok: true,
  logsDir: '/tmp/logs',
};

describe('progress', () => {
  test('the terminal block shows every stage with counts, rates and lag', () => {
    const lines = progressBlock(view);
    expect(lines[0]).toBe('pipeline: draining, 12.3 s');
    expect(lines.find((l) => l.includes('produced'))).toMatch(/produced\s+20,000\s+10,000\/s/);
    expect(lines.find((l) => l.includes('processed'))).toMatch(/19,990\s+10,000\/s\s+lag 0/);
    expect(lines.find((l) => l.includes('lake'))).toMatch(/12,345/);
    expect(lines.some((l) => l.includes('errors'))).toBe(false);
    expect(progressBlock({ ...view, counters: { ...counters, errors: 2 } }).pop()).toMatch(/errors\s+2/);
  });

  test('the log line fits on one line', () => {
    const line = progressLine(view);
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^\[start\] 12s draining: produced 20,000 \(10,000\/s\).*dlq 190, cassandra 18,000.*lake 12,345/);
  });

  test('redraw moves up over the previous block and clears each line', () => {
    expect(redraw(0, ['a', 'b'])).toBe('\x1b[2Ka\n\x1b[2Kb\n');
    expect(redraw(2, ['c'])).toBe('\x1b[2F\x1b[2Kc\n');
  });
});

describe('summary', () => {
  test('text names the stages, the stores, latency method and the sample query side by side', () => {
    const text = summaryText(summary);
    expect(text).toMatch(/every valid reading is in both stores/);
    expect(text).toMatch(/cassandra\s+19,810 \(100% of valid\) \+ 4,000 aggregate rows/);
    expect(text).toMatch(/lake\s+19,810 \(100% of valid\) in 12 Parquet file\(s\), 0 duplicate\(s\)/);
    expect(text).toMatch(/latency\s+p50 800 ms, p95 2,400 ms, p99 3,100 ms/);
    expect(text).toMatch(/histogram_quantile/);
    expect(text).toMatch(/sent as v1\/v2\s+9,905\/9,905 .*cassandra 9,905\/9,905, lake 9,905\/9,905/);
    expect(text).toMatch(/battery\s+5\s+80\.123\s+5\s+80\.123/);
    expect(text).toMatch(/both stores agree/);
  });

  test('json is one line, NaN becomes null, extras are merged', () => {
    const json = summaryJson({ ...summary, latencyMs: { ...q, p99: NaN } }, { processes: { leftBehind: [] } });
    expect(json).not.toContain('\n');
    const parsed = JSON.parse(json);
    expect(parsed).toMatchObject({ produced: 20_000, malformed: 190, dlq: 190, cassandraRows: 19_810, lakeRecords: 19_810, throughputPerSec: 4_321 });
    expect(parsed.latencyMs).toEqual({ p50: 800, p95: 2_400, p99: null, count: 19_810 });
    expect(parsed.processes).toEqual({ leftBehind: [] });
  });

  test('findProblems names each missing piece', () => {
    const ok = { valid: 100, malformed: 2, dlq: 2, cassandraRows: 100, lakeRecords: 100, lakeDuplicates: 0 };
    expect(findProblems(ok)).toEqual([]);
    const p = findProblems({ ...ok, cassandraRows: 99, lakeRecords: 101, lakeDuplicates: 1, dlq: 1, sampleAgrees: false });
    expect(p).toEqual([
      "Cassandra holds 99 of this run's 100 valid readings",
      'the lake holds 1 duplicate reading(s)',
      'the DLQ received 1 records for 2 malformed ones produced',
      'the sample query gives different results in the lake and in Cassandra',
    ]);
    expect(findProblems({ ...ok, lakeRecords: 90 })).toEqual(["the lake holds 90 of this run's 100 valid readings"]);
  });

  test('findProblems compares the v1/v2 mix that landed with the mix sent', () => {
    const ok = { valid: 100, malformed: 0, dlq: 0, cassandraRows: 100, lakeRecords: 100, lakeDuplicates: 0 };
    const half = { v1: 50, v2: 50 };
    expect(findProblems({ ...ok, sentAs: { produced: half, cassandra: half, lake: half } })).toEqual([]);
    expect(findProblems({ ...ok, sentAs: { produced: half, cassandra: { v1: 100, v2: 0 }, lake: { v1: 49, v2: 51 } } })).toEqual([
      'Cassandra holds v1/v2 100/0 of the 50/50 sent',
      'the lake holds v1/v2 49/51 of the 50/50 sent',
    ]);
  });
});

describe('what npm start says it waits for', () => {
  const c = pipelineCounters({});
  test('every phase names what it is waiting for', () => {
    expect(waitingFor({ ...c, produced: 0 }, false, false, [])).toMatch(/waiting for the producer to connect/);
    expect(waitingFor({ ...c, produced: 10 }, false, false, [])).toBe('producing');
    expect(waitingFor(c, true, false, [])).toMatch(/waiting for every record to reach Cassandra, the lake and the DLQ/);
    expect(waitingFor({ ...c, openWindows: 12 }, true, true, [])).toMatch(/close its last 12 1-minute window/);
    expect(waitingFor(c, true, true, ['alerts: 3 of telemetry.aggregates.v1'])).toMatch(/alerts: 3 of telemetry.aggregates.v1/);
  });

  test('the summary lists each app with its records in and out', () => {
    const text = summaryText({
      ...summary,
      apps: {
        processor: { in: { 'telemetry.raw.v1': 20_000 }, out: { 'telemetry.clean.v1': 19_810 } },
        producer: { in: {}, out: { 'telemetry.raw.v1': 20_000 } },
      },
    });
    expect(text).toMatch(/processor\s+in telemetry.raw.v1 20,000 {2}-> {2}out telemetry.clean.v1 19,810/);
    expect(text).toMatch(/producer\s+in - {2}-> {2}out telemetry.raw.v1 20,000/);
    expect(appFlowLines({})).toEqual([]);
  });
});
