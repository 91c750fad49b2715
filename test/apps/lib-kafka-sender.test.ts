import type { Message, Producer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { createSender, MemoizedDefaultPartitioner } from '../../apps/lib/kafka';

/** A producer whose sendBatch takes a few ms, records what overlapped, and fails where told to. */
function fakeProducer(failOnCall?: number) {
  const calls: ProducerBatch[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const sendBatch = jest.fn(async (batch: ProducerBatch) => {
    calls.push(batch);
    const call = calls.length;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight -= 1;
    if (call === failOnCall) throw new Error('Connection error: connect ECONNREFUSED');
    return [];
  });
  return {
    producer: { sendBatch } as unknown as Producer,
    values: () => calls.map((c) => (c.topicMessages ?? []).flatMap((t) => t.messages.map((m) => m.value))),
    acks: () => calls.map((c) => c.acks),
    maxInFlight: () => maxInFlight,
  };
}

const messages = (tag: string, n: number): Message[] => Array.from({ length: n }, (_, i) => ({ key: tag, value: `${tag}-${i}` }));

describe('createSender', () => {
  it('sends one request at a time, also across concurrent calls, in call order', async () => {
    // Concurrent requests would let kafkajs hand a failed request's idempotence sequence
    // numbers to another one before retrying it (OUT_OF_ORDER_SEQUENCE_NUMBER after a broker restart).
    const f = fakeProducer();
    const send = createSender(f.producer, { maxMessagesPerRequest: 2 });
    await Promise.all([send([{ topic: 't', messages: messages('a', 5) }]), send([{ topic: 't', messages: messages('b', 3) }])]);
    expect(f.maxInFlight()).toBe(1);
    expect(f.values()).toEqual([['a-0', 'a-1'], ['a-2', 'a-3'], ['a-4'], ['b-0', 'b-1'], ['b-2']]);
    expect(f.acks()).toEqual([-1, -1, -1, -1, -1]);
  });

  it('rejects the send whose request failed and keeps sending later ones', async () => {
    const f = fakeProducer(1);
    const send = createSender(f.producer, { maxMessagesPerRequest: 10 });
    const [first, second] = await Promise.allSettled([send([{ topic: 't', messages: messages('a', 3) }]), send([{ topic: 't', messages: messages('b', 3) }])]);
    expect(first).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/ECONNREFUSED/) }) });
    expect(second).toEqual({ status: 'fulfilled', value: undefined });
    expect(f.values()).toEqual([
      ['a-0', 'a-1', 'a-2'],
      ['b-0', 'b-1', 'b-2'],
    ]);
  });
});

describe('createSender with a producer from createProducer', () => {
  /**
   * Stands in for kafkajs 2.2.4's sendMessages: partitions every message with the producer's own
   * partitioner, then acknowledges the partitions it is told to, as its retry does when a
   * partition's new leader already answered (kafkajs#1303). What it cannot show is the broker side.
   */
  function droppingProducer(dropPartitionsOnCalls: ReadonlyMap<number, readonly number[]>) {
    const partition = MemoizedDefaultPartitioner();
    const partitionMetadata = Array.from({ length: 12 }, (_, p) => ({ partitionId: p, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
    const sent: { call: number; topic: string; partition: number; value: string }[] = [];
    let calls = 0;
    const sendBatch = jest.fn(async (batch: ProducerBatch): Promise<RecordMetadata[]> => {
      calls += 1;
      const dropped = new Set(dropPartitionsOnCalls.get(calls) ?? []);
      const acked = new Map<string, RecordMetadata>();
      for (const { topic, messages: msgs } of batch.topicMessages ?? []) {
        for (const message of msgs) {
          const p = partition({ topic, partitionMetadata, message });
          if (dropped.has(p)) continue;
          sent.push({ call: calls, topic, partition: p, value: String(message.value) });
          acked.set(`${topic}/${p}`, { topicName: topic, partition: p, errorCode: 0 });
        }
      }
      return [...acked.values()];
    });
    return { producer: { sendBatch } as unknown as Producer, sent, calls: () => calls };
  }

  const keyed = (n: number): Message[] => Array.from({ length: n }, (_, i) => ({ key: `device-${i}`, value: `v-${i}` }));

  it('resends, in the same turn, only the messages of partitions the acknowledgement left out', async () => {
    const all = keyed(60);
    const probe = droppingProducer(new Map());
    await createSender(probe.producer)([{ topic: 't', messages: all }]);
    const partitionOf = new Map(probe.sent.map((s) => [s.value, s.partition]));
    const lost = partitionOf.get('v-0') as number;

    const f = droppingProducer(new Map([[1, [lost]]]));
    const send = createSender(f.producer);
    await Promise.all([send([{ topic: 't', messages: all }]), send([{ topic: 't', messages: keyed(3) }])]);
    const values = (call: number) => f.sent.filter((s) => s.call === call).map((s) => s.value);
    // Every message written exactly once; the resend (call 2) holds only the dropped partition, before the next send (call 3).
    expect(
      f.sent
        .slice(0, 60)
        .map((s) => s.value)
        .sort(),
    ).toEqual(all.map((m) => String(m.value)).sort());
    expect(new Set(f.sent.filter((s) => s.call === 2).map((s) => s.partition))).toEqual(new Set([lost]));
    expect(values(2).sort()).toEqual(
      all
        .filter((m) => partitionOf.get(String(m.value)) === lost)
        .map((m) => String(m.value))
        .sort(),
    );
    expect(values(3)).toEqual(['v-0', 'v-1', 'v-2']);
  });

  it('fails the send, naming the partition, when the brokers keep leaving it out', async () => {
    const probe = droppingProducer(new Map());
    await createSender(probe.producer)([{ topic: 't', messages: keyed(1) }]);
    const p = probe.sent[0].partition;
    const f = droppingProducer(new Map([1, 2, 3].map((call) => [call, [p]])));
    await expect(createSender(f.producer)([{ topic: 't', messages: keyed(1) }])).rejects.toThrow(`acknowledged the request without partitions t[${p}]`);
    expect(f.calls()).toBe(3);
  });
});
