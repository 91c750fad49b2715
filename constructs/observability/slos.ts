/**
 * The platform's service level objectives, declared once. `slo-rules.ts` turns each into
 * recording rules and multi-window burn-rate alerts, `slo-dashboard.ts` into a Grafana dashboard,
 * and docs/slos.md says how to add one.
 */
import { allApps, AppDeclaration, apps } from '../../apps/contracts/apps';

export interface ServiceLevelObjective {
  /** A DNS label: the `slo` label of its recorded series and alerts. */
  readonly name: string;
  /** What the platform promises, in one sentence; it opens the alert description. */
  readonly description: string;
  /** Share of good events (or good samples) over SLO_PERIOD_HOURS, strictly between 0 and 1. */
  readonly objective: number;
  readonly sli: ServiceLevelIndicator;
  /**
   * Labels every alert of the SLO carries; `app` is one Alertmanager groups by.
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
  /** The first thing the person on call should do, in one line. */
  readonly runbook: string;
}

export type ServiceLevelIndicator = EventSli | SampledSli;

/**
 * Counters: the error ratio over a window is bad / total of their rates. Give the bad events or
 * the good ones (then bad = total - good), as selectors without a range.
 */
export type EventSli =
  | { readonly kind: 'events'; readonly total: string; readonly bad: string; readonly good?: never }
  | { readonly kind: 'events'; readonly total: string; readonly good: string; readonly bad?: never };

/**
 * Gauges: `bad` and `total` are instant expressions of one series each, recorded at every rule
 * evaluation; the error ratio over a window is the sum of the bad samples over the sum of the
 * total ones (e.g. replica-minutes unavailable over replica-minutes wanted).
 */
export interface SampledSli {
  readonly kind: 'samples';
  readonly bad: string;
  readonly total: string;
}

/** `0.995` as `99.5%`, without float noise. */
export const percent = (ratio: number): string => `${Number((ratio * 100).toPrecision(12))}%`;

/** The period error budgets are counted over; the burn-rate factors of slo-rules.ts assume it. */
export const SLO_PERIOD_HOURS = 30 * 24;

/** Readings in Keyspaces within this many seconds of their Kafka timestamp (a latency bucket bound). */
export const CASSANDRA_FRESHNESS_SECONDS = 5;

/**
 * Readings in the lake within this many seconds. The lake sink uploads a partition's open file
 * once its oldest unflushed reading has waited LAKE_SINK_IDLE_FLUSH_MS (10 s by default), checked
 * on a timer of min(1 s, flush / 2), so a reading that opens a flush is about 11 s old before its
 * upload starts. The upload re-encodes the whole file so far and waits for one of the 4 upload
 * slots; 30 s leaves 19 s for that, the hop through the processor and a retried PUT. It is also
 * the next bound of the latency histogram after 10 s, which the flush delay alone would miss.
 */
export const LAKE_FRESHNESS_SECONDS = 30;

/**
 * A bucket of `sdp_end_to_end_latency_seconds` by its bound. Prometheus 3 writes a whole bound
 * as `5.0` where Prometheus 2 (and prom-client's text) writes `5`; match both.
 */
export function latencyBucket(app: string, seconds: number): string {
  const le = Number.isInteger(seconds) ? `${seconds}|${seconds}\\\\.0` : String(seconds).replace('.', '\\\\.');
  return `sdp_end_to_end_latency_seconds_bucket{app="${app}", le=~"${le}"}`;
}

/** Readings written by a sink within `seconds` of their Kafka timestamp, from the sink's latency histogram. */
function freshness(name: string, sink: AppDeclaration, store: string, seconds: number, runbook: string): ServiceLevelObjective {
  const objective = 0.99;
  return {
    name,
    description: `${percent(objective)} of readings are in ${store} within ${seconds} s of their Kafka timestamp.`,
    objective,
    sli: { kind: 'events', total: `sdp_end_to_end_latency_seconds_count{app="${sink.name}"}`, good: latencyBucket(sink.name, seconds) },
    labels: { app: sink.name },
    runbook,
  };
}

/** Availability of one catalog app: the replicas its Deployment wants that are available (ready on /readyz). */
function availability(app: AppDeclaration): ServiceLevelObjective {
  // Each app runs as Deployment <name> in namespace <name> (constructs/stream-app.ts).
  const deployment = `namespace="${app.name}", deployment="${app.name}"`;
  const objective = 0.995;
  return {
    name: `availability-${app.name}`,
    description: `${percent(objective)} of the replicas the ${app.name} Deployment wants are available (ready on /readyz).`,
    objective,
    sli: {
      kind: 'samples',
      // Wanted minus available, never negative; surge pods of a rollout (maxUnavailable 0) do not count.
      bad: `sum(kube_deployment_status_replicas_unavailable{${deployment}})`,
      total: `sum(kube_deployment_spec_replicas{${deployment}})`,
    },
    labels: { app: app.name, namespace: app.name },
    runbook: `kubectl -n ${app.name} get pods; describe the ones not Ready: /readyz fails until the app is connected (Kafka, its store) and while it drains.`,
  };
}

/**
 * The SLOs the platform deploys: freshness per store, the processor's dead-letter share, and the
 * availability of every app of the catalog (apps/contracts/apps.ts).
 */
export const platformSlos: readonly ServiceLevelObjective[] = [
  // The cassandra-sink's histogram also holds aggregates, stamped when the processor emits them: a small, fresher share.
  freshness(
    'freshness-cassandra',
    apps.cassandraSink,
    'Keyspaces',
    CASSANDRA_FRESHNESS_SECONDS,
    'Check the SdpSinkErrors alert and the Keyspaces dashboard for throttling; then the lag of cassandra-sink and whether KEDA is at maxReplicas.',
  ),
  freshness(
    'freshness-lake',
    apps.lakeSink,
    'the lake',
    LAKE_FRESHNESS_SECONDS,
    'Check sdp_write_retries_total of lake-sink (S3 errors), its lag and LAKE_SINK_IDLE_FLUSH_MS; a flush interval near the objective leaves no room for uploads.',
  ),
  {
    name: 'dead-letter-share',
    description: `${percent(0.99)} of the records the processor reads are valid; the rest go to the dead-letter topic.`,
    objective: 0.99,
    sli: { kind: 'events', total: `sdp_records_in_total{app="${apps.processor.name}"}`, bad: `sdp_dlq_records_total{app="${apps.processor.name}"}` },
    labels: { app: apps.processor.name },
    runbook:
      'Group sdp_dlq_records_total by reason, read a few DLQ records (the __dlq.errors.* headers name the source and the reason) and fix the sender or the schema.',
  },
  ...allApps.map(availability),
];
