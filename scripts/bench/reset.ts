/**
 * A clean slate between benchmark stages. The apps' topics and consumer groups are fixed by
 * apps/contracts, so the topics are emptied and the groups deleted (nothing is replayed);
 * the sinks write to a dedicated keyspace and bucket, so `npm start`'s tables and lake are kept.
 */
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Client } from 'cassandra-driver';
import type { Admin } from 'kafkajs';
import { ensureBucket } from '../../apps/admin/bucket';
import { ensureCassandraSchema } from '../../apps/admin/cassandra-schema';
import { ensureTopics } from '../../apps/admin/topics';
import { consumerApps } from '../../apps/contracts/apps';
import { allTopics } from '../../apps/contracts/topics';
import { kafkaDurability, localNames } from '../local/local-services';

/** Where the benchmark's sinks write (CASSANDRA_KEYSPACE, S3_BUCKET of the sink processes). */
export const benchStores = { keyspace: 'telemetry_bench', bucket: 'sdp-bench-lake' } as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { info: () => undefined, warn: () => undefined };

export async function resetTopics(admin: Admin): Promise<void> {
  await deleteGroups(
    admin,
    consumerApps.map((a) => a.consumerGroup as string),
  );
  await ensureTopics(admin, allTopics, { ...kafkaDurability(), logger: quiet });
  // Truncating to the high watermark empties a topic without deleting it (no metadata churn,
  // no race with a recreation); the groups are gone, so every app starts at the new log start.
  for (const t of allTopics) {
    const offsets = await admin.fetchTopicOffsets(t.name);
    const partitions = offsets.filter((o) => o.high !== o.low).map((o) => ({ partition: o.partition, offset: o.high }));
    if (partitions.length > 0) await admin.deleteTopicRecords({ topic: t.name, partitions });
  }
}

/**
 * A group can only be deleted once it is empty: a member of a process that was killed rather
 * than stopped stays until its session times out (30 s in apps/lib/consumer.ts), so retry.
 */
async function deleteGroups(admin: Admin, groupIds: readonly string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const existing = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
    const left = groupIds.filter((g) => existing.has(g));
    if (left.length === 0) return;
    try {
      await admin.deleteGroups(left);
      return;
    } catch (err) {
      const detail = (err as { groups?: { groupId: string; error?: { message?: string } }[] }).groups
        ?.filter((g) => g.error)
        .map((g) => `${g.groupId}: ${g.error?.message}`)
        .join('; ');
      if (Date.now() > deadline) throw new Error(`could not delete consumer groups (${detail ?? (err as Error).message})`);
      await sleep(1_000);
    }
  }
}

export async function resetStores(cassandra: Client, s3: S3Client): Promise<void> {
  await cassandra.execute(`DROP KEYSPACE IF EXISTS ${benchStores.keyspace}`);
  await ensureCassandraSchema(cassandra, { keyspace: benchStores.keyspace, replicationFactor: localNames.replicationFactor, logger: quiet });
  await ensureBucket(s3, benchStores.bucket);
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: benchStores.bucket, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: benchStores.bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}
