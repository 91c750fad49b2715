/**
 * Idempotent bucket creation for the local lake (MinIO). In AWS the lake bucket is owned by the
 * DataLake construct (encryption, TLS-only policy, lifecycle); this is for S3-compatible servers.
 */
import { CreateBucketCommand, HeadBucketCommand, PutBucketVersioningCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';

export interface EnsureBucketOptions {
  /**
   * Turn on object versioning (MinIO supports it on single-drive setups since 2022).
   * @default false - the lake sink's keys are deterministic, so a rewrite replaces a file.
   */
  readonly versioning?: boolean;
}

export type EnsureBucketResult = 'created' | 'exists';

const status = (err: unknown): number | undefined => (err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined);

/** Creates `bucket` when missing; tolerates a concurrent creator. Fails when the bucket belongs to someone else. */
export async function ensureBucket(s3: S3Client, bucket: string, options: EnsureBucketOptions = {}): Promise<EnsureBucketResult> {
  let result: EnsureBucketResult = 'exists';
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (status(err) === 403) {
      throw new Error(`bucket ${bucket} exists but these credentials may not access it (HeadBucket returned 403)`);
    }
    if (status(err) !== 404) throw err;
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      result = 'created';
    } catch (createErr) {
      if (!(createErr instanceof S3ServiceException && createErr.name === 'BucketAlreadyOwnedByYou')) throw createErr;
    }
  }
  if (options.versioning) {
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  }
  return result;
}
