/**
 * The pipeline's progress as the apps report it on /metrics (names from apps/lib/metrics.ts,
 * topics and tables from apps/contracts), reduced to one record per scrape round. Pure, so the
 * arithmetic behind the progress block and the summary is unit-tested.
 */
import { aggregatesTable, readingsTable } from '../../../apps/contracts/tables';
import { allApps, AppName, apps, consumedTopicNames, consumerApps as catalogConsumers, producedTopicNames } from '../../../apps/contracts/apps';
import { topics } from '../../../apps/contracts/topics';
import { Bucket, histogramDelta, histogramOf, histogramQuantile, Sample, sumOf, totalCount } from './prometheus';

export type { AppName };
/** Start order: consumers first (catalog order), so they are in their groups before the first record arrives. */
export const appNames: readonly AppName[] = [...catalogConsumers, ...allApps.filter((a) => a.consumerGroup === undefined)].map((a) => a.name as AppName);
export const consumerApps: readonly AppName[] = catalogConsumers.map((a) => a.name as AppName);

/** Records an app read and wrote, by the `topic` label of its counters (a sink labels its tables so). */
export interface AppFlow {
  readonly in: Readonly<Record<string, number>>;
  readonly out: Readonly<Record<string, number>>;
}

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
  readonly lag: Readonly<Record<string, number>>;
  /** Every app's records in and out by topic, from its `sdp_records_in_total` / `sdp_records_out_total`. */
  readonly apps: Readonly<Record<string, AppFlow>>;
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
    produced: sumOf(of(apps.producer.name), RECORDS_OUT, { topic: topics.raw.name }),
    processed: sumOf(of(apps.processor.name), RECORDS_IN, { topic: topics.raw.name }),
    consumed: { 'cassandra-sink': sumOf(of(apps.cassandraSink.name), RECORDS_IN), 'lake-sink': sumOf(of(apps.lakeSink.name), RECORDS_IN) },
    clean: sumOf(of(apps.processor.name), RECORDS_OUT, { topic: topics.clean.name }),
    aggregates: sumOf(of(apps.processor.name), RECORDS_OUT, { topic: topics.aggregates.name }),
    dlq: consumerApps.reduce((n, app) => n + sumOf(of(app), 'sdp_dlq_records_total'), 0),
    cassandraRows: sumOf(of(apps.cassandraSink.name), RECORDS_OUT, { topic: readingsTable.name }),
    cassandraAggregates: sumOf(of(apps.cassandraSink.name), RECORDS_OUT, { topic: aggregatesTable.name }),
    lakeRecords: sumOf(of(apps.lakeSink.name), RECORDS_OUT, { topic: topics.clean.name }),
    lag: Object.fromEntries(consumerApps.map((app) => [app, sumOf(of(app), 'sdp_consumer_lag')])),
    apps: Object.fromEntries(appNames.map((app) => [app, { in: byTopic(of(app), RECORDS_IN), out: byTopic(of(app), RECORDS_OUT) }])),
    errors: appNames.reduce((n, app) => n + sumOf(of(app), 'sdp_errors_total'), 0),
    openWindows: sumOf(of(apps.processor.name), 'sdp_open_windows'),
    latency: { cassandra: histogramOf(of(apps.cassandraSink.name), LATENCY), lake: histogramOf(of(apps.lakeSink.name), LATENCY) },
  };
}

/**
 * What happened between two scrape rounds of the same processes: counters and histograms
 * subtract, gauges (lag, open windows) are taken from `later`. Used to ignore what the apps did before this run's
 * producer started (e.g. replaying records a previous run left behind).
 */
export function countersSince(later: PipelineCounters, earlier: PipelineCounters): PipelineCounters {
  const d = (k: keyof Omit<PipelineCounters, 'lag' | 'latency' | 'openWindows' | 'consumed' | 'apps'>) => Math.max(0, later[k] - earlier[k]);
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
    apps: Object.fromEntries(Object.entries(later.apps).map(([app, flow]) => [app, flowSince(flow, earlier.apps[app])])),
    errors: d('errors'),
    openWindows: later.openWindows,
    latency: {
      cassandra: histogramDelta(later.latency.cassandra, earlier.latency.cassandra),
      lake: histogramDelta(later.latency.lake, earlier.latency.lake),
    },
  };
}

/** Sums of `name` per value of its `topic` label. */
function byTopic(samples: readonly Sample[], name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of samples) if (x.name === name && x.labels.topic !== undefined) out[x.labels.topic] = (out[x.labels.topic] ?? 0) + x.value;
  return out;
}

function flowSince(later: AppFlow, earlier: AppFlow | undefined): AppFlow {
  const minus = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>> = {}) =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, Math.max(0, v - (b[k] ?? 0))]));
  return { in: minus(later.in, earlier?.in), out: minus(later.out, earlier?.out) };
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

/** Consumer apps that have not yet read everything the other apps wrote to their topics this run, e.g. "cassandra-sink: 12 of telemetry.aggregates.v1". */
export function unreadByApp(c: PipelineCounters): string[] {
  const written: Record<string, number> = {};
  // Only the topics the catalog says an app produces: a sink labels its writes with its input topic.
  for (const app of allApps) for (const t of producedTopicNames(app)) written[t] = (written[t] ?? 0) + (c.apps[app.name]?.out[t] ?? 0);
  return catalogConsumers.flatMap((app) =>
    consumedTopicNames(app).flatMap((t) => {
      const missing = (written[t] ?? 0) - (c.apps[app.name]?.in[t] ?? 0);
      return missing > 0 ? [`${app.name}: ${missing.toLocaleString('en-US')} of ${t}`] : [];
    }),
  );
}
