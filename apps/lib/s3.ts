/** S3 client for the lake: AWS S3 with the default credential chain, or MinIO via endpoint + path style. */
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Env } from './config';

export type S3ClientConfig = Pick<S3Env, 'S3_ENDPOINT' | 'S3_FORCE_PATH_STYLE' | 'AWS_REGION'>;

export function createS3Client(cfg: S3ClientConfig): S3Client {
  return new S3Client({
    region: cfg.AWS_REGION,
    ...(cfg.S3_ENDPOINT ? { endpoint: cfg.S3_ENDPOINT } : {}),
    forcePathStyle: cfg.S3_FORCE_PATH_STYLE,
    // The SDK's adaptive retry backs off on SlowDown (503) instead of failing the batch.
    retryMode: 'adaptive',
    maxAttempts: 5,
  });
}
