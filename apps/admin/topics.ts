/**
 * Idempotent topic admin: makes the cluster match the declarations in apps/contracts/topics.ts.
 * Used by the local services and by the topic job on the cluster, so it takes a connected
 * kafkajs Admin and never assumes an endpoint.
 *
 * Safe changes are applied (create, add partitions, fix managed configs); unsafe ones are only
 * reported: Kafka cannot remove partitions, and changing the replication factor needs a
 * reassignment plan that an operator should review.
 */
import { Admin, ConfigResourceTypes, ConfigSource } from 'kafkajs';
import { z } from 'zod';
import { topicConfig, TopicDeclaration } from '../contracts/topics';

/** The subset of a pino logger the admin steps use. */
export interface AdminLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const ensureTopicsOptionsSchema = z
  .object({
    replicationFactor: z.number().int().min(1),
    minInsyncReplicas: z.number().int().min(1),
  })
  .refine((o) => o.minInsyncReplicas <= o.replicationFactor, {
    message: 'minInsyncReplicas must not exceed replicationFactor, or no acks=all write could ever succeed',
    path: ['minInsyncReplicas'],
  });

export interface EnsureTopicsOptions extends z.input<typeof ensureTopicsOptionsSchema> {
  readonly logger?: AdminLogger;
}

/** What a topic looks like on the cluster right now. */
export interface ExistingTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Topic-level overrides only (config source TOPIC_CONFIG), not broker defaults. */
  readonly overrides: Readonly<Record<string, string>>;
}

export interface TopicCreation {
  readonly topic: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly configEntries: readonly { name: string; value: string }[];
}

export interface ConfigChange {
  readonly topic: string;
  /** Managed keys that drifted: current override (undefined when only the broker default applies) and target. */
  readonly changes: Readonly<Record<string, { from: string | undefined; to: string }>>;
  /**
   * The complete set of overrides to send: AlterConfigs replaces a topic's overrides wholesale,
   * so overrides we do not manage are carried over unchanged.
   */
  readonly configEntries: readonly { name: string; value: string }[];
}

export interface TopicPlan {
  readonly create: readonly TopicCreation[];
  readonly addPartitions: readonly { topic: string; from: number; count: number }[];
  readonly alterConfigs: readonly ConfigChange[];
  readonly unchanged: readonly string[];
  readonly warnings: readonly string[];
}

export interface EnsureTopicsSummary {
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly unchanged: readonly string[];
  readonly warnings: readonly string[];
}

/** `compact,delete` and `delete,compact` are the same policy. */
const normalize = (key: string, value: string | undefined): string | undefined =>
  key === 'cleanup.policy' && value !== undefined
    ? value
        .split(',')
        .map((v) => v.trim())
        .sort()
        .join(',')
    : value;

/** Pure diff of declarations against the cluster: what `ensureTopics` will do. */
export function planTopics(
  declared: readonly TopicDeclaration[],
  existing: ReadonlyMap<string, ExistingTopic>,
  options: z.input<typeof ensureTopicsOptionsSchema>,
): TopicPlan {
  const parsed = ensureTopicsOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`ensureTopics options are invalid:\n${z.prettifyError(parsed.error)}`);
  const opts = parsed.data;
  const create: TopicCreation[] = [];
  const addPartitions: { topic: string; from: number; count: number }[] = [];
  const alterConfigs: ConfigChange[] = [];
  const unchanged: string[] = [];
  const warnings: string[] = [];

  for (const topic of declared) {
    const desired = topicConfig(topic, opts.minInsyncReplicas);
    const current = existing.get(topic.name);
    if (!current) {
      create.push({
        topic: topic.name,
        numPartitions: topic.partitions,
        replicationFactor: opts.replicationFactor,
        configEntries: Object.entries(desired).map(([name, value]) => ({ name, value })),
      });
      continue;
    }

    let changed = false;
    if (topic.partitions > current.partitions) {
      addPartitions.push({ topic: topic.name, from: current.partitions, count: topic.partitions });
      changed = true;
    } else if (topic.partitions < current.partitions) {
      warnings.push(
        `${topic.name}: declared ${topic.partitions} partitions but the topic has ${current.partitions}; ` +
          'Kafka cannot remove partitions, so it is left as is (update the declaration to match)',
      );
    }
    if (current.replicationFactor !== opts.replicationFactor) {
      warnings.push(
        `${topic.name}: replication factor is ${current.replicationFactor}, expected ${opts.replicationFactor}; ` +
          'changing it needs a partition reassignment (kafka-reassign-partitions), not done automatically',
      );
    }

    const changes: Record<string, { from: string | undefined; to: string }> = {};
    for (const [key, value] of Object.entries(desired)) {
      if (normalize(key, current.overrides[key]) !== normalize(key, value)) {
        changes[key] = { from: current.overrides[key], to: value };
      }
    }
    if (Object.keys(changes).length > 0) {
      const merged = { ...current.overrides, ...desired };
      alterConfigs.push({
        topic: topic.name,
        changes,
        configEntries: Object.entries(merged).map(([name, value]) => ({ name, value })),
      });
      changed = true;
    }
    if (!changed) unchanged.push(topic.name);
  }
  return { create, addPartitions, alterConfigs, unchanged, warnings };
}

