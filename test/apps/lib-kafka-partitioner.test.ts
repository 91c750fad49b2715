import { Partitioners, PartitionerArgs, PartitionMetadata } from 'kafkajs';
import { MemoizedDefaultPartitioner } from '../../apps/lib/kafka';

const metadata = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
const args = (key: PartitionerArgs['message']['key'], n = 12, extra: Partial<PartitionerArgs['message']> = {}, topic = 't'): PartitionerArgs => ({
  topic,
  partitionMetadata: metadata(n),
  message: { key, value: 'v', ...extra },
});

describe('MemoizedDefaultPartitioner', () => {
  test('agrees with kafkajs DefaultPartitioner (Java murmur2) for every key, asked once or many times', () => {
    const memo = MemoizedDefaultPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2_000; i++) {
        const key = `dev-${String(i).padStart(6, '0')}`;
        for (const n of [3, 12]) expect(memo(args(key, n, {}, `topic-${n}`))).toBe(reference(args(key, n)));
      }
    }
  });

  test('starts over when the partition count changes', () => {
    const memo = MemoizedDefaultPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    const before = keys.map((k) => memo(args(k, 6)));
    const after = keys.map((k) => memo(args(k, 12)));
    expect(after).toEqual(keys.map((k) => reference(args(k, 12))));
    expect(after).not.toEqual(before);
  });

  test('an explicit partition wins; Buffer and null keys go to the default partitioner', () => {
    const memo = MemoizedDefaultPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    expect(memo(args('dev-1', 12, { partition: 7 }))).toBe(7);
    expect(memo(args(Buffer.from('dev-1')))).toBe(reference(args('dev-1')));
    const keyless = new Set(Array.from({ length: 24 }, () => memo(args(null))));
    expect(keyless.size).toBeGreaterThan(1); // round-robin, not memoized to one partition
  });
});
