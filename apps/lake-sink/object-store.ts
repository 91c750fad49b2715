/**
 * Where lake files go: S3 (or MinIO) via PutObject; the parts of a compacted file are listed
 * and removed with DeleteObjects. Files are capped by LAKE_SINK_MAX_RECORDS
 * and LAKE_SINK_MAX_FILE_BYTES far below PutObject's 5 GiB limit, and a single PUT replaces an
 * object atomically, which is what makes a re-upload under the same key a clean overwrite.
 */
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ErrorClass } from '../lib/retry';

export interface ObjectStore {
  /** `metadata`: user metadata (`x-amz-meta-*`), e.g. a file's last offset, which `head` returns. */
  put(key: string, body: Uint8Array, metadata?: Readonly<Record<string, string>>): Promise<void>;
  /** The object's user metadata, or undefined if it does not exist. */
  head(key: string): Promise<Record<string, string> | undefined>;
  get(key: string): Promise<Uint8Array>;
  /** Keys under `prefix`. */
  list(prefix: string): Promise<string[]>;
  /** Removes `keys` (at most 1,000); absent keys are not an error. */
  delete(keys: readonly string[]): Promise<void>;
}

export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array, metadata?: Readonly<Record<string, string>>): Promise<void> {
    // Encryption comes from the bucket's default (SSE-KMS); the lake construct enforces it.
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/vnd.apache.parquet',
        ...(metadata ? { Metadata: { ...metadata } } : {}),
      }),
    );
  }

  async head(key: string): Promise<Record<string, string> | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.Metadata ?? {};
    } catch (err) {
      if ((err as SdkErrorShape).$metadata?.httpStatusCode === 404) return undefined;
      throw err;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!out.Body) throw new Error(`GetObject ${key} returned no body`);
    return out.Body.transformToByteArray();
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
    const failed = out.Errors ?? [];
    if (failed.length > 0) {
      const first = failed[0];
      // Per-key errors come back in a 200 response: surface them like a failed request.
      throw Object.assign(
        new Error(`DeleteObjects failed for ${failed.length} of ${keys.length} keys, e.g. ${first.Key}: ${first.Code} ${first.Message ?? ''}`),
        {
          name: first.Code ?? 'DeleteObjectsError',
          $metadata: { httpStatusCode: first.Code === 'AccessDenied' ? 403 : 500 },
        },
      );
    }
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

interface SdkErrorShape {
  readonly name?: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/**
 * 5xx, 429 (SlowDown), timeouts and network errors are worth another attempt (the SDK has
 * already retried a few times); 4xx such as AccessDenied or NoSuchBucket are configuration
 * problems no retry fixes, so the process stops with a clear error.
 */
export function classifyS3Error(err: unknown): ErrorClass {
  const e = (err ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429 || status === 408 ? 'retryable' : 'fatal';
  if (e.code && NETWORK_CODES.has(e.code)) return 'retryable';
  if (e.name === 'TimeoutError' || e.name === 'CredentialsProviderError' || e.name === 'AbortError') return 'retryable';
  return e.$metadata ? 'retryable' : 'fatal';
}

/** Low-cardinality label for `sdp_write_retries_total{kind}`. */
export function s3ErrorKind(err: unknown): string {
  const e = (err ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return `s3_${status}`;
  return `s3_${(e.code ?? e.name ?? 'error').toLowerCase()}`;
}
