import type { Batch, EachBatchPayload, Kafka } from 'kafkajs';
import pino from 'pino';
import { runConsumer, BatchResult, IdleContext, RunConsumerOptions } from '../../apps/lib/consumer';
import { createMetrics } from '../../apps/lib/metrics';

/**
 * A stand-in for kafkajs that records what the runner asks of it. It cannot prove what a real
 * group coordinator accepts (generation checks, rebalance timing): the integration tests do.
 */
function fakeKafka(committed: { topic: string; partitions: { partition: number; offset: string; metadata: string | null }[] }[] = []) {
  const listeners: Record<string, (e: { payload: unknown }) => void> = {};
  const state = {
    runConfig: undefined as undefined | Record<string, unknown>,
    paused: [] as unknown[],
    stopped: false,
  };
  const consumer = {
    events: {
      GROUP_JOIN: 'consumer.group_join',
      CRASH: 'consumer.crash',
      REBALANCING: 'consumer.rebalancing',
      END_BATCH_PROCESS: 'consumer.end_batch_process',
    },
    on: (name: string, fn: (e: { payload: unknown }) => void) => {
      listeners[name] = fn;
    },
    connect: jest.fn(async () => undefined),
    subscribe: jest.fn(async () => undefined),
    run: jest.fn(async (cfg: Record<string, unknown>) => {
      state.runConfig = cfg;
    }),
    pause: jest.fn((t: unknown) => state.paused.push(t)),
    resume: jest.fn(),
    commitOffsets: jest.fn(async () => undefined),
    stop: jest.fn(async () => {
      state.stopped = true;
    }),
    disconnect: jest.fn(async () => undefined),
  };
  const admin = {
    connect: jest.fn(async () => undefined),
    disconnect: jest.fn(async () => undefined),
    fetchOffsets: jest.fn(async () => committed),
  };
  const kafka = { consumer: () => consumer, admin: () => admin } as unknown as Kafka;
  const join = (memberAssignment: Record<string, number[]>) => listeners['consumer.group_join']({ payload: { memberAssignment } });
  const rebalance = () => listeners['consumer.rebalancing']({ payload: {} });
  const crash = (error: Error, restart: boolean) => listeners['consumer.crash']({ payload: { error, restart } });
  const endBatch = (payload: { topic: string; partition: number; batchSize: number; firstOffset: string; lastOffset: string }) =>
    listeners['consumer.end_batch_process']({ payload });
  return { kafka, consumer, admin, state, join, rebalance, crash, endBatch };
}

function batchOf(offsets: number[], highWatermark: number): Batch {
  return {
    topic: 't',
    partition: 2,
    highWatermark: String(highWatermark),
    messages: offsets.map((o) => ({ offset: String(o), key: null, value: Buffer.from('x'), timestamp: '0', attributes: 0, headers: {} })),
    isEmpty: () => offsets.length === 0,
    firstOffset: () => String(offsets[0]),
    lastOffset: () => String(offsets[offsets.length - 1]),
    offsetLag: () => '0',
    offsetLagLow: () => '0',
  } as Batch;
}

function payloadFor(batch: Batch) {
  return {
    batch,
    resolveOffset: jest.fn(),
    heartbeat: jest.fn(async () => undefined),
    pause: jest.fn(),
    commitOffsetsIfNecessary: jest.fn(async () => undefined),
    uncommittedOffsets: jest.fn(),
    isRunning: () => true,
    isStale: () => false,
  };
}

async function setup(
  handle: (b: Batch) => Promise<BatchResult>,
  onPartitionsAssigned?: RunConsumerOptions['onPartitionsAssigned'],
  extra: { committed?: Parameters<typeof fakeKafka>[0]; onIdle?: RunConsumerOptions['onIdle'] } = {},
) {
  const f = fakeKafka(extra.committed);
  const metrics = createMetrics('t');
  const running = await runConsumer({
    kafka: f.kafka,
    groupId: 'g',
    topics: ['t'],
    logger: pino({ level: 'silent' }),
    metrics,
    handleBatch: (b) => handle(b),
    onPartitionsAssigned,
    onIdle: extra.onIdle,
    idleIntervalMs: 5,
    restartBackoffMs: 1,
    stopOnShutdown: false,
  });
  const eachBatch = f.state.runConfig!.eachBatch as (p: EachBatchPayload) => Promise<void>;
  return { ...f, metrics, running, eachBatch };
}

