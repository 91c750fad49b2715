/**
 * Dead-letter routing after Kafka Connect (`errors.deadletterqueue.*`): the original key, value,
 * timestamp and headers, plus context headers (`dlqHeaders` in apps/contracts) saying why and
 * where the record failed. Used by both sinks.
 */
import type { CompressionTypes, IHeaders, KafkaMessage, Message, Producer } from 'kafkajs';
import { dlqHeaders, topics } from '../contracts';
import type { AppMetrics } from '../lib';
import type { RejectReason } from './records';

export interface Rejection {
  readonly message: KafkaMessage;
  readonly reason: RejectReason;
  /** Human-readable cause, e.g. the failing field and rule. */
  readonly detail: string;
  readonly errorClass: string;
}

export interface RecordSource {
  readonly topic: string;
  readonly partition: number;
}

/** Header values are capped so one huge error message cannot exceed the broker's record limit. */
const MAX_REASON_CHARS = 1024;

export function deadLetterMessage(source: RecordSource, rejection: Rejection, failedAtMs: number): Message {
  const { message } = rejection;
  const headers: IHeaders = {
    ...message.headers,
    [dlqHeaders.reason]: `${rejection.reason}: ${rejection.detail}`.slice(0, MAX_REASON_CHARS),
    [dlqHeaders.topic]: source.topic,
    [dlqHeaders.partition]: String(source.partition),
    [dlqHeaders.offset]: message.offset,
    [dlqHeaders.exceptionClass]: rejection.errorClass,
    [dlqHeaders.failedAt]: String(failedAtMs),
  };
  return { key: message.key, value: message.value, timestamp: message.timestamp, headers };
}

/** Anything that can take rejected records; the sinks commit only after `send` resolved. */
export interface DeadLetterSink {
  send(source: RecordSource, rejections: readonly Rejection[]): Promise<void>;
}

export class DeadLetterQueue implements DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    private readonly metrics: Pick<AppMetrics, 'dlqRecords'>,
    private readonly compression?: CompressionTypes,
    private readonly topic: string = topics.deadLetter.name,
  ) {}

  async send(source: RecordSource, rejections: readonly Rejection[]): Promise<void> {
    if (rejections.length === 0) return;
    const now = Date.now();
    await this.producer.send({
      topic: this.topic,
      // All in-sync replicas: the source offset is committed right after this resolves.
      acks: -1,
      ...(this.compression !== undefined ? { compression: this.compression } : {}),
      messages: rejections.map((r) => deadLetterMessage(source, r, now)),
    });
    for (const r of rejections) this.metrics.dlqRecords.inc({ reason: r.reason });
  }
}
