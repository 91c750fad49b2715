import { allTopics, topics, topicConfig } from '../../apps/contracts/topics';
import { ExistingTopic, planTopics } from '../../apps/admin/topics';

const durability = { replicationFactor: 3, minInsyncReplicas: 2 };

/** A cluster where every declared topic exists exactly as declared. */
function inSync(): Map<string, ExistingTopic> {
  return new Map(allTopics.map((t) => [t.name, { name: t.name, partitions: t.partitions, replicationFactor: 3, overrides: topicConfig(t, 2) }]));
}

describe('planTopics', () => {
  it('creates every declared topic on an empty cluster with the declared partitions and configs', () => {
    const plan = planTopics(allTopics, new Map(), durability);
    expect(plan.create.map((c) => c.topic)).toEqual(allTopics.map((t) => t.name));
    const raw = plan.create.find((c) => c.topic === topics.raw.name)!;
    expect(raw.numPartitions).toBe(12);
    expect(raw.replicationFactor).toBe(3);
    expect(raw.configEntries).toEqual(
      expect.arrayContaining([
        { name: 'retention.ms', value: String(72 * 3_600_000) },
        { name: 'cleanup.policy', value: 'delete' },
        { name: 'min.insync.replicas', value: '2' },
      ]),
    );
    expect(plan.unchanged).toEqual([]);
  });

  it('changes nothing when the cluster matches the declarations', () => {
    const plan = planTopics(allTopics, inSync(), durability);
    expect(plan.create).toEqual([]);
    expect(plan.addPartitions).toEqual([]);
    expect(plan.alterConfigs).toEqual([]);
    expect(plan.warnings).toEqual([]);
    expect(plan.unchanged).toHaveLength(allTopics.length);
  });

  it('adds partitions when the declaration has more, and only warns when it has fewer', () => {
    const existing = inSync();
    existing.set(topics.raw.name, { ...existing.get(topics.raw.name)!, partitions: 6 });
    existing.set(topics.clean.name, { ...existing.get(topics.clean.name)!, partitions: 24 });
    const plan = planTopics(allTopics, existing, durability);
    expect(plan.addPartitions).toEqual([{ topic: topics.raw.name, from: 6, count: 12 }]);
    expect(plan.warnings).toEqual([expect.stringMatching(/telemetry\.clean\.v1: declared 12 partitions but the topic has 24/)]);
    expect(plan.unchanged).toContain(topics.clean.name);
  });

  it('fixes drifted managed configs and carries unmanaged overrides over (AlterConfigs replaces all overrides)', () => {
    const existing = inSync();
    existing.set(topics.aggregates.name, {
      ...existing.get(topics.aggregates.name)!,
      overrides: { 'retention.ms': '1000', 'cleanup.policy': 'delete', 'max.message.bytes': '2097152' },
    });
    const plan = planTopics(allTopics, existing, durability);
    expect(plan.alterConfigs).toHaveLength(1);
    const change = plan.alterConfigs[0];
    expect(change.topic).toBe(topics.aggregates.name);
    expect(change.changes).toEqual({
      'retention.ms': { from: '1000', to: String(168 * 3_600_000) },
      'min.insync.replicas': { from: undefined, to: '2' },
    });
    expect(Object.fromEntries(change.configEntries.map((e) => [e.name, e.value]))).toEqual({
      'retention.ms': String(168 * 3_600_000),
      'cleanup.policy': 'delete',
      'min.insync.replicas': '2',
      'max.message.bytes': '2097152',
    });
  });

  it('treats cleanup.policy lists as sets', () => {
    const declared = [{ ...topics.raw, cleanupPolicy: 'compact,delete' as const }];
    const existing = new Map([
      [
        topics.raw.name,
        {
          name: topics.raw.name,
          partitions: 12,
          replicationFactor: 3,
          overrides: { ...topicConfig(declared[0], 2), 'cleanup.policy': 'delete,compact' },
        },
      ],
    ]);
    expect(planTopics(declared, existing, durability).unchanged).toEqual([topics.raw.name]);
  });

  it('warns about a replication factor it cannot change in place', () => {
    const existing = inSync();
    existing.set(topics.deadLetter.name, { ...existing.get(topics.deadLetter.name)!, replicationFactor: 1 });
    const plan = planTopics(allTopics, existing, durability);
    expect(plan.warnings).toEqual([expect.stringMatching(/telemetry\.dlq\.v1: replication factor is 1, expected 3/)]);
  });

  it('rejects options that could never accept an acks=all write, naming the field', () => {
    expect(() => planTopics(allTopics, new Map(), { replicationFactor: 1, minInsyncReplicas: 2 })).toThrow(/minInsyncReplicas/);
    expect(() => planTopics(allTopics, new Map(), { replicationFactor: 0, minInsyncReplicas: 1 })).toThrow(/replicationFactor/);
  });
});
