import type { Message, Producer, ProducerBatch } from 'kafkajs';
import { createSender } from '../../apps/lib/kafka';

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
