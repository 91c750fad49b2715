/**
 * Dead-letter routing after Kafka Connect (`errors.tolerance=all` with
 * `errors.deadletterqueue.context.headers.enable=true`): the original key, value, timestamp and
 * headers, plus context headers (`dlqHeaders` in apps/contracts) saying why and where the record
 * failed. The one builder and the one reason label set of `sdp_dlq_records_total` for every app.
 * A dead letter keeps the trace id (`__dlq.errors.trace.id`), so a rejected record leads to the
 * trace of the batch that rejected it, whose span links the upstream batches.
 */
import type { CompressionTypes, IHeaders, Message, Producer } from 'kafkajs';
import { dlqHeaders } from '../contracts/topics';
import type { AppMetrics } from './metrics';
import type { Rejection } from './records';
import { TRACEPARENT, traceIdOf } from './tracing';

export type { Rejection } from './records';

export interface RecordSource {
  readonly topic: string;
  readonly partition: number;
}

/** Header values are capped so one huge error message cannot exceed the broker's record limit. */
export const MAX_REASON_CHARS = 1024;

/**
 * @param traceparent the rejecting stage's DLQ send span; without one (tracing off) the record's
 *   own `traceparent`, if any, stays and names the trace
 */
export function deadLetterMessage(source: RecordSource, rejection: Rejection, failedAtMs: number, traceparent?: string): Message {
  const { message } = rejection;
  const reason = `${rejection.reason}: ${rejection.detail}`;
  const trace: IHeaders = traceparent !== undefined ? { [TRACEPARENT]: traceparent } : {};
  const traceId = traceIdOf(traceparent !== undefined ? trace : message.headers);
  const headers: IHeaders = {
    ...message.headers,
    ...trace,
    ...(traceId !== undefined ? { [dlqHeaders.traceId]: traceId } : {}),
    [dlqHeaders.reason]: reason.length <= MAX_REASON_CHARS ? reason : `${reason.slice(0, MAX_REASON_CHARS - 1)}…`,
    [dlqHeaders.topic]: source.topic,
    [dlqHeaders.partition]: String(source.partition),
    [dlqHeaders.offset]: message.offset,
    [dlqHeaders.exceptionClass]: rejection.errorClass,
    [dlqHeaders.failedAt]: String(failedAtMs),
  };
  return { key: message.key, value: message.value, timestamp: message.timestamp, headers };
}

/** Counts dead letters once they were acknowledged, by reason. */
export function countDeadLetters(metrics: Pick<AppMetrics, 'dlqRecords'>, rejections: readonly Pick<Rejection, 'reason'>[]): void {
  for (const r of rejections) metrics.dlqRecords.inc({ reason: r.reason });
}

/** Anything that can take rejected records; a handler commits only after `send` resolved. */
export interface DeadLetterSink {
  /** @param traceparent the sending stage's span, for `deadLetterMessage` */
  send(source: RecordSource, rejections: readonly Rejection[], traceparent?: string): Promise<void>;
}

/** Sends dead letters on their own (the sinks); the processor batches them with its other output. */
export class DeadLetterQueue implements DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly metrics: Pick<AppMetrics, 'dlqRecords'>,
    private readonly compression?: CompressionTypes,
  ) {}

  async send(source: RecordSource, rejections: readonly Rejection[], traceparent?: string): Promise<void> {
    if (rejections.length === 0) return;
    const now = Date.now();
    await this.producer.send({
      topic: this.topic,
      // All in-sync replicas: the source offset is committed right after this resolves.
      acks: -1,
      ...(this.compression !== undefined ? { compression: this.compression } : {}),
      messages: rejections.map((r) => deadLetterMessage(source, r, now, traceparent)),
    });
    countDeadLetters(this.metrics, rejections);
  }
}
