/**
 * The lake from the test's side, read by the reader rule of docs/lake.md: every file under the
 * raw telemetry prefix, plus each part under the parts prefix whose file does not exist, decoded
 * with hyparquet (an independent reader, not the sink's encoder), plus emptying both prefixes
 * between scenarios. Decoded objects are cached by ETag, so polling re-reads only what changed.
 */
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type * as Hyparquet from 'hyparquet';
import { lakeLayout, topics } from '../../../apps/contracts';
import { lakeFileKeyOfPart } from '../../../apps/contracts/lake';
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
  /** A compacted file, or a part of a file that is still open (counted because the file is absent). */
  readonly kind: 'file' | 'part';
  readonly etag: string;
  readonly lastModified: number;
  /** Parsed from the key: `dt=`, `hour=`, source partition and the file's start offset. */
  readonly dt: string;
  readonly hour: string;
  readonly partition: number;
  readonly startOffset: number;
  /** For a part: the first offset of its aligned sub-block. */
  readonly partStart?: number;
  /** Footer lineage written by the sink (`sdp.source.*`). */
  readonly footer: Readonly<Record<string, string>>;
  readonly rows: readonly LakeRow[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * `raw/telemetry/dt=YYYY-MM-DD/hour=HH/<topic>+<partition>+<10-digit start offset>.parquet`, and
 * for a part `raw/telemetry_parts/...+<10-digit start offset>+<10-digit sub-block start>.parquet` (apps/contracts/lake.ts).
 */
const keyPattern = (prefix: string, part: boolean) =>
  new RegExp(
    `^${escape(prefix)}dt=(\\d{4}-\\d{2}-\\d{2})/hour=(\\d{2})/${escape(topics.clean.name)}\\+(\\d+)\\+(\\d{10})${part ? '\\+(\\d{10})' : ''}\\.parquet$`,
  );
const FILE_KEY = keyPattern(lakeLayout.prefix, false);
const PART_KEY = keyPattern(lakeLayout.partsPrefix, true);

interface Listed {
  readonly key: string;
  readonly etag: string;
  readonly lastModified: number;
}

const statusOf = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

export class Lake {
  private readonly s3: S3Client = createLocalS3Client();
  private readonly bucket = endpoints().bucket;
  private readonly cache = new Map<string, LakeObject>();

  close(): void {
    this.s3.destroy();
  }

  private async listKeys(prefix: string): Promise<Listed[]> {
    const out: Listed[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        out.push({ key: o.Key as string, etag: o.ETag ?? '', lastModified: o.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /**
   * Waits until the bucket stops changing: two listings of both prefixes (keys and ETags)
   * `quietMs` apart are equal. A SIGSTOP freezes the sink, not its requests: a PUT whose body
   * is already in the kernel's socket buffer, or a DeleteObjects already sent, still completes
   * on the server after the freeze (and after a kill -9). Reading before that would compare a
   * state the sink never left behind.
   */
  async settled(quietMs = 500, timeoutMs = 30_000): Promise<void> {
    const snapshot = async () =>
      [...(await this.listKeys(lakeLayout.partsPrefix)), ...(await this.listKeys(lakeLayout.prefix))]
        .map((o) => `${o.key} ${o.etag}`)
        .sort()
        .join('\n');
    const deadline = Date.now() + timeoutMs;
    let before = await snapshot();
    for (;;) {
      await new Promise((r) => setTimeout(r, quietMs));
      const now = await snapshot();
      if (now === before) return;
      if (Date.now() > deadline) throw new Error(`the lake bucket was still changing ${timeoutMs} ms after the lake-sink stopped`);
      before = now;
    }
  }

  /**
   * The raw bucket, no rule applied: the files, and the parts split by whether their file exists
   * (`open`: a file still being written; `compacted`: left behind by a compaction in progress, or
   * by a sink killed in the middle of one).
   */
  async listing(): Promise<{ files: Set<string>; openParts: string[]; compactedParts: string[] }> {
    const parts = await this.listKeys(lakeLayout.partsPrefix);
    const files = new Set((await this.listKeys(lakeLayout.prefix)).map((f) => f.key));
    const compacted = (key: string) => files.has(lakeFileKeyOfPart(key) ?? '');
    return {
      files,
      openParts: parts.map((p) => p.key).filter((k) => !compacted(k)),
      compactedParts: parts.map((p) => p.key).filter(compacted),
    };
  }

  /**
   * The lake as a reader must see it: every file, and every part whose file does not exist.
   * Parts are listed before files, so a file that appears in between hides its parts; a part
   * that is gone when fetched was compacted since, and its file is read instead. An object whose
   * key does not follow the layout is an error (the lake's Glue table would silently miss it).
   */
  async read(): Promise<LakeObject[]> {
    const parts = await this.listKeys(lakeLayout.partsPrefix);
    const files = await this.listKeys(lakeLayout.prefix);
    const fileKeys = new Set(files.map((f) => f.key));
    const counted = parts.filter((p) => {
      const file = lakeFileKeyOfPart(p.key);
      if (file === undefined) throw new Error(`lake part ${p.key} does not follow the layout of apps/contracts/lake.ts`);
      return !fileKeys.has(file);
    });
    const objects = await Promise.all([
      ...files.map((f) => this.fetch(f)),
      ...counted.map(async (p) => {
        const got = await this.fetch(p);
        if (got) return got;
        const file = await this.fetch({ key: lakeFileKeyOfPart(p.key) as string, etag: '', lastModified: 0 });
        if (!file) throw new Error(`lake part ${p.key} vanished, and its file does not exist: something other than compaction deleted it`);
        return file;
      }),
    ]);
    const byKey = new Map(objects.filter((o): o is LakeObject => o !== undefined).map((o) => [o.key, o]));
    return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** One object, decoded (from the cache when its ETag is unchanged); undefined when it no longer exists. */
  private async fetch({ key, etag, lastModified }: Listed): Promise<LakeObject | undefined> {
    const cached = this.cache.get(key);
    // Same bytes (a replay rewrites identical files): reuse the decoded rows, keep the new timestamp.
    if (cached && etag !== '' && cached.etag === etag) return { ...cached, lastModified };
    const part = PART_KEY.exec(key);
    const m = part ?? FILE_KEY.exec(key);
    if (!m) throw new Error(`lake object ${key} does not follow the layout of apps/contracts/lake.ts`);
    let got;
    try {
      got = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
    const bytes = await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    const file = bytes.slice().buffer;
    const footer = Object.fromEntries((parquetMetadata(file).key_value_metadata ?? []).map((kv) => [kv.key, kv.value ?? '']));
    const decoded = (await parquetReadObjects({ file })) as Record<string, unknown>[];
    const object: LakeObject = {
      key,
      kind: part ? 'part' : 'file',
      etag: got.ETag ?? etag,
      lastModified: got.LastModified?.getTime() ?? lastModified,
      dt: m[1],
      hour: m[2],
      partition: Number(m[3]),
      startOffset: Number(m[4]),
      ...(part ? { partStart: Number(part[5]) } : {}),
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
  }

  /** Deletes every object under the raw telemetry and parts prefixes. */
  async clear(): Promise<void> {
    this.cache.clear();
    for (;;) {
      const keys = [...(await this.listKeys(lakeLayout.prefix)), ...(await this.listKeys(lakeLayout.partsPrefix))];
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
