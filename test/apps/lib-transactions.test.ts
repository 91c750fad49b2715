import type { Kafka } from 'kafkajs';
import pino from 'pino';
import { PartitionTransactions } from '../../apps/lib/transactions';

/**
 * A stand-in for kafkajs' transactional producers that records what PartitionTransactions asks
 * of them. It proves the wiring (which id, when initialized, what is committed with which
 * offset); that the brokers fence, abort and hide aborted records is proven by the integration
 * tests against a real Kafka.
 */
function fakeKafka() {
  const producers: { config: Record<string, unknown>; calls: string[]; sendOffsets: unknown[] }[] = [];
  const kafka = {
    producer: (config: Record<string, unknown>) => {
      const p = { config, calls: [] as string[], sendOffsets: [] as unknown[] };
      producers.push(p);
      let active = false;
      return {
        connect: async () => void p.calls.push('connect'),
        disconnect: async () => void p.calls.push('disconnect'),
        transaction: async () => {
          p.calls.push('transaction');
          active = true;
          return {
            sendBatch: async () => {
              p.calls.push('sendBatch');
              return [];
            },
            sendOffsets: async (o: unknown) => void p.sendOffsets.push(o),
            commit: async () => {
              active = false;
              p.calls.push('commit');
            },
            abort: async () => {
              active = false;
              p.calls.push('abort');
            },
            isActive: () => active,
          };
        },
      };
    },
  } as unknown as Kafka;
  return { kafka, producers };
}

const options = (kafka: Kafka) => ({ kafka, groupId: 'telemetry-processor', inputTopic: 'raw', logger: pino({ level: 'silent' }) });

describe('PartitionTransactions', () => {
  test('fence gives each assigned partition a new producer with its own transactional id, initialized at once', async () => {
    const f = fakeKafka();
    const txns = new PartitionTransactions(options(f.kafka));
    await txns.fence([0, 3]);
    expect(f.producers.map((p) => [p.config.transactionalId, p.config.idempotent, p.config.maxInFlightRequests])).toEqual([
      ['telemetry-processor.raw.0', true, 1],
      ['telemetry-processor.raw.3', true, 1],
    ]);
    // InitProducerId (the fence) happens in the first transaction(); an empty abort sends nothing.
    expect(f.producers.map((p) => p.calls)).toEqual([
      ['connect', 'transaction', 'abort'],
      ['connect', 'transaction', 'abort'],
    ]);

    await txns.fence([3]);
    await new Promise((r) => setImmediate(r));
    expect(f.producers.slice(0, 2).map((p) => p.calls.at(-1))).toEqual(['disconnect', 'disconnect']);
    expect(f.producers[2].config.transactionalId).toBe('telemetry-processor.raw.3');
    await expect(txns.begin(0)).rejects.toThrow(/raw\[0\].*not assigned/);
  });

  test('commit sends the consumed offset with its metadata in the transaction, then commits', async () => {
    const f = fakeKafka();
    const txns = new PartitionTransactions(options(f.kafka));
    await txns.fence([5]);
    const txn = await txns.begin(5);
    await txn.send([{ topic: 'clean', messages: [{ value: 'x' }] }]);
    await txn.commit({ offset: '42', metadata: '{"v":1}' });
    const [p] = f.producers;
    expect(p.sendOffsets).toEqual([
      { consumerGroupId: 'telemetry-processor', topics: [{ topic: 'raw', partitions: [{ partition: 5, offset: '42', metadata: '{"v":1}' }] }] },
    ]);
    expect(p.calls.slice(3)).toEqual(['transaction', 'sendBatch', 'commit']);
    await txn.abort(); // already ended: nothing to do
    expect(p.calls.at(-1)).toBe('commit');
  });
});
