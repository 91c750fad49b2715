/**
 * The alerts example app against the real local Kafka: aggregates (some breaching, one
 * malformed) go into the aggregates topic, and the app must write exactly the breaches to the
 * alerts topic, dead-letter the malformed record, commit to the end of its input and exit 0 on
 * SIGTERM. The processor is not involved, so the test controls every aggregate.
 */
import * as path from 'path';
import { apps } from '../../apps/contracts/apps';
import { telemetryAlertSchema } from '../../apps/contracts/telemetry';
import { dlqHeaders, topics } from '../../apps/contracts/topics';
import { groupBacklog, readTopic, resetKafka, testKafka, topicOffsets, topicSize, withAdmin } from './support/kafka';
import { probeStatus } from './support/metrics';
import { AppProcess, killAllApps, repoRoot } from './support/processes';
import { done, pending, waitFor } from './support/wait';

const T0 = Date.UTC(2026, 0, 1, 12);
const aggregate = (device: number, metric: string, max: number) =>
  JSON.stringify({
    schemaVersion: 1,
    deviceId: `dev-${device}`,
    metric,
    windowStart: T0,
    windowEnd: T0 + 60_000,
    count: 4,
    min: max - 3,
    max,
    avg: max - 1,
    sum: 4 * (max - 1),
    last: max - 2,
    lastTs: T0 + 30_000,
  });

describe('alerts app (real Kafka)', () => {
  let app: AppProcess | undefined;

  afterAll(async () => {
    await killAllApps();
  });

  it('writes exactly the threshold breaches, dead-letters the malformed aggregate and commits its input', async () => {
    await resetKafka();
    app = new AppProcess('alerts', path.join(repoRoot, '.local', 'integration', 'alerts', 'alerts.log'), { ALERTS_RULES: 'humidity.max>60,battery.min<20' });
    const guard = () => {
      if (!app?.running) throw new Error(`alerts exited (${JSON.stringify(app?.exit)}):\n${app?.logTail()}`);
    };
    await waitFor('alerts /readyz', async () => ((await probeStatus(app!.port, '/readyz')) === 200 ? done(undefined) : pending('not ready')), {
      timeoutMs: 90_000,
      intervalMs: 250,
      guard,
    });

    // 200 devices: humidity max cycles 50..69 (breach above 60), battery min 17..36 (breach below 20).
    const values: string[] = [];
    let expected = 0;
    for (let d = 0; d < 200; d++) {
      const humidity = 50 + (d % 20);
      const batteryMax = 20 + (d % 20); // min = max - 3
      values.push(aggregate(d, 'humidity', humidity), aggregate(d, 'battery', batteryMax), aggregate(d, 'pressure', 1_000));
      expected += (humidity > 60 ? 1 : 0) + (batteryMax - 3 < 20 ? 1 : 0);
    }
    const producer = testKafka('sdp-integration-alerts').producer();
    await producer.connect();
    try {
      await producer.send({
        topic: topics.aggregates.name,
        acks: -1,
        messages: [...values.map((value, i) => ({ key: `k${i}`, value })), { key: 'bad', value: '{"broken' }],
      });
    } finally {
      await producer.disconnect();
    }

    await waitFor(
      'the alerts app to write every breach and commit its input',
      () =>
        withAdmin(async (admin) => {
          const [alerts, backlog] = [
            await topicSize(admin, topics.alerts.name),
            await groupBacklog(admin, apps.alerts.consumerGroup, topics.aggregates.name, await topicOffsets(admin, topics.aggregates.name)),
          ];
          return alerts >= expected && backlog === 0 ? done(undefined) : pending(`${alerts}/${expected} alerts, ${backlog} aggregates behind the commit`);
        }),
      { timeoutMs: 120_000, intervalMs: 500, guard },
    );
    const exit = await app.stop();

    const alerts = (await readTopic(topics.alerts.name)).map((r) => telemetryAlertSchema.parse(JSON.parse(String(r.value))));
    expect(alerts).toHaveLength(expected);
    expect(new Set(alerts.map((a) => `${a.deviceId}|${a.rule}`)).size).toBe(expected);
    expect(alerts.every((a) => (a.comparison === 'above' ? a.value > a.threshold : a.value < a.threshold))).toBe(true);
    const dead = (await readTopic(topics.deadLetter.name)).filter((r) => r.headers[dlqHeaders.topic] === topics.aggregates.name);
    expect(dead.map((r) => [String(r.value), r.headers[dlqHeaders.reason]?.split(':')[0]])).toEqual([['{"broken', 'invalid_json']]);
    expect(exit).toEqual({ code: 0, signal: null });
  }, 300_000);
});
