import type { Batch, TopicMessages } from 'kafkajs';
import pino from 'pino';
import { TelemetryAggregate } from '../../apps/contracts/telemetry';
import { dlqHeaders, topics } from '../../apps/contracts/topics';
import type { BatchContext, IdleContext, OffsetCommit } from '../../apps/lib/consumer';
import { createMetrics } from '../../apps/lib/metrics';
import { decodeCommitMetadata } from '../../apps/processor/offsets';
import { Processor } from '../../apps/processor/processor';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const logger = pino({ level: 'silent' });

interface Raw {
  offset: number;
  value: string;
  key?: string;
}
const reading = (offset: number, ts: number, deviceId = 'dev-1', value = offset): Raw => ({
  offset,
  key: deviceId,
  value: JSON.stringify({ schemaVersion: 1, deviceId, ts, metric: 'temperature', value }),
});

function batchOf(records: Raw[], partition = 0): Batch {
  const messages = records.map((r) => ({
    offset: String(r.offset),
    key: r.key === undefined ? null : Buffer.from(r.key),
    value: Buffer.from(r.value),
    timestamp: String(1_700_000_000_000 + r.offset),
    attributes: 0,
    headers: { traceparent: 'abc' },
  }));
  return {
    topic: topics.raw.name,
    partition,
    highWatermark: String(records[records.length - 1].offset + 1),
    messages,
    isEmpty: () => messages.length === 0,
    firstOffset: () => messages[0].offset,
    lastOffset: () => messages[messages.length - 1].offset,
    offsetLag: () => '0',
    offsetLagLow: () => '0',
  } as Batch;
}

function harness(opts: { maxInFlightMessages?: number; failSend?: boolean } = {}) {
  const sent: TopicMessages[] = [];
  const metrics = createMetrics('processor');
  const processor = new Processor({
    send: async (tm) => {
      await new Promise((r) => setImmediate(r));
      if (opts.failSend) throw new Error('broker down');
      sent.push(...tm);
    },
    topics: { raw: topics.raw.name, clean: topics.clean.name, aggregates: topics.aggregates.name, deadLetter: topics.deadLetter.name },
    logger,
    metrics,
    allowedLatenessMs: 10_000,
    idleFlushMs: 15_000,
    maxInFlightMessages: opts.maxInFlightMessages,
  });
  const ctx = {
    logger,
    metrics,
    generation: 1,
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
    pause: jest.fn(),
    resume: jest.fn(),
  } satisfies BatchContext;
  const of = (topic: string) => sent.filter((t) => t.topic === topic).flatMap((t) => t.messages);
  const aggregates = () => of(topics.aggregates.name).map((m) => JSON.parse(String(m.value)) as TelemetryAggregate);
  return { processor, ctx, sent, of, aggregates, metrics };
}

