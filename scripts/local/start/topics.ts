/**
 * Counting what a run added to a topic. Offsets alone overcount a topic written in transactions
 * (every commit adds a marker, and aborted records keep their offsets), so the records are read
 * back as the apps read them: read_committed.
 */
import { randomUUID } from 'crypto';
import type { Admin, Kafka } from 'kafkajs';
import { done, waitFor } from '../launcher';

/** Each partition's high watermark now: where the run's records will start (retried while a new topic's leaders settle). */
export async function topicEnds(admin: Admin, topic: string): Promise<Map<number, number>> {
  return waitFor(`the offsets of ${topic}`, async () => done(new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]))), {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
}

/** Committed records of `topic` from `from` (per partition, as `topicEnds` returned it) to the current end. */
export async function countCommittedSince(kafka: Kafka, admin: Admin, topic: string, from: ReadonlyMap<number, number>, timeoutMs = 60_000): Promise<number> {
  const ends = await topicEnds(admin, topic);
  const remaining = new Map([...ends].filter(([p, high]) => high > (from.get(p) ?? 0)).map(([p, high]) => [p, high - 1]));
  if (remaining.size === 0) return 0;
  const groupId = `sdp-start-count-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100, readUncommitted: false });
  let count = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  // The position passes a partition's end even when the end is a commit marker (never a message).
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const last = remaining.get(payload.partition);
    if (last === undefined || payload.lastOffset === null || Number(payload.lastOffset) < last) return;
    remaining.delete(payload.partition);
    if (remaining.size === 0) finish();
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const p of remaining.keys()) consumer.seek({ topic, partition: p, offset: String(from.get(p) ?? 0) });
  });
  await consumer.connect();
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const last = ends.get(batch.partition)! - 1;
        for (const m of batch.messages) if (Number(m.offset) >= (from.get(batch.partition) ?? 0) && Number(m.offset) <= last) count += 1;
      },
    });
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`counting ${topic}: partitions ${[...remaining.keys()].join(',')} not read to their end after ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return count;
}
