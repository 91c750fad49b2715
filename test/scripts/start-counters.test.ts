import { allApps } from '../../apps/contracts/apps';
import {
  appNames,
  consumerApps,
  countersSince,
  endToEndQuantiles,
  pipelineCounters,
  quantilesMs,
  ratePerSec,
  Scrapes,
  unreadByApp,
} from '../../scripts/local/start/counters';
import { parseMetrics } from '../../scripts/local/start/prometheus';

/** What the four apps expose, as prom-client writes it (apps/lib/metrics.ts). */
function scrapes(n: { produced: number; clean: number; dlq: number; rows: number; lake: number; slow: number }): Scrapes {
  const latency = (app: string, fast: number, slow: number) =>
    [
      `sdp_end_to_end_latency_seconds_bucket{le="1",app="${app}"} ${fast}`,
      `sdp_end_to_end_latency_seconds_bucket{le="5",app="${app}"} ${fast + slow}`,
      `sdp_end_to_end_latency_seconds_bucket{le="+Inf",app="${app}"} ${fast + slow}`,
    ].join('\n');
  return {
    producer: parseMetrics(`sdp_records_out_total{topic="telemetry.raw.v1",app="producer"} ${n.produced}`),
    processor: parseMetrics(
      [
        `sdp_records_in_total{topic="telemetry.raw.v1",app="processor"} ${n.clean + n.dlq}`,
        `sdp_records_out_total{topic="telemetry.clean.v1",app="processor"} ${n.clean}`,
        `sdp_records_out_total{topic="telemetry.aggregates.v1",app="processor"} 40`,
        `sdp_records_out_total{topic="telemetry.dlq.v1",app="processor"} ${n.dlq}`,
        `sdp_dlq_records_total{reason="schema",app="processor"} ${n.dlq}`,
        `sdp_consumer_lag{topic="telemetry.raw.v1",partition="0",app="processor"} 7`,
        `sdp_consumer_lag{topic="telemetry.raw.v1",partition="1",app="processor"} 3`,
        `sdp_open_windows{partition="0",app="processor"} 12`,
      ].join('\n'),
    ),
    'cassandra-sink': parseMetrics(
      [
        `sdp_records_in_total{topic="telemetry.clean.v1",app="cassandra-sink"} ${n.rows}`,
        `sdp_records_out_total{topic="readings_by_device_day",app="cassandra-sink"} ${n.rows}`,
        `sdp_records_out_total{topic="aggregates_by_device_minute",app="cassandra-sink"} 40`,
        `sdp_errors_total{kind="write",app="cassandra-sink"} 1`,
        latency('cassandra-sink', n.rows, 0),
      ].join('\n'),
    ),
    'lake-sink': parseMetrics(
      [`sdp_records_out_total{topic="telemetry.clean.v1",app="lake-sink"} ${n.lake}`, latency('lake-sink', n.lake - n.slow, n.slow)].join('\n'),
    ),
  };
}

describe('pipelineCounters', () => {
  test('maps each app metric to its stage, using the contract topic and table names', () => {
    const c = pipelineCounters(scrapes({ produced: 1000, clean: 980, dlq: 10, rows: 970, lake: 900, slow: 100 }));
    expect(c).toMatchObject({
      produced: 1000,
      processed: 990,
      clean: 980,
      aggregates: 40,
      dlq: 10,
      cassandraRows: 970,
      cassandraAggregates: 40,
      lakeRecords: 900,
      consumed: { 'cassandra-sink': 970, 'lake-sink': 0 },
      lag: { processor: 10, 'cassandra-sink': 0, 'lake-sink': 0 },
      errors: 1,
      openWindows: 12,
    });
    expect(c.latency.lake.map((b) => b.count)).toEqual([800, 900, 900]);
  });

  test('a missing app counts as zero', () => {
    expect(pipelineCounters({}).produced).toBe(0);
    expect(pipelineCounters({}).latency.cassandra).toEqual([]);
  });

  test('countersSince subtracts counters and histograms but keeps gauges', () => {
    const before = pipelineCounters(scrapes({ produced: 1000, clean: 980, dlq: 10, rows: 970, lake: 900, slow: 100 }));
    const after = pipelineCounters(scrapes({ produced: 3000, clean: 2960, dlq: 30, rows: 2960, lake: 2960, slow: 150 }));
    const d = countersSince(after, before);
    expect(d).toMatchObject({ produced: 2000, processed: 2000, clean: 1980, dlq: 20, cassandraRows: 1990, lakeRecords: 2060, aggregates: 0, openWindows: 12 });
    expect(d.lag.processor).toBe(10);
    expect(d.latency.lake.map((b) => b.count)).toEqual([2010, 2060, 2060]);
  });
});

