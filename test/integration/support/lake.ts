/**
 * The lake from the test's side: every Parquet object under the raw telemetry prefix, decoded
 * with hyparquet (an independent reader, not the sink's encoder), plus emptying the prefix
 * between scenarios. Decoded objects are cached by ETag, so polling re-reads only what changed.
 */
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type * as Hyparquet from 'hyparquet';
import { lakeLayout, topics } from '../../../apps/contracts';
import { requireEsm } from '../../../apps/lake-sink/esm';
import { createLocalS3Client, endpoints } from '../../../scripts/local/local-services';

const { parquetMetadata, parquetReadObjects } = requireEsm<typeof Hyparquet>('hyparquet');

export interface LakeRow {
  readonly deviceId: string;
  readonly ts: number;
  readonly metric: string;
  readonly value: number;
  readonly tags: Readonly<Record<string, string>> | null;
  readonly unit: string | null;
  readonly schemaVersion: number;
}

export interface LakeObject {
  readonly key: string;
  readonly etag: string;
  readonly lastModified: number;
  /** Parsed from the key: `dt=`, `hour=`, source partition and start offset. */
  readonly dt: string;
  readonly hour: string;
  readonly partition: number;
  readonly startOffset: number;
  /** Footer lineage written by the sink (`sdp.source.*`). */
  readonly footer: Readonly<Record<string, string>>;
  readonly rows: readonly LakeRow[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** `raw/telemetry/dt=YYYY-MM-DD/hour=HH/<topic>+<partition>+<10-digit start offset>.parquet` (apps/contracts/lake.ts). */
const KEY = new RegExp(`^${escape(lakeLayout.prefix)}dt=(\\d{4}-\\d{2}-\\d{2})/hour=(\\d{2})/${escape(topics.clean.name)}\\+(\\d+)\\+(\\d{10})\\.parquet$`);

export class Lake {
  private readonly s3: S3Client = createLocalS3Client();
  private readonly bucket = endpoints().bucket;
  private readonly cache = new Map<string, LakeObject>();

  close(): void {
    this.s3.destroy();
  }

  private async listKeys(): Promise<{ key: string; etag: string; lastModified: number }[]> {
    const out: { key: string; etag: string; lastModified: number }[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: lakeLayout.prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        out.push({ key: o.Key as string, etag: o.ETag ?? '', lastModified: o.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /**
   * Every object under the prefix, decoded. An object whose key does not follow the layout is an
   * error (the lake's Glue table would silently miss it).
   */
  async read(): Promise<LakeObject[]> {
    const listed = await this.listKeys();
    const objects = await Promise.all(
      listed.map(async ({ key, etag, lastModified }) => {
        const cached = this.cache.get(key);
        // Same bytes (a replay rewrites identical files): reuse the decoded rows, keep the new timestamp.
        if (cached && cached.etag === etag) return { ...cached, lastModified };
        const m = KEY.exec(key);
        if (!m) throw new Error(`lake object ${key} does not follow the layout of apps/contracts/lake.ts`);
        const got = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: etag }));
        const bytes = await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
        const file = bytes.slice().buffer;
        const footer = Object.fromEntries((parquetMetadata(file).key_value_metadata ?? []).map((kv) => [kv.key, kv.value ?? '']));
        const decoded = (await parquetReadObjects({ file })) as Record<string, unknown>[];
        const object: LakeObject = {
          key,
          etag,
          lastModified,
          dt: m[1],
          hour: m[2],
          partition: Number(m[3]),
          startOffset: Number(m[4]),
          footer,
          rows: decoded.map((r) => ({
            deviceId: r.device_id as string,
            ts: (r.ts as Date).getTime(),
            metric: r.metric as string,
            value: r.value as number,
            tags: (r.tags as Record<string, string> | undefined) ?? null,
            unit: (r.unit as string | null | undefined) ?? null,
            schemaVersion: r.schema_version as number,
          })),
        };
        this.cache.set(key, object);
        return object;
      }),
    );
    return objects.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** Deletes every object under the raw telemetry prefix. */
  async clear(): Promise<void> {
    this.cache.clear();
    for (;;) {
      const keys = await this.listKeys();
      if (keys.length === 0) return;
      for (let i = 0; i < keys.length; i += 1_000) {
        await this.s3.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: keys.slice(i, i + 1_000).map((k) => ({ Key: k.key })), Quiet: true },
          }),
        );
      }
    }
  }
}
