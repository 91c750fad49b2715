/**
 * The platform's Prometheus metrics, one definition for every app so dashboards and alerts
 * (`sdp_*`) work the same for all of them.
 *
 * `app` is a registry-wide default label, so callers pass only the other labels:
 * `metrics.recordsIn.inc({ topic }, n)`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface AppMetrics {
  readonly registry: Registry;
  /** Records read from Kafka. Recorded by `runConsumer`; apps do not add to it. */
  readonly recordsIn: Counter<'topic'>;
  /** Records written to their destination (a topic, table or lake prefix). */
  readonly recordsOut: Counter<'topic'>;
  /** Failures by kind (e.g. `send`, `write`, `commit`, `handler`). */
  readonly errors: Counter<'kind'>;
  /** Records routed to the dead-letter topic, by reason class. */
  readonly dlqRecords: Counter<'reason'>;
  /** Time per processing stage of a batch (`batch` is recorded by `runConsumer`). */
  readonly batchDuration: Histogram<'stage'>;
  /** highWatermark - lastOffset - 1 after each batch. Recorded by `runConsumer`. */
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  /** now - Kafka message timestamp, observed after the sink's write succeeded. */
  readonly endToEndLatency: Histogram<never>;
}

/** A fresh registry per call (tests create many); includes prom-client's process metrics. */
export function createMetrics(app: string): AppMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    recordsIn: new Counter({ name: 'sdp_records_in_total', help: 'Records consumed from Kafka', labelNames: ['topic'], registers }),
    recordsOut: new Counter({ name: 'sdp_records_out_total', help: 'Records written to their destination', labelNames: ['topic'], registers }),
    errors: new Counter({ name: 'sdp_errors_total', help: 'Errors by kind', labelNames: ['kind'], registers }),
    dlqRecords: new Counter({ name: 'sdp_dlq_records_total', help: 'Records sent to the dead-letter topic', labelNames: ['reason'], registers }),
    batchDuration: new Histogram({
      name: 'sdp_batch_duration_seconds',
      help: 'Duration of a batch processing stage',
      labelNames: ['stage'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    consumerLag: new Gauge({ name: 'sdp_consumer_lag', help: 'Records behind the partition high watermark', labelNames: ['topic', 'partition'], registers }),
    endToEndLatency: new Histogram({
      name: 'sdp_end_to_end_latency_seconds',
      help: 'Wall-clock time from the Kafka message timestamp to the completed write',
      // Dense between 1 and 10 s, where the pipeline's latency objective (p95 < 5 s) is judged:
      // histogram_quantile interpolates linearly inside a bucket, so 2.5..5 alone could not tell 3 s from 4.9 s.
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7.5, 10, 30, 60, 120, 300],
      registers,
    }),
  };
}

/** Store writes retried by the sinks, by error kind: one declaration so dashboards see one name. */
export function createWriteRetries(registry: Registry): Counter<'kind'> {
  return new Counter({ name: 'sdp_write_retries_total', help: 'Retried store writes by error kind', labelNames: ['kind'], registers: [registry] });
}
