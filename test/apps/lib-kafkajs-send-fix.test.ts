import { settledRetries, SendMessagesDeps } from '../../apps/lib/kafkajs-send-fix';

/**
 * kafkajs' own `sendMessages` and retrier, driven against two stand-in brokers: node 1 leads
 * partition 0 and fails its first produce at once (a connection error), node 2 leads partition 1
 * and answers its produce only after 200 ms, longer than the 10 ms retry backoff. The stand-ins
 * record every produce with its sequence numbers, as a broker would write it. What they cannot
 * show is a real broker's deduplication, which only covers a retry with the same sequence numbers.
 */
type SendMessages = (args: { acks: number; timeout?: number; compression?: number; topicMessages: unknown[] }) => Promise<unknown[]>;
/** kafkajs' module as shipped: a registry of its own, where apps/lib/kafkajs-send-fix.ts has not replaced it. */
let createSendMessages!: (deps: SendMessagesDeps) => SendMessages;
jest.isolateModules(() => {
  createSendMessages = require('kafkajs/src/producer/sendMessages');
});
const createRetry = require('kafkajs/src/retry') as (opts: object) => SendMessagesDeps['retrier'];

interface Written {
  readonly node: number;
  readonly partition: number;
  readonly firstSequence: number;
  readonly values: string[];
}

function harness() {
  const written: Written[] = [];
  const produceCalls = new Map<number, number>();
  const broker = (nodeId: number) => ({
    nodeId,
    async produce({
      topicData,
    }: {
      topicData: { topic: string; partitions: { partition: number; firstSequence: number; messages: { value: string }[] }[] }[];
    }) {
      const call = (produceCalls.get(nodeId) ?? 0) + 1;
      produceCalls.set(nodeId, call);
      if (nodeId === 1 && call === 1) {
        const err = new Error('Connection error: read ECONNRESET');
        err.name = 'KafkaJSConnectionError';
        throw err;
      }
      if (nodeId === 2) await new Promise((r) => setTimeout(r, 200));
      for (const { partitions } of topicData) {
        for (const p of partitions)
          written.push({ node: nodeId, partition: p.partition, firstSequence: p.firstSequence, values: p.messages.map((m) => m.value) });
      }
      return {
        topics: topicData.map(({ topic, partitions }) => ({
          topicName: topic,
          partitions: partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: '0' })),
        })),
      };
    },
  });
  const brokers = new Map([1, 2].map((id) => [id, broker(id)]));
  const partitionMetadata = [
    { partitionId: 0, leader: 1 },
    { partitionId: 1, leader: 2 },
  ];
  const cluster = {
    refreshMetadataIfNecessary: async () => undefined,
    refreshMetadata: async () => undefined,
    addMultipleTargetTopics: async () => undefined,
    isConnected: () => true,
    removeBroker: () => undefined,
    findTopicPartitionMetadata: () => partitionMetadata,
    findLeaderForPartitions: (_topic: string, partitions: string[]) =>
      partitions.reduce<Record<number, number[]>>((acc, id) => {
        const leader = partitionMetadata.find((p) => p.partitionId === Number(id))!.leader;
        return { ...acc, [leader]: [...(acc[leader] ?? []), Number(id)] };
      }, {}),
    findBroker: async ({ nodeId }: { nodeId: string }) => brokers.get(Number(nodeId)),
  };
  const sequences = new Map<number, number>();
  const locks = new Map<number, Promise<void>>();
  const releases = new Map<number, () => void>();
  const eosManager = {
    isTransactional: () => false,
    isInitialized: () => true,
    getProducerId: () => 1,
    getProducerEpoch: () => 0,
    getTransactionalId: () => undefined,
    getSequence: (_topic: string, partition: number) => sequences.get(partition) ?? 0,
    updateSequence: (_topic: string, partition: number, n: number) => sequences.set(partition, (sequences.get(partition) ?? 0) + n),
    async acquireBrokerLock(b: { nodeId: number }) {
      while (locks.has(b.nodeId)) await locks.get(b.nodeId);
      locks.set(b.nodeId, new Promise<void>((resolve) => releases.set(b.nodeId, resolve)));
    },
    releaseBrokerLock(b: { nodeId: number }) {
      locks.delete(b.nodeId);
      releases.get(b.nodeId)?.();
    },
  };
  const deps: SendMessagesDeps = {
    logger: { debug: () => undefined, error: () => undefined, info: () => undefined, warn: () => undefined },
    cluster,
    partitioner: ({ message }: { message: { partition: number } }) => message.partition,
    eosManager,
    retrier: createRetry({ initialRetryTime: 10, maxRetryTime: 20, retries: 5, factor: 0, multiplier: 1 }),
  };
  const topicMessages = [
    {
      topic: 't',
      messages: [
        { partition: 0, value: 'a' },
        { partition: 1, value: 'b' },
      ],
    },
  ];
  return { deps, written, topicMessages };
}

describe('kafkajs produce retries', () => {
  it('as shipped (2.2.4), re-send a slower broker’s request that had not failed, with new sequence numbers', async () => {
    const h = harness();
    await createSendMessages(h.deps)({ acks: -1, topicMessages: h.topicMessages });
    // Node 2 wrote partition 1 twice: the broker takes sequence 1 as a new batch.
    expect(h.written.filter((w) => w.partition === 1).map((w) => w.firstSequence)).toEqual([0, 1]);
  });

  it('through apps/lib/kafkajs-send-fix, as the apps load kafkajs, the shipped module is replaced', () => {
    const loaded = require('kafkajs/src/producer/sendMessages') as { settled?: boolean };
    expect({ replaced: loaded !== createSendMessages, settled: loaded.settled }).toEqual({ replaced: true, settled: true });
  });

  it('with settledRetries, wait for that request and re-send only the failed one', async () => {
    const h = harness();
    const acked = (await settledRetries(createSendMessages as never)(h.deps)) as SendMessages;
    const result = await acked({ acks: -1, topicMessages: h.topicMessages });
    expect(
      h.written
        .map((w) => ({ node: w.node, partition: w.partition, firstSequence: w.firstSequence, values: w.values }))
        .sort((a, b) => a.partition - b.partition),
    ).toEqual([
      { node: 1, partition: 0, firstSequence: 0, values: ['a'] },
      { node: 2, partition: 1, firstSequence: 0, values: ['b'] },
    ]);
    expect((result as { partition: number }[]).map((r) => r.partition).sort()).toEqual([0, 1]);
  });
});
