/**
 * The lake sink's environment: Kafka, S3 and common variables from apps/lib, plus the file
 * layout and retry knobs. Changing LAKE_SINK_MAX_RECORDS or LAKE_SINK_MAX_FILE_BYTES changes
 * future object keys (a replay of already-written offsets would then write differently-keyed
 * duplicates), so treat them as part of the lake's layout, not as tuning.
 */
import { z } from 'zod';
import { commonEnv, envInt, kafkaEnv, s3Env } from '../lib/config';
import type { RetryPolicy } from '../cassandra-sink/retry';
import type { LakeSinkOptions } from './sink';

export const lakeSinkEnv = kafkaEnv
  .extend(s3Env.shape)
  .extend(commonEnv.shape)
  .extend({
    /**
     * Offsets per aligned block and so the most records in one file. Memory per partition is
     * about this many readings (roughly 300 bytes each).
     * @default 50000
     */
    LAKE_SINK_MAX_RECORDS: envInt(1, 5_000_000).default(50_000),
    /**
     * Record (JSON) bytes per file before it rolls; an upper bound of the Parquet size, which
     * compresses to a fraction of it. Counted from each file's first record, so it rolls at the
     * same offset on every replay.
     * @default 134217728 (128 MiB)
     */
    LAKE_SINK_MAX_FILE_BYTES: envInt(1_024, 1_073_741_824).default(134_217_728),
    /**
     * Longest time a reading waits in memory before its file is uploaded as it is (and again,
     * same key, once complete): how stale the lake may be.
     * @default 10000
     */
    LAKE_SINK_IDLE_FLUSH_MS: envInt(100, 3_600_000).default(10_000),
    /** Uploads in flight across all partitions. @default 4 */
    LAKE_SINK_UPLOAD_CONCURRENCY: envInt(1, 64).default(4),
    /** Kafka partitions processed at once. @default 6 */
    LAKE_SINK_PARTITIONS_CONCURRENTLY: envInt(1, 64).default(6),
    /** Quick attempts per upload before backing off to the degraded phase. @default 5 */
    LAKE_SINK_MAX_ATTEMPTS: envInt(1, 100).default(5),
    /** First backoff ceiling, doubled per attempt (full jitter). @default 200 */
    LAKE_SINK_RETRY_BASE_MS: envInt(1, 60_000).default(200),
    /** Largest backoff between two attempts. @default 10000 */
    LAKE_SINK_RETRY_MAX_DELAY_MS: envInt(10, 60_000).default(10_000),
    /**
     * How long an upload may keep failing before the process exits for a restart (nothing is
     * skipped: the offsets stay uncommitted).
     * @default 300000 (5 minutes)
     */
    LAKE_SINK_MAX_RETRY_MS: envInt(1_000, 86_400_000).default(300_000),
  })
  .superRefine((v, ctx) => {
    if (v.LAKE_SINK_RETRY_MAX_DELAY_MS < v.LAKE_SINK_RETRY_BASE_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['LAKE_SINK_RETRY_MAX_DELAY_MS'],
        message: `must be >= LAKE_SINK_RETRY_BASE_MS (${v.LAKE_SINK_RETRY_BASE_MS})`,
      });
    }
  });

export type LakeSinkConfig = z.output<typeof lakeSinkEnv>;

export function lakeSinkOptionsOf(cfg: LakeSinkConfig): LakeSinkOptions {
  const retry: RetryPolicy = {
    maxAttempts: cfg.LAKE_SINK_MAX_ATTEMPTS,
    baseDelayMs: cfg.LAKE_SINK_RETRY_BASE_MS,
    maxDelayMs: cfg.LAKE_SINK_RETRY_MAX_DELAY_MS,
    maxRetryMs: cfg.LAKE_SINK_MAX_RETRY_MS,
  };
  return {
    blockSize: cfg.LAKE_SINK_MAX_RECORDS,
    maxFileBytes: cfg.LAKE_SINK_MAX_FILE_BYTES,
    idleFlushMs: cfg.LAKE_SINK_IDLE_FLUSH_MS,
    uploadConcurrency: cfg.LAKE_SINK_UPLOAD_CONCURRENCY,
    retry,
  };
}