describe('latency quantiles', () => {
  const c = pipelineCounters(scrapes({ produced: 100, clean: 100, dlq: 0, rows: 100, lake: 100, slow: 10 }));

  test('per sink, in milliseconds, PromQL-interpolated', () => {
    expect(quantilesMs(c.latency.cassandra)).toEqual({ p50: 500, p95: 950, p99: 990, count: 100 });
    // 90 of 100 under 1 s, the rest in (1, 5]: p95 is half-way through that bucket.
    expect(quantilesMs(c.latency.lake)).toEqual({ p50: 556, p95: 3000, p99: 4600, count: 100 });
  });

  test('end to end takes the slower sink per quantile', () => {
    const e2e = endToEndQuantiles({ cassandra: quantilesMs(c.latency.cassandra), lake: quantilesMs(c.latency.lake) });
    expect(e2e).toEqual({ p50: 556, p95: 3000, p99: 4600, count: 100 });
    expect(endToEndQuantiles({ cassandra: { p50: 5, p95: NaN, p99: 9, count: 1 }, lake: { p50: NaN, p95: 7, p99: NaN, count: 0 } })).toEqual({
      p50: 5,
      p95: 7,
      p99: 9,
      count: 0,
    });
  });

  test('ratePerSec', () => {
    expect(ratePerSec(500, 250)).toBe(2000);
    expect(ratePerSec(500, 0)).toBe(0);
    expect(ratePerSec(-20, 1_000)).toBe(0);
  });
});

describe('per-app flows from the catalog', () => {
  const s = scrapes({ produced: 100, clean: 95, dlq: 5, rows: 95, lake: 95, slow: 0 });

  test('every app of the catalog gets its records in and out by topic label', () => {
    const c = pipelineCounters(s);
    expect(Object.keys(c.apps).sort()).toEqual([...appNames].sort());
    expect(c.apps.processor).toEqual({
      in: { 'telemetry.raw.v1': 100 },
      out: { 'telemetry.clean.v1': 95, 'telemetry.aggregates.v1': 40, 'telemetry.dlq.v1': 5 },
    });
    expect(c.apps['cassandra-sink'].out).toEqual({ readings_by_device_day: 95, aggregates_by_device_minute: 40 });
    expect(c.lag.processor).toBe(10);
  });

  test('since a baseline, each flow subtracts per topic', () => {
    const later = pipelineCounters(scrapes({ produced: 300, clean: 285, dlq: 15, rows: 285, lake: 285, slow: 0 }));
    const d = countersSince(later, pipelineCounters(s));
    expect(d.apps.processor.in).toEqual({ 'telemetry.raw.v1': 200 });
    expect(d.apps.processor.out['telemetry.clean.v1']).toBe(190);
  });

  test('unreadByApp names each consumer that has not read all the others wrote to its topics', () => {
    // The cassandra-sink has read the clean readings but none of the 40 aggregates; the lake-sink
    // exposes no records-in at all here, so all 95 clean readings count as unread by it (its own
    // records-out, labelled with the clean topic, are not writes to that topic); the alerts app
    // reports nothing here, so the 40 aggregates are unread by it too.
    const unread = unreadByApp(pipelineCounters(s));
    expect(unread).toEqual(['cassandra-sink: 40 of telemetry.aggregates.v1', 'lake-sink: 95 of telemetry.clean.v1', 'alerts: 40 of telemetry.aggregates.v1']);
    expect(unread.some((u) => u.startsWith('processor'))).toBe(false);
  });

  test('start order comes from the catalog: every consumer before the apps that only produce', () => {
    const consumers = allApps.filter((a) => a.consumerGroup !== undefined).map((a) => a.name);
    expect(appNames.slice(0, consumers.length)).toEqual(consumers);
    expect(consumerApps).toEqual(consumers);
    expect(appNames).toHaveLength(allApps.length);
  });
});
