/**
 * The alerts app's batch handler: decode aggregates (a record that does not decode is
 * dead-lettered), send one alert per broken rule, and report the batch's end as safe only once
 * the alerts and dead letters were acknowledged. At least once: a replay re-sends the same alert
 * under the same key.
 */
import type { Message, TopicMessages } from 'kafkajs';
import { telemetryAggregateSchema } from '../contracts/telemetry';
import type { Batch, BatchContext, BatchResult } from '../lib/consumer';
import { countDeadLetters, deadLetterMessage } from '../lib/dead-letter';
import type { AppMetrics } from '../lib/metrics';
import { decodeAll, jsonDecoder } from '../lib/records';
import { alertKey, breaches, ThresholdRule } from './rules';

export interface AlertsDeps {
  readonly rules: readonly ThresholdRule[];
  /** Resolves once every message was acknowledged by all in-sync replicas. */
  readonly send: (topicMessages: readonly TopicMessages[]) => Promise<void>;
  readonly topics: { readonly alerts: string; readonly deadLetter: string };
  readonly metrics: AppMetrics;
}

const decodeAggregate = jsonDecoder(telemetryAggregateSchema);

export function alertsHandler(deps: AlertsDeps): (batch: Batch, ctx: BatchContext) => Promise<BatchResult> {
  const { metrics } = deps;
  return async (batch) => {
    const { accepted, rejections } = decodeAll(batch.messages, decodeAggregate);
    const alerts: Message[] = [];
    for (const { message, value } of accepted) {
      for (const alert of breaches(value, deps.rules)) alerts.push({ key: alertKey(alert), value: JSON.stringify(alert), timestamp: message.timestamp });
    }
    const failedAt = Date.now();
    const out: TopicMessages[] = [];
    if (alerts.length > 0) out.push({ topic: deps.topics.alerts, messages: alerts });
    if (rejections.length > 0) out.push({ topic: deps.topics.deadLetter, messages: rejections.map((r) => deadLetterMessage(batch, r, failedAt)) });
    if (out.length > 0) {
      const endSend = metrics.batchDuration.startTimer({ stage: 'send' });
      try {
        await deps.send(out);
      } catch (err) {
        metrics.errors.inc({ kind: 'send' });
        throw err;
      } finally {
        endSend();
      }
      for (const t of out) metrics.recordsOut.inc({ topic: t.topic }, t.messages.length);
      countDeadLetters(metrics, rejections);
    }
    const now = Date.now();
    for (const { message } of accepted) metrics.endToEndLatency.observe((now - Number(message.timestamp)) / 1000);
    return (BigInt(batch.lastOffset()) + 1n).toString();
  };
}