describe('runConsumer', () => {
  test('never lets kafkajs commit on its own', async () => {
    const { state } = await setup(async () => undefined);
    expect(state.runConfig).toMatchObject({ autoCommit: false, eachBatchAutoResolve: false });
  });

  test('commits the returned offset (with metadata) only after the handler resolved', async () => {
    let release!: () => void;
    const { eachBatch, metrics } = await setup(() => new Promise<BatchResult>((r) => (release = () => r({ offset: '11', metadata: 'wm=5' }))));
    const p = payloadFor(batchOf([10, 11, 12], 20));
    const done = eachBatch(p as unknown as EachBatchPayload);
    await new Promise((r) => setImmediate(r));
    expect(p.commitOffsetsIfNecessary).not.toHaveBeenCalled();
    release();
    await done;
    expect(p.resolveOffset).toHaveBeenCalledWith('12');
    expect(p.commitOffsetsIfNecessary).toHaveBeenCalledWith({ topics: [{ topic: 't', partitions: [{ partition: 2, offset: '11', metadata: 'wm=5' }] }] });
    const text = await metrics.registry.metrics();
    expect(text).toContain('sdp_records_in_total{topic="t",app="t"} 3');
    expect(text).toContain('sdp_consumer_lag{topic="t",partition="2",app="t"} 7');
  });

  test('commits nothing for undefined; a throwing handler gets nothing committed and the member restarts to replay', async () => {
    const quiet = await setup(async () => undefined);
    const p1 = payloadFor(batchOf([0, 1], 2));
    await quiet.eachBatch(p1 as unknown as EachBatchPayload);
    expect(p1.resolveOffset).toHaveBeenCalledWith('1');
    expect(p1.commitOffsetsIfNecessary).not.toHaveBeenCalled();

    const failing = await setup(async () => {
      throw new Error('write failed');
    });
    failing.join({ t: [2] });
    expect(failing.running.isRunning()).toBe(true);
    const p2 = payloadFor(batchOf([0, 1], 2));
    await failing.eachBatch(p2 as unknown as EachBatchPayload);
    expect(p2.resolveOffset).not.toHaveBeenCalled();
    expect(p2.commitOffsetsIfNecessary).not.toHaveBeenCalled();
    // Out of the group until the new member joins: not ready, yet healthy.
    expect([failing.running.isRunning(), failing.running.isHealthy()]).toEqual([false, true]);
    await waitUntil(() => failing.consumer.run.mock.calls.length === 2);
    expect(failing.consumer.stop).toHaveBeenCalled();
    failing.join({ t: [2] });
    expect(failing.running.isRunning()).toBe(true);
    const text = await failing.metrics.registry.metrics();
    expect(text).toContain('sdp_errors_total{kind="handler",app="t"} 1');
    expect(text).toContain('sdp_errors_total{kind="consumer_restart",app="t"} 1');
  });

  test('restarts a consumer kafkajs gave up on, and gives up (unhealthy, onGiveUp) if it cannot rejoin in time', async () => {
    const gaveUp: unknown[] = [];
    const f = fakeKafka();
    const running = await runConsumer({
      kafka: f.kafka,
      groupId: 'g',
      topics: ['t'],
      logger: pino({ level: 'silent' }),
      metrics: createMetrics('t'),
      handleBatch: async () => undefined,
      idleIntervalMs: 5,
      restartBackoffMs: 1,
      maxRecoveryMs: 200,
      onGiveUp: (err) => gaveUp.push(err),
      stopOnShutdown: false,
    });
    f.join({ t: [2] });
    const coordinatorGone = new Error('Failed to find group coordinator');
    f.crash(coordinatorGone, false);
    await waitUntil(() => f.consumer.run.mock.calls.length === 2);
    expect(running.isRunning()).toBe(false);
    // kafkajs restarts a retriable crash itself: the runner leaves it alone.
    f.crash(new Error('retriable'), true);
    await waitUntil(() => gaveUp.length === 1);
    expect(f.consumer.run.mock.calls.length).toBe(2);
    expect(gaveUp).toEqual([expect.objectContaining({ message: 'retriable' })]);
    expect([running.isRunning(), running.isHealthy()]).toEqual([false, false]);
    await running.stop();
  });

  test('skips offsets holding only transaction markers once everything before them is safe, so lag reaches zero', async () => {
    let safe: string | undefined = '2';
    const { eachBatch, join, endBatch } = await setup(async () => safe);
    join({ t: [2] });
    const p = payloadFor(batchOf([0, 1], 3));
    await eachBatch(p as unknown as EachBatchPayload);
    expect(p.commitOffsetsIfNecessary).toHaveBeenLastCalledWith({ topics: [{ topic: 't', partitions: [{ partition: 2, offset: '2' }] }] });
    // kafkajs fetched offset 2, a commit marker, and handed nothing over.
    endBatch({ topic: 't', partition: 2, batchSize: 0, firstOffset: '2', lastOffset: '2' });
    // The next batch commits past the marker although the handler only knows offsets 3..4.
    safe = undefined;
    const p2 = payloadFor(batchOf([3, 4], 6));
    await eachBatch(p2 as unknown as EachBatchPayload);
    expect(p2.commitOffsetsIfNecessary).toHaveBeenLastCalledWith({ topics: [{ topic: 't', partitions: [{ partition: 2, offset: '3' }] }] });
  });

  test('batches wait for onPartitionsAssigned; a rebalance during a batch skips its commit', async () => {
    let restored = false;
    let rejoin: () => void = () => undefined;
    const { eachBatch, join } = await setup(
      async () => {
        expect(restored).toBe(true);
        rejoin();
        return '2';
      },
      async () => {
        await new Promise((r) => setTimeout(r, 10));
        restored = true;
      },
    );
    join({ t: [2] });
    rejoin = () => join({ t: [2] });
    const p = payloadFor(batchOf([0, 1], 2));
    await eachBatch(p as unknown as EachBatchPayload);
    expect(restored).toBe(true);
    expect(p.commitOffsetsIfNecessary).not.toHaveBeenCalled();
  });

  test('stop() stops then disconnects; batches arriving after it are neither handled nor resolved', async () => {
    const handled = jest.fn(async () => '1');
    const { running, consumer, eachBatch } = await setup(handled);
    await running.stop();
    expect(consumer.stop).toHaveBeenCalled();
    expect(consumer.disconnect).toHaveBeenCalled();
    const p = payloadFor(batchOf([0], 1));
    await eachBatch(p as unknown as EachBatchPayload);
    expect(handled).not.toHaveBeenCalled();
    expect(p.resolveOffset).not.toHaveBeenCalled();
    expect(running.isRunning()).toBe(false);
  });

  test('hands onPartitionsAssigned the committed offsets and metadata, and does not commit them again', async () => {
    const seen: unknown[] = [];
    const { eachBatch, join } = await setup(
      async () => ({ offset: '5', metadata: 'm' }),
      async (ctx) => void seen.push(ctx.committed('t', 2), ctx.committed('t', 3)),
      {
        committed: [
          {
            topic: 't',
            partitions: [
              { partition: 2, offset: '5', metadata: 'm' },
              { partition: 3, offset: '-1', metadata: null },
            ],
          },
        ],
      },
    );
    join({ t: [2, 3] });
    const p = payloadFor(batchOf([3, 4], 5));
    await eachBatch(p as unknown as EachBatchPayload);
    expect(seen).toEqual([expect.objectContaining({ offset: '5', metadata: 'm' }), undefined]);
    expect(p.commitOffsetsIfNecessary).not.toHaveBeenCalled();
  });

  test('commits what an idle tick marked safe, and a revoke commits what a failed commit left pending', async () => {
    let mark: ((ctx: IdleContext) => void) | undefined;
    const { eachBatch, join, rebalance } = await setup(async () => '3', undefined, { onIdle: async (ctx) => mark?.(ctx) });
    join({ t: [2] });
    const p = payloadFor(batchOf([1, 2], 9));
    await eachBatch(p as unknown as EachBatchPayload);
    expect(p.commitOffsetsIfNecessary).toHaveBeenLastCalledWith({ topics: [{ topic: 't', partitions: [{ partition: 2, offset: '3' }] }] });

    mark = (ctx) => ctx.markSafe('t', 2, '7');
    p.commitOffsetsIfNecessary.mockRejectedValueOnce(new Error('coordinator moved'));
    await waitUntil(() => p.commitOffsetsIfNecessary.mock.calls.length >= 2);
    mark = undefined;
    rebalance();
    await waitUntil(() => p.commitOffsetsIfNecessary.mock.calls.length >= 3);
    expect(p.commitOffsetsIfNecessary).toHaveBeenLastCalledWith({ topics: [{ topic: 't', partitions: [{ partition: 2, offset: '7' }] }] });
  });
});

/** Polls a condition; the runner's idle timer and commit chain are asynchronous. */
async function waitUntil(ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
