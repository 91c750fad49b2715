/**
 * Kafka from the test's side: resetting topics and groups between scenarios, reading a whole
 * topic with headers, the offsets that say how far each app has got, and (on the 3-node
 * cluster) which node leads and which replicas are in sync.
 */
import { execFile } from 'child_process';
import { randomUUID } from 'crypto';
import { Admin, IHeaders, Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '../../../apps/admin/topics';
import { allTopics, consumerApps } from '../../../apps/contracts';
import { installReadCommittedFilter } from '../../../apps/lib/read-committed';
import { endpoints, javaBinary, kafkaClasspath, kafkaDurability } from '../../../scripts/local/local-services';
import { done, pending, waitFor } from './wait';

/** A client that reads committed records only, as the apps' clients do (apps/lib/read-committed.ts). */
export function testKafka(clientId = 'sdp-integration-test'): Kafka {
  installReadCommittedFilter();
  return new Kafka({
    clientId,
    brokers: [...endpoints().kafkaBrokerList],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 3_000 },
  });
}

export async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = testKafka('sdp-integration-admin').admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Deletes a consumer group (offsets and commit metadata included). A member killed with -9 keeps
 * the group non-empty until its session times out (30 s in apps/lib/consumer.ts), so that is retried.
 */
export async function deleteGroup(admin: Admin, groupId: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `consumer group ${groupId} to be deleted`,
    async () => {
      try {
        await admin.deleteGroups([groupId]);
        return done(undefined);
      } catch (err) {
        const type = (err as { groups?: { error?: { type?: string } }[] }).groups?.[0]?.error?.type;
        if (type === 'GROUP_ID_NOT_FOUND') return done(undefined);
        return pending(type ?? (err as Error).message);
      }
    },
    { timeoutMs, intervalMs: 1_000 },
  );
}

/**
 * A fresh pipeline on Kafka's side: no group of the apps (so no committed offsets or processor
 * commit metadata survive), and every contract topic deleted and recreated empty, offsets from 0.
 */
export async function resetKafka(): Promise<void> {
  await withAdmin(async (admin) => {
    for (const group of consumerApps.map((a) => a.consumerGroup as string)) await deleteGroup(admin, group);
    const names = allTopics.map((t) => t.name);
    const existing = new Set(await admin.listTopics());
    const present = names.filter((n) => existing.has(n));
    if (present.length > 0) await admin.deleteTopics({ topics: present, timeout: 30_000 });
    await waitFor(
      'deleted topics to disappear',
      async () => {
        const left = (await admin.listTopics()).filter((t) => names.includes(t));
        return left.length === 0 ? done(undefined) : pending(`still listed: ${left.join(', ')}`);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    await waitFor(
      'contract topics to be recreated',
      async () => {
        await ensureTopics(admin, allTopics, kafkaDurability());
        return done(undefined);
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  });
}

export interface PartitionOffsets {
  readonly partition: number;
  readonly low: number;
  readonly high: number;
}

/**
 * Each partition's log start and high watermark. Right after a broker (re)start or a topic's
 * creation, a broker may not know yet that it leads a partition ("not the leader for that
 * topic-partition"): the lookup is retried until the leaders answer.
 */
export async function topicOffsets(admin: Admin, topic: string): Promise<PartitionOffsets[]> {
  const offsets = await waitFor(`the offsets of ${topic}`, async () => done(await admin.fetchTopicOffsets(topic)), { timeoutMs: 60_000, intervalMs: 500 });
  return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) })).sort((a, b) => a.partition - b.partition);
}

/** Offsets currently in the topic (high - low summed over partitions); on a transactional topic an upper bound of its records (markers and aborted records count too). */
export async function topicSize(admin: Admin, topic: string): Promise<number> {
  return (await topicOffsets(admin, topic)).reduce((n, p) => n + p.high - p.low, 0);
}

