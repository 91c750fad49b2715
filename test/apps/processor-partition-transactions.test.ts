import type { Batch } from 'kafkajs';
import pino from 'pino';
import { topics } from '../../apps/contracts/topics';
import { runningBatchContext, runningIdleContext } from './batch-context';
import { createMetrics } from '../../apps/lib/metrics';
import { Processor } from '../../apps/processor/processor';
import { fakeTransactions } from './fake-transactions';

const logger = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

function batch(partition: number, firstOffset: number, ts: number[]): Batch {
  const messages = ts.map((t, i) => ({
    offset: String(firstOffset + i),
    key: Buffer.from('dev-1'),
    value: Buffer.from(JSON.stringify({ schemaVersion: 1, deviceId: 'dev-1', ts: t, metric: 'temperature', value: i })),
    timestamp: String(t),
    attributes: 0,
    headers: {},
  }));
  return {
    topic: topics.raw.name,
    partition,
    highWatermark: String(firstOffset + ts.length),
    messages,
    isEmpty: () => false,
    firstOffset: () => messages[0].offset,
    lastOffset: () => messages[messages.length - 1].offset,
    offsetLag: () => '0',
    offsetLagLow: () => '0',
  } as Batch;
}

describe('Processor transactions', () => {
  test('every output, of batches and idle flushes, goes into a transaction of the raw partition it comes from', async () => {
    const txns = fakeTransactions();
    const metrics = createMetrics('processor');
    const processor = new Processor({
      begin: txns.begin,
      topics: { raw: topics.raw.name, clean: topics.clean.name, aggregates: topics.aggregates.name, deadLetter: topics.deadLetter.name },
      logger,
      metrics,
      allowedLatenessMs: 0,
      idleFlushMs: 1_000,
    });
    processor.assign(
      new Map([
        [3, undefined],
        [7, undefined],
      ]),
      T0,
    );
    const ctx = runningBatchContext(logger, metrics);
    await processor.handleBatch(batch(3, 0, [T0, T0 + 1]), ctx);
    await processor.handleBatch(batch(7, 0, [T0 + 2]), ctx);
    expect(txns.sendsBySource).toEqual([
      { partition: 3, topics: [topics.clean.name] },
      { partition: 7, topics: [topics.clean.name] },
    ]);

    const idle = runningIdleContext(logger, metrics);
    await processor.flushIdle(Date.now() + 10 * 60_000, idle);
    expect(txns.sendsBySource.slice(2).sort((a, b) => a.partition - b.partition)).toEqual([
      { partition: 3, topics: [topics.aggregates.name] },
      { partition: 7, topics: [topics.aggregates.name] },
    ]);
    // Each transaction committed its own partition's offset: 2 batches, 2 idle flushes.
    expect(txns.commits.map((c) => [c.partition, c.offset]).sort()).toEqual([
      [3, '0'],
      [3, '2'],
      [7, '0'],
      [7, '1'],
    ]);
    expect(await metrics.registry.metrics()).toContain('sdp_transactions_total{outcome="committed",app="processor"} 4');
  });
});