describe('Processor', () => {
  test('routes valid readings to clean, malformed to the DLQ with context headers, and closed windows to aggregates', async () => {
    const h = harness();
    h.processor.assign(new Map([[0, undefined]]));
    const result = await h.processor.handleBatch(
      batchOf([
        reading(100, T0 + 1_000),
        { offset: 101, key: 'dev-1', value: '{"broken' },
        reading(102, T0 + 2_000, 'dev-2'),
        reading(103, T0 + 75_000), // watermark T0+65s: minute 0 closes; minute 1 opens at 103
      ]),
      h.ctx,
    );

    const clean = h.of(topics.clean.name);
    expect(clean.map((m) => m.key)).toEqual(['dev-1', 'dev-2', 'dev-1']);
    expect(clean[0]).toMatchObject({ value: reading(100, T0 + 1_000).value, timestamp: String(1_700_000_000_100) });

    const [dead] = h.of(topics.deadLetter.name);
    expect(String(dead.value)).toBe('{"broken');
    expect(String(dead.key)).toBe('dev-1');
    expect(dead.headers).toMatchObject({
      traceparent: 'abc',
      [dlqHeaders.topic]: topics.raw.name,
      [dlqHeaders.partition]: '0',
      [dlqHeaders.offset]: '101',
      [dlqHeaders.exceptionClass]: 'SyntaxError',
      [dlqHeaders.reason]: expect.stringMatching(/^invalid_json: invalid JSON/),
      [dlqHeaders.failedAt]: expect.stringMatching(/^\d+$/),
    });

    expect(h.aggregates().map((a) => [a.deviceId, a.windowStart, a.count])).toEqual([
      ['dev-1', T0, 1],
      ['dev-2', T0, 1],
    ]);
    expect(h.of(topics.aggregates.name)[0].key).toBe(`dev-1|temperature|${T0}`);

    expect(result).toEqual({ offset: '103', metadata: expect.any(String) });
    const meta = decodeCommitMetadata((result as { metadata: string }).metadata);
    expect(meta).toEqual({ watermark: T0 + 65_000, sentUpTo: 104 });
    const text = await h.metrics.registry.metrics();
    expect(text).toContain('sdp_dlq_records_total{reason="invalid_json",app="processor"} 1');
    expect(text).toContain(`sdp_records_out_total{topic="${topics.clean.name}",app="processor"} 3`);
  });

  test('a failed send fails the batch, so nothing is committed', async () => {
    const h = harness({ failSend: true });
    h.processor.assign(new Map([[0, undefined]]));
    await expect(h.processor.handleBatch(batchOf([reading(0, T0)]), h.ctx)).rejects.toThrow('broker down');
  });

  test('crash and replay from the commit: same aggregates, no re-sent clean records, no partial windows', async () => {
    // dev-1 and dev-2 interleave; dev-2's minute-0 window closes while dev-1's minute-1 is open.
    const records = [
      reading(0, T0 + 1_000, 'dev-2'),
      reading(1, T0 + 50_000, 'dev-1'),
      reading(2, T0 + 62_000, 'dev-1'), // minute 1 opens at offset 2
      reading(3, T0 + 58_000, 'dev-2'), // out of order, still in time (watermark 52 s)
      reading(4, T0 + 80_000, 'dev-1'), // watermark 70 s: minute 0 closes for both
      reading(5, T0 + 100_000, 'dev-2'),
      reading(6, T0 + 140_000, 'dev-2'), // watermark 130 s: minute 1 closes
    ];
    const straight = harness();
    straight.processor.assign(new Map([[0, undefined]]));
    await straight.processor.handleBatch(batchOf(records), straight.ctx);

    const first = harness();
    first.processor.assign(new Map([[0, undefined]]));
    const commit = (await first.processor.handleBatch(batchOf(records.slice(0, 5)), first.ctx)) as { offset: string; metadata: string };
    expect(commit.offset).toBe('2'); // earliest record of the still-open minute 1
    // crash; a new instance replays from the commit with the restored metadata
    const second = harness();
    second.processor.assign(new Map([[0, decodeCommitMetadata(commit.metadata)]]));
    await second.processor.handleBatch(batchOf(records.slice(Number(commit.offset))), second.ctx);

    const replayedClean = second.of(topics.clean.name).map((m) => JSON.parse(String(m.value)).value);
    expect(replayedClean).toEqual([5, 6]); // offsets 2..4 were acknowledged before the crash
    const combined = [...first.aggregates(), ...second.aggregates()];
    expect(combined).toEqual(straight.aggregates());
    expect(await second.metrics.registry.metrics()).toContain('sdp_late_events_total{app="processor"} 0');
  });

  test('idle flush emits the last windows and commits the batch end', async () => {
    const h = harness();
    h.processor.assign(new Map([[0, undefined]]), 0);
    await h.processor.handleBatch(batchOf([reading(7, T0 + 1_000), reading(8, T0 + 2_000)]), h.ctx);
    const commits: OffsetCommit[] = [];
    const idle: IdleContext = {
      logger,
      metrics: h.metrics,
      generation: 1,
      isRunning: () => true,
      markSafe: (topic, partition, safe) => void commits.push({ topic, partition, ...(typeof safe === 'string' ? { offset: safe } : safe!) }),
    };

    await h.processor.flushIdle(Date.now() + 1_000, idle); // not idle long enough yet
    expect(h.aggregates()).toEqual([]);
    await h.processor.flushIdle(Date.now() + 16_000, idle);
    expect(h.aggregates().map((a) => a.count)).toEqual([2]);
    expect(commits).toEqual([{ topic: topics.raw.name, partition: 0, offset: '9', metadata: expect.any(String) }]);
  });

  test('an idle flush keeps the allowed lateness: a record stamped just before the window end still counts', async () => {
    const h = harness();
    h.processor.assign(new Map([[0, undefined]]));
    const W = Math.floor((Date.now() + 120_000) / 60_000) * 60_000;
    const idle: IdleContext = { logger, metrics: h.metrics, generation: 1, isRunning: () => true, markSafe: () => undefined };
    await h.processor.handleBatch(batchOf([reading(0, W + 59_000)]), h.ctx);
    await h.processor.flushIdle(W + 65_000, idle); // 5 s past the window end, inside the 10 s lateness
    expect(h.aggregates()).toEqual([]);
    await h.processor.handleBatch(batchOf([reading(1, W + 59_500)]), h.ctx); // in flight during the flush
    await h.processor.flushIdle(W + 90_000, idle);
    expect(h.aggregates().map((a) => [a.windowStart, a.count])).toEqual([[W, 2]]);
  });

  test('late events are counted and not aggregated', async () => {
    const h = harness();
    h.processor.assign(new Map([[0, undefined]]));
    await h.processor.handleBatch(batchOf([reading(0, T0 + 1_000), reading(1, T0 + 120_000), reading(2, T0 + 2_000)]), h.ctx);
    expect(h.aggregates().map((a) => a.count)).toEqual([1]);
    expect(h.of(topics.clean.name)).toHaveLength(3); // late readings are still valid readings
    expect(await h.metrics.registry.metrics()).toContain('sdp_late_events_total{app="processor"} 1');
  });

  test('pauses the consumer while too many messages await acks, and resumes after', async () => {
    const h = harness({ maxInFlightMessages: 2 });
    h.processor.assign(new Map([[0, undefined]]));
    await h.processor.handleBatch(batchOf([reading(0, T0), reading(1, T0 + 1), reading(2, T0 + 2)]), h.ctx);
    expect(h.ctx.pause).toHaveBeenCalledTimes(1);
    expect(h.ctx.resume).toHaveBeenCalledTimes(1);
  });

  test('refuses a batch for a partition it was not assigned', () => {
    const h = harness();
    h.processor.assign(new Map([[0, undefined]]));
    expect(() => h.processor.handleBatch(batchOf([reading(0, T0)], 5), h.ctx)).toThrow(/no state/);
  });
});