/** Reads partitions, replication factor and topic-level overrides of the declared topics that exist. */
export async function describeExistingTopics(admin: Admin, names: readonly string[]): Promise<Map<string, ExistingTopic>> {
  const listed = new Set(await admin.listTopics());
  const present = names.filter((n) => listed.has(n));
  const result = new Map<string, ExistingTopic>();
  if (present.length === 0) return result;

  const [metadata, configs] = await Promise.all([
    admin.fetchTopicMetadata({ topics: present }),
    admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
    }),
  ]);
  const overridesByTopic = new Map(
    configs.resources.map((r) => [
      r.resourceName,
      Object.fromEntries(r.configEntries.filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG).map((e) => [e.configName, e.configValue])),
    ]),
  );
  for (const t of metadata.topics) {
    result.set(t.name, {
      name: t.name,
      partitions: t.partitions.length,
      replicationFactor: Math.max(0, ...t.partitions.map((p) => p.replicas.length)),
      overrides: overridesByTopic.get(t.name) ?? {},
    });
  }
  return result;
}

/**
 * Creates missing topics, adds partitions and fixes drifted `retention.ms`, `cleanup.policy` and
 * `min.insync.replicas`. A second run with the same declarations changes nothing.
 */
export async function ensureTopics(admin: Admin, topics: readonly TopicDeclaration[], options: EnsureTopicsOptions): Promise<EnsureTopicsSummary> {
  const { logger } = options;
  const existing = await describeExistingTopics(
    admin,
    topics.map((t) => t.name),
  );
  const plan = planTopics(topics, existing, options);

  if (plan.create.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: plan.create.map((c) => ({
        topic: c.topic,
        numPartitions: c.numPartitions,
        replicationFactor: c.replicationFactor,
        configEntries: [...c.configEntries],
      })),
    });
    for (const c of plan.create) logger?.info({ topic: c.topic, partitions: c.numPartitions }, 'topic created');
  }
  if (plan.addPartitions.length > 0) {
    await admin.createPartitions({ topicPartitions: plan.addPartitions.map(({ topic, count }) => ({ topic, count })) });
    for (const p of plan.addPartitions) logger?.info({ topic: p.topic, from: p.from, to: p.count }, 'partitions added');
  }
  if (plan.alterConfigs.length > 0) {
    await admin.alterConfigs({
      validateOnly: false,
      resources: plan.alterConfigs.map((a) => ({
        type: ConfigResourceTypes.TOPIC,
        name: a.topic,
        configEntries: [...a.configEntries],
      })),
    });
    for (const a of plan.alterConfigs) logger?.info({ topic: a.topic, changes: a.changes }, 'topic configs updated');
  }
  for (const w of plan.warnings) logger?.warn({}, w);

  const updated = [...new Set([...plan.addPartitions.map((p) => p.topic), ...plan.alterConfigs.map((a) => a.topic)])];
  return {
    created: plan.create.map((c) => c.topic),
    updated,
    unchanged: [...plan.unchanged],
    warnings: [...plan.warnings],
  };
}
