import type { Batch } from 'kafkajs';
import pino from 'pino';
import { TelemetryAggregate } from '../../apps/contracts/telemetry';
import { dlqHeaders, topics } from '../../apps/contracts/topics';
import type { BatchContext, IdleContext } from '../../apps/lib/consumer';
import { createMetrics } from '../../apps/lib/metrics';
import { decodeCommitMetadata } from '../../apps/processor/offsets';
import { Processor } from '../../apps/processor/processor';
import type { BeginTransaction } from '../../apps/lib/transactions';
import { fakeTransactions } from './fake-transactions';
import { runningBatchContext, runningIdleContext } from './batch-context';

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

function harness(
  opts: {
    maxInFlightMessages?: number;
    failSend?: boolean;
    commitIntervalMs?: number;
    chunkSize?: number;
    now?: () => number;
    /** Wraps the fake transactions (e.g. to hold a send). */
    wrapBegin?: (begin: BeginTransaction) => BeginTransaction;
  } = {},
) {
  const txns = fakeTransactions({ failSend: () => opts.failSend === true });
  const metrics = createMetrics('processor');
  const processor = new Processor({
    begin: opts.wrapBegin ? opts.wrapBegin(txns.begin) : txns.begin,
    topics: { raw: topics.raw.name, clean: topics.clean.name, aggregates: topics.aggregates.name, deadLetter: topics.deadLetter.name },
    logger,
    metrics,
    allowedLatenessMs: 10_000,
    idleFlushMs: 15_000,
    maxInFlightMessages: opts.maxInFlightMessages,
    commitIntervalMs: opts.commitIntervalMs,
    chunkSize: opts.chunkSize,
    now: opts.now,
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
  const of = (topic: string) => txns.visible.filter((t) => t.topic === topic).flatMap((t) => t.messages);
  const aggregates = () => of(topics.aggregates.name).map((m) => JSON.parse(String(m.value)) as TelemetryAggregate);
  const lastCommit = () => txns.commits[txns.commits.length - 1];
  return { processor, ctx, txns, of, aggregates, metrics, lastCommit };
}

const idleContext = (h: ReturnType<typeof harness>, over: Partial<IdleContext> = {}): IdleContext => runningIdleContext(logger, h.metrics, over);

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
    // Sent as v1, carried on the clean topic as the newest version (v2, no unit).
    const upcast = JSON.stringify({ ...JSON.parse(String(reading(100, T0 + 1_000).value)), schemaVersion: 2 });
    expect(clean[0]).toMatchObject({ value: upcast, timestamp: String(1_700_000_000_100) });

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

    // Offsets are committed in the transaction, with the outputs; nothing is left for the runner.
    expect(result).toBeUndefined();
    expect(h.txns.commits).toEqual([{ partition: 0, offset: '103', metadata: expect.any(String) }]);
    const meta = decodeCommitMetadata(h.lastCommit().metadata);
    expect(meta).toEqual({ watermark: T0 + 65_000, sentUpTo: 104 });
    const text = await h.metrics.registry.metrics();
    expect(text).toContain('sdp_dlq_records_total{reason="invalid_json",app="processor"} 1');
    expect(text).toContain(`sdp_records_out_total{topic="${topics.clean.name}",app="processor"} 3`);
  });

  test('a failed send aborts the transaction and fails the batch: no output, no offset', async () => {
    const h = harness({ failSend: true });
    h.processor.assign(new Map([[0, undefined]]));
    await expect(h.processor.handleBatch(batchOf([reading(0, T0)]), h.ctx)).rejects.toThrow('broker down');
    expect({ visible: h.txns.visible, commits: h.txns.commits, aborted: h.txns.aborted() }).toEqual({ visible: [], commits: [], aborted: 1 });
  });

  test('a batch longer than the commit interval commits in several transactions, each with its own floor', async () => {
    let clock = 0;
    // Every reading of the clock advances it 6 ms: a transaction opened at t holds the chunks until t+10.
    const h = harness({ commitIntervalMs: 10, chunkSize: 2, now: () => (clock += 6) });
    h.processor.assign(new Map([[0, undefined]]));
    await h.processor.handleBatch(batchOf([0, 1, 2, 3, 4, 5, 6, 7].map((o) => reading(o, T0 + o * 1_000))), h.ctx);
    // Each commit keeps the floor of the open minute (offset 0) and says how far output was sent.
    expect(h.txns.commits.map((c) => [c.offset, decodeCommitMetadata(c.metadata)?.sentUpTo])).toEqual([
      ['0', 4],
      ['0', 8],
    ]);
    expect(h.of(topics.clean.name)).toHaveLength(8);
  });

  test('a transaction that fails after its partition was revoked is dropped quietly: the new owner replays it', async () => {
    let revoke = () => undefined as void;
    const h = harness();
    h.processor.assign(new Map([[0, undefined]]));
    const failing = new Processor({
      begin: async (p) => {
        const t = await h.txns.begin(p);
        return {
          ...t,
          commit: async () => {
            revoke();
            throw new Error('producer fenced');
          },
        };
      },
      topics: { raw: topics.raw.name, clean: topics.clean.name, aggregates: topics.aggregates.name, deadLetter: topics.deadLetter.name },
      logger,
      metrics: createMetrics('processor'),
    });
    failing.assign(new Map([[0, undefined]]));
    revoke = () => failing.revokeAll();
    await expect(failing.handleBatch(batchOf([reading(0, T0)]), h.ctx)).resolves.toBeUndefined();
    expect(h.txns.commits).toEqual([]);
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
    await first.processor.handleBatch(batchOf(records.slice(0, 5)), first.ctx);
    const commit = first.lastCommit();
    expect(commit.offset).toBe('2'); // earliest record of the still-open minute 1
    // crash; a new instance replays from the commit with the restored metadata
    const second = harness();
    second.processor.assign(new Map([[0, decodeCommitMetadata(commit.metadata)]]));
    await second.processor.handleBatch(batchOf(records.slice(Number(commit.offset))), second.ctx);

    const replayedClean = second.of(topics.clean.name).map((m) => JSON.parse(String(m.value)).value);
    expect(replayedClean).toEqual([5, 6]); // offsets 2..4 were committed before the crash
    const combined = [...first.aggregates(), ...second.aggregates()];
    expect(combined).toEqual(straight.aggregates());
    expect(await second.metrics.registry.metrics()).toContain('sdp_late_events_total{app="processor"} 0');
  });

  test('idle flush emits the last windows and commits the batch end', async () => {
    const h = harness();
    h.processor.assign(new Map([[0, undefined]]), 0);
    await h.processor.handleBatch(batchOf([reading(7, T0 + 1_000), reading(8, T0 + 2_000)]), h.ctx);
    const idle = idleContext(h);
    const afterBatch = h.txns.commits.length;

    await h.processor.flushIdle(Date.now() + 1_000, idle); // not idle long enough yet
    expect(h.aggregates()).toEqual([]);
    await h.processor.flushIdle(Date.now() + 16_000, idle);
    expect(h.aggregates().map((a) => a.count)).toEqual([2]);
    expect(h.txns.commits.slice(afterBatch)).toEqual([{ partition: 0, offset: '9', metadata: expect.any(String) }]);
  });

  test('an idle flush waits while the consumer is not fetching: records may be waiting in Kafka (a broker outage, a rejoin)', async () => {
    const h = harness();
    h.processor.assign(new Map([[0, undefined]]), 0);
    await h.processor.handleBatch(batchOf([reading(7, T0 + 1_000), reading(8, T0 + 2_000)]), h.ctx);
    let fetching = false;
    const idle = idleContext(h, { fetchedWithin: () => fetching });
    await h.processor.flushIdle(Date.now() + 16_000, idle);
    expect(h.aggregates()).toEqual([]);
    // The waiting reading arrives once the consumer fetches again, and still counts.
    await h.processor.handleBatch(batchOf([reading(9, T0 + 3_000)]), h.ctx);
    fetching = true;
    await h.processor.flushIdle(Date.now() + 16_000, idle);
    expect(h.aggregates().map((a) => a.count)).toEqual([3]);
  });

  test('an idle flush waits for a partition whose last batch had not reached the high watermark', async () => {
    const h = harness();
    h.processor.assign(new Map([[0, undefined]]), 0);
    await h.processor.handleBatch({ ...batchOf([reading(7, T0 + 1_000)]), offsetLag: () => '40' }, h.ctx);
    await h.processor.flushIdle(Date.now() + 16_000, idleContext(h));
    expect(h.aggregates()).toEqual([]);
    await h.processor.handleBatch(batchOf([reading(8, T0 + 2_000)]), h.ctx);
    await h.processor.flushIdle(Date.now() + 16_000, idleContext(h));
    expect(h.aggregates().map((a) => a.count)).toEqual([2]);
  });

  test('a failed idle flush asks the runner to replay from the commits', async () => {
    let fail = false;
    const txns = fakeTransactions({ failSend: () => fail });
    const metrics = createMetrics('processor');
    const processor = new Processor({
      begin: txns.begin,
      topics: { raw: topics.raw.name, clean: topics.clean.name, aggregates: topics.aggregates.name, deadLetter: topics.deadLetter.name },
      logger,
      metrics,
    });
    processor.assign(new Map([[0, undefined]]), 0);
    await processor.handleBatch(batchOf([reading(7, T0 + 1_000)]), runningBatchContext(logger, metrics));
    fail = true;
    const restart = jest.fn();
    await processor.flushIdle(Date.now() + 16_000, runningIdleContext(logger, metrics, { restart }));
    expect(restart).toHaveBeenCalledWith(expect.stringMatching(/idle flush .* failed/), expect.any(Error));
    expect(txns.visible.filter((t) => t.topic === topics.aggregates.name)).toEqual([]);
  });

  test('a batch queued behind a failed idle flush commits nothing: the flush had already closed windows in memory', async () => {
    // A broker restart: the flush's send hangs, a batch of the same partition queues behind it, then the send fails.
    let failFlush: (err: Error) => void = () => undefined;
    let sends = 0;
    const h = harness({
      wrapBegin: (begin) => async (partition) => {
        const txn = await begin(partition);
        return {
          ...txn,
          send: async (tm) => {
            if (++sends === 2) await new Promise((_, reject) => (failFlush = reject));
            return txn.send(tm);
          },
        };
      },
    });
    const { processor, txns, metrics } = h;
    processor.assign(new Map([[0, undefined]]), 0);
    const minute = Math.floor((Date.now() - 120_000) / 60_000) * 60_000;
    await processor.handleBatch(batchOf([reading(0, minute + 1_000), reading(1, minute + 2_000)]), runningBatchContext(logger, metrics));
    expect(txns.commits).toHaveLength(1);
    const restart = jest.fn();
    const flush = processor.flushIdle(Date.now() + 16_000, runningIdleContext(logger, metrics, { restart }));
    await new Promise((r) => setImmediate(r));
    const queued = processor.handleBatch(batchOf([reading(2, minute + 3_000), reading(3, Date.now())]), runningBatchContext(logger, metrics));
    await new Promise((r) => setImmediate(r));
    failFlush(new Error('NOT_COORDINATOR'));
    await flush;
    await expect(queued).rejects.toThrow(/earlier transaction failed/);
    expect(restart).toHaveBeenCalledWith(expect.stringMatching(/idle flush .* failed/), expect.any(Error));
    // Nothing committed after the first batch: the restart restores the window of `minute` from that commit.
    expect(txns.commits).toHaveLength(1);
    expect(decodeCommitMetadata(txns.commits[0].metadata)?.watermark ?? 0).toBeLessThan(minute + 60_000);
  });

  test('an idle flush keeps the allowed lateness: a record stamped just before the window end still counts', async () => {
    const h = harness();
    h.processor.assign(new Map([[0, undefined]]));
    const W = Math.floor((Date.now() + 120_000) / 60_000) * 60_000;
    const idle = idleContext(h);
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
