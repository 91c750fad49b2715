/**
 * The pipeline's progress as the apps report it on /metrics (names from apps/lib/metrics.ts,
 * topics and tables from apps/contracts), reduced to one record per scrape round. Pure, so the
 * arithmetic behind the progress block and the summary is unit-tested.
 */
import { aggregatesTable, readingsTable } from '../../../apps/contracts/tables';
import { topics } from '../../../apps/contracts/topics';
import { Bucket, histogramDelta, histogramOf, histogramQuantile, Sample, sumOf, totalCount } from './prometheus';

export type AppName = 'producer' | 'processor' | 'cassandra-sink' | 'lake-sink';
/** Start order: consumers first, so they are in their groups before the first record arrives. */
export const appNames: readonly AppName[] = ['processor', 'cassandra-sink', 'lake-sink', 'producer'];
export const consumerApps: readonly AppName[] = ['processor', 'cassandra-sink', 'lake-sink'];
/** The ports the shared-services convention assigns; a busy one is replaced by a free port. */
export const conventionalPorts: Readonly<Record<AppName, number>> = {
  producer: 8080,
  processor: 8081,
  'cassandra-sink': 8082,
  'lake-sink': 8083,
};

export type Scrapes = Partial<Record<AppName, readonly Sample[]>>;

export interface PipelineCounters {
  /** Records the brokers acknowledged to the producer. */
  readonly produced: number;
  /** Raw records the processor consumed. */
  readonly processed: number;
  /** Records each sink consumed (written or buffered). */
  readonly consumed: Readonly<Record<'cassandra-sink' | 'lake-sink', number>>;
  /** Valid readings the processor wrote to the clean topic. */
  readonly clean: number;
  /** Aggregates the processor wrote. */
  readonly aggregates: number;
  /** Dead letters from any app (processor rejections plus sink rejections). */
  readonly dlq: number;
  /** Rows written to readings_by_device_day. */
  readonly cassandraRows: number;
  /** Rows written to aggregates_by_device_minute. */
  readonly cassandraAggregates: number;
  /** Readings first visible in the lake. */
  readonly lakeRecords: number;
  /** Records behind the high watermark per consumer app (as of each partition's last batch). */
  readonly lag: Readonly<Record<'processor' | 'cassandra-sink' | 'lake-sink', number>>;
  readonly errors: number;
  /** Windows the processor still holds open (awaiting the watermark). */
  readonly openWindows: number;
  /** `sdp_end_to_end_latency_seconds` buckets per sink. */
  readonly latency: { readonly cassandra: readonly Bucket[]; readonly lake: readonly Bucket[] };
}

const RECORDS_IN = 'sdp_records_in_total';
const RECORDS_OUT = 'sdp_records_out_total';
const LATENCY = 'sdp_end_to_end_latency_seconds';

export function pipelineCounters(s: Scrapes): PipelineCounters {
  const of = (app: AppName) => s[app] ?? [];
  return {
    produced: sumOf(of('producer'), RECORDS_OUT, { topic: topics.raw.name }),
    processed: sumOf(of('processor'), RECORDS_IN, { topic: topics.raw.name }),
    consumed: { 'cassandra-sink': sumOf(of('cassandra-sink'), RECORDS_IN), 'lake-sink': sumOf(of('lake-sink'), RECORDS_IN) },
    clean: sumOf(of('processor'), RECORDS_OUT, { topic: topics.clean.name }),
    aggregates: sumOf(of('processor'), RECORDS_OUT, { topic: topics.aggregates.name }),
    dlq: consumerApps.reduce((n, app) => n + sumOf(of(app), 'sdp_dlq_records_total'), 0),
    cassandraRows: sumOf(of('cassandra-sink'), RECORDS_OUT, { topic: readingsTable.name }),
    cassandraAggregates: sumOf(of('cassandra-sink'), RECORDS_OUT, { topic: aggregatesTable.name }),
    lakeRecords: sumOf(of('lake-sink'), RECORDS_OUT, { topic: topics.clean.name }),
    lag: {
      processor: sumOf(of('processor'), 'sdp_consumer_lag'),
      'cassandra-sink': sumOf(of('cassandra-sink'), 'sdp_consumer_lag'),
      'lake-sink': sumOf(of('lake-sink'), 'sdp_consumer_lag'),
    },
    errors: appNames.reduce((n, app) => n + sumOf(of(app), 'sdp_errors_total'), 0),
    openWindows: sumOf(of('processor'), 'sdp_open_windows'),
    latency: { cassandra: histogramOf(of('cassandra-sink'), LATENCY), lake: histogramOf(of('lake-sink'), LATENCY) },
  };
}

/**
 * What happened between two scrape rounds of the same processes: counters and histograms
 * subtract, gauges (lag, open windows) are taken from `later`. Used to ignore what the apps did before this run's
 * producer started (e.g. replaying records a previous run left behind).
 */
export function countersSince(later: PipelineCounters, earlier: PipelineCounters): PipelineCounters {
  const d = (k: keyof Omit<PipelineCounters, 'lag' | 'latency' | 'openWindows' | 'consumed'>) => Math.max(0, later[k] - earlier[k]);
  return {
    produced: d('produced'),
    processed: d('processed'),
    consumed: {
      'cassandra-sink': Math.max(0, later.consumed['cassandra-sink'] - earlier.consumed['cassandra-sink']),
      'lake-sink': Math.max(0, later.consumed['lake-sink'] - earlier.consumed['lake-sink']),
    },
    clean: d('clean'),
    aggregates: d('aggregates'),
    dlq: d('dlq'),
    cassandraRows: d('cassandraRows'),
    cassandraAggregates: d('cassandraAggregates'),
    lakeRecords: d('lakeRecords'),
    lag: later.lag,
    errors: d('errors'),
    openWindows: later.openWindows,
    latency: {
      cassandra: histogramDelta(later.latency.cassandra, earlier.latency.cassandra),
      lake: histogramDelta(later.latency.lake, earlier.latency.lake),
    },
  };
}

export interface Quantiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  /** Observations the quantiles come from. */
  readonly count: number;
}

/** p50/p95/p99 in milliseconds (rounded), by PromQL-style interpolation; NaN without data. */
export function quantilesMs(buckets: readonly Bucket[]): Quantiles {
  const ms = (q: number) => Math.round(histogramQuantile(q, buckets) * 1000);
  return { p50: ms(0.5), p95: ms(0.95), p99: ms(0.99), count: totalCount(buckets) };
}

/**
 * End-to-end latency of the pipeline: a reading is done once it is in BOTH stores, so each
 * quantile is the slower sink's (exact when one sink is the slower one for nearly every record,
 * as the lake's flush interval makes it here; a lower bound otherwise).
 */
export function endToEndQuantiles(bySink: { readonly cassandra: Quantiles; readonly lake: Quantiles }): Quantiles {
  const worst = (a: number, b: number) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b));
  const { cassandra: c, lake: l } = bySink;
  return { p50: worst(c.p50, l.p50), p95: worst(c.p95, l.p95), p99: worst(c.p99, l.p99), count: Math.min(c.count, l.count) };
}

/** Events per second between two observations; 0 for an empty interval or a counter that went back. */
export function ratePerSec(countDelta: number, elapsedMs: number): number {
  return elapsedMs > 0 && countDelta > 0 ? (countDelta * 1000) / elapsedMs : 0;
}
