import type { Batch, TopicMessages } from 'kafkajs';
import pino from 'pino';
import { alertsHandler } from '../../apps/alerts/alerts';
import { alertsEnv } from '../../apps/alerts/config';
import { dlqHeaders, topics } from '../../apps/contracts/topics';
import { telemetryAlertSchema } from '../../apps/contracts/telemetry';
import { loadConfig } from '../../apps/lib/config';
import { runningBatchContext } from './batch-context';
import { createMetrics } from '../../apps/lib/metrics';

const T0 = Date.UTC(2025, 0, 1, 12);
const logger = pino({ level: 'silent' });
const agg = (deviceId: string, metric: string, max: number) =>
  JSON.stringify({
    schemaVersion: 1,
    deviceId,
    metric,
    windowStart: T0,
    windowEnd: T0 + 60_000,
    count: 2,
    min: 1,
    max,
    avg: 2,
    sum: 4,
    last: 3,
    lastTs: T0 + 1,
  });

function batchOf(values: string[], firstOffset = 40): Batch {
  const messages = values.map((value, i) => ({
    offset: String(firstOffset + i),
    key: null,
    value: Buffer.from(value),
    timestamp: String(T0),
    attributes: 0,
    headers: {},
  }));
  return {
    topic: topics.aggregates.name,
    partition: 1,
    highWatermark: String(firstOffset + values.length),
    messages,
    isEmpty: () => false,
    firstOffset: () => messages[0].offset,
    lastOffset: () => messages[messages.length - 1].offset,
    offsetLag: () => '0',
    offsetLagLow: () => '0',
  } as Batch;
}

/** The broker's acknowledgement is stood in for by an array (or a failure); nothing here proves delivery. */
function harness(failSend = false) {
  const sent: TopicMessages[] = [];
  const metrics = createMetrics('alerts');
  const handle = alertsHandler({
    rules: loadConfig(alertsEnv, { KAFKA_BROKERS: 'k:9092', ALERTS_RULES: 'humidity.max>60' }).ALERTS_RULES,
    send: async (tm) => {
      if (failSend) throw new Error('broker down');
      sent.push(...tm);
    },
    topics: { alerts: topics.alerts.name, deadLetter: topics.deadLetter.name },
    metrics,
  });
  const ctx = runningBatchContext(logger, metrics);
  return { handle: (b: Batch) => handle(b, ctx), sent, metrics };
}

describe('alerts handler', () => {
  it('sends breaches as contract alerts and malformed aggregates to the DLQ, then reports the batch end as safe', async () => {
    const h = harness();
    const result = await h.handle(batchOf([agg('dev-1', 'humidity', 75), agg('dev-2', 'humidity', 50), '{"nope', agg('dev-3', 'temperature', 99)]));
    expect(result).toBe('44');
    const alerts = h.sent.filter((t) => t.topic === topics.alerts.name).flatMap((t) => t.messages);
    expect(alerts.map((m) => telemetryAlertSchema.parse(JSON.parse(String(m.value))))).toEqual([
      expect.objectContaining({ deviceId: 'dev-1', value: 75, rule: 'humidity.max>60' }),
    ]);
    const [dead] = h.sent.filter((t) => t.topic === topics.deadLetter.name).flatMap((t) => t.messages);
    expect(dead.headers).toMatchObject({
      [dlqHeaders.offset]: '42',
      [dlqHeaders.topic]: topics.aggregates.name,
      [dlqHeaders.reason]: expect.stringMatching(/^invalid_json: /),
    });
    const text = await h.metrics.registry.metrics();
    expect(text).toContain('sdp_dlq_records_total{reason="invalid_json",app="alerts"} 1');
    expect(text).toContain(`sdp_records_out_total{topic="${topics.alerts.name}",app="alerts"} 1`);
  });

  it('reports nothing safe when the send fails, so the batch is replayed', async () => {
    const h = harness(true);
    await expect(h.handle(batchOf([agg('dev-1', 'humidity', 75)]))).rejects.toThrow('broker down');
  });
});