/** The group's committed offset per partition (-1 where it has none). */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((res?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}

/** Sum of the group's committed offsets over the topics' partitions: grows with every commit. */
export async function committedTotal(admin: Admin, groupId: string, topics: readonly string[]): Promise<number> {
  let sum = 0;
  for (const topic of topics) for (const c of (await committedOffsets(admin, groupId, topic)).values()) sum += Math.max(0, c);
  return sum;
}

/**
 * How far a group is behind the given end offsets: the records between its commit and `ends`
 * summed over partitions (a partition without a commit counts from its log start).
 */
export async function groupBacklog(admin: Admin, groupId: string, topic: string, ends: readonly PartitionOffsets[]): Promise<number> {
  const committed = await committedOffsets(admin, groupId, topic);
  return ends.reduce((n, p) => {
    const c = committed.get(p.partition) ?? -1;
    return n + Math.max(0, p.high - (c < 0 ? p.low : c));
  }, 0);
}

/** Rewinds a stopped group to the log start of each topic, as an operator's replay would. */
export async function resetGroupToEarliest(admin: Admin, groupId: string, topics: readonly string[]): Promise<void> {
  for (const topic of topics) await admin.resetOffsets({ groupId, topic, earliest: true });
}

export interface TopicRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: Readonly<Record<string, string>>;
}

const headerText = (headers: IHeaders | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.map(String).join(',') : v === undefined ? '' : v.toString()]));

/**
 * Every committed record of `topic` from its log start to its high watermark at the time of the
 * call, read (read_committed, like the apps) with a throwaway consumer group that commits nothing.
 */
export async function readTopic(topic: string, timeoutMs = 120_000): Promise<TopicRecord[]> {
  const kafka = testKafka('sdp-integration-reader');
  const ends = await withAdmin((admin) => topicOffsets(admin, topic));
  const remaining = new Map(ends.filter((p) => p.high > p.low).map((p) => [p.partition, p.high - 1]));
  if (remaining.size === 0) return [];

  const groupId = `sdp-integration-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
  const records: TopicRecord[] = [];
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch }) => {
        const last = remaining.get(batch.partition);
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          if (last === undefined || offset > last) break;
          records.push({
            topic,
            partition: batch.partition,
            offset,
            key: m.key ? m.key.toString('utf8') : null,
            value: m.value,
            timestamp: Number(m.timestamp),
            headers: headerText(m.headers),
          });
        }
      },
    });
    // A transactional topic ends in a commit marker, which read_committed consumers never see as a
    // message: a partition is read to its end once kafkajs' position passed `last`, data or not.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const last = remaining.get(payload.partition);
      if (last === undefined || payload.lastOffset === null || Number(payload.lastOffset) < last) return;
      remaining.delete(payload.partition);
      if (remaining.size === 0) finish();
    });
    const timer = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`reading ${topic}: partitions ${[...remaining.keys()].join(',')} not read to their end after ${timeoutMs} ms`)),
        timeoutMs,
      ).unref(),
    );
    await Promise.race([finished, timer]);
  } finally {
    await consumer.disconnect();
    await withAdmin((admin) => deleteGroup(admin, groupId, 10_000)).catch(() => undefined);
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/**
 * The transaction coordinator's state (`Ongoing`, `CompleteCommit`, `CompleteAbort`, ...) of every
 * transactional id, from Kafka's own TransactionsCommand: kafkajs' admin cannot list transactions.
 * `Ongoing` means a transaction was opened and no end was requested yet.
 */
export async function transactionStates(timeoutMs = 60_000): Promise<Map<string, string>> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      javaBinary(),
      ['-Xmx128m', '-cp', kafkaClasspath(), 'org.apache.kafka.tools.TransactionsCommand', '--bootstrap-server', endpoints().kafkaBrokers, 'list'],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`TransactionsCommand list failed: ${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
  const states = new Map<string, string>();
  // Header: TransactionalId Coordinator ProducerId TransactionState, tab-separated.
  for (const line of output.split('\n').slice(1)) {
    const [id, , , state] = line.split('\t').map((f) => f.trim());
    if (id && state) states.set(id, state);
  }
  return states;
}

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Node id of the leader; -1 while the partition has none. */
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** Leader, replicas and ISR of every partition of the topics, as the cluster's metadata has them now. */
export async function partitionStates(admin: Admin, topics: readonly string[]): Promise<PartitionState[]> {
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
  return metadata
    .flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr })))
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** The node that leads `topic`/`partition` now, e.g. the one a fault test kills. */
export async function partitionLeader(admin: Admin, topic: string, partition: number): Promise<number> {
  const state = (await partitionStates(admin, [topic])).find((p) => p.partition === partition);
  if (!state) throw new Error(`${topic} has no partition ${partition}`);
  return state.leader;
}
