/**
 * Kafka topics: declared once, used by the MSK construct (IAM grants), the topic admin job on
 * the cluster, the local services and the apps. Consumer groups belong to the app catalog (./apps.ts).
 * Replication factor and min.insync.replicas come from the environment (see config/).
 */
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export interface TopicDeclaration {
  readonly name: string;
  readonly partitions: number;
  /** Retention in hours; -1 keeps forever. */
  readonly retentionHours: number;
  readonly cleanupPolicy: CleanupPolicy;
  readonly description: string;
}

export const topics = {
  raw: {
    name: 'telemetry.raw.v1',
    partitions: 12,
    retentionHours: 72,
    cleanupPolicy: 'delete',
    description: 'Readings as devices send them, unvalidated',
  },
  clean: {
    name: 'telemetry.clean.v1',
    partitions: 12,
    retentionHours: 72,
    cleanupPolicy: 'delete',
    description: 'Validated readings (schema v1), keyed by deviceId',
  },
  aggregates: {
    name: 'telemetry.aggregates.v1',
    partitions: 6,
    retentionHours: 168,
    cleanupPolicy: 'delete',
    description: '1-minute tumbling-window aggregates per device and metric',
  },
  deadLetter: {
    name: 'telemetry.dlq.v1',
    partitions: 3,
    retentionHours: 336,
    cleanupPolicy: 'delete',
    description: 'Records that failed validation, with the reason and source coordinates in headers',
  },
  alerts: {
    name: 'telemetry.alerts.v1',
    partitions: 3,
    retentionHours: 168,
    cleanupPolicy: 'delete',
    description: 'Threshold breaches found in the 1-minute aggregates, keyed by device, metric, window and rule',
  },
} as const satisfies Record<string, TopicDeclaration>;

export type TopicKey = keyof typeof topics;
export const allTopics: readonly TopicDeclaration[] = Object.values(topics);

/** Kafka topic configs for a declaration, given the environment's durability settings. */
export function topicConfig(topic: TopicDeclaration, minInsyncReplicas: number): Record<string, string> {
  return {
    'cleanup.policy': topic.cleanupPolicy,
    'retention.ms': topic.retentionHours < 0 ? '-1' : String(topic.retentionHours * 3_600_000),
    'min.insync.replicas': String(minInsyncReplicas),
  };
}

/** DLQ header names, after Kafka Connect's `errors.deadletterqueue.context.headers.enable`. */
export const dlqHeaders = {
  reason: '__dlq.errors.reason',
  topic: '__dlq.errors.topic',
  partition: '__dlq.errors.partition',
  offset: '__dlq.errors.offset',
  exceptionClass: '__dlq.errors.exception.class',
  failedAt: '__dlq.errors.timestamp',
  /** The trace of the stage that rejected the record (its `traceparent` is the DLQ send span's). */
  traceId: '__dlq.errors.trace.id',
} as const;
