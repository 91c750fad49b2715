/**
 * The lake sink's environment: Kafka, S3 and common variables from apps/lib, plus the file
 * layout and retry knobs (the retry variables are Kafka Connect's `errors.retry.*`, see
 * apps/lib/retry). Changing LAKE_SINK_MAX_RECORDS, LAKE_SINK_MAX_FILE_BYTES or LAKE_SINK_PART_RECORDS changes future object keys (a replay of already-written offsets would then write differently-keyed
 * duplicates), so treat them as part of the lake's layout, not as tuning.
 */
import { z } from 'zod';
import { commonEnv, envInt, kafkaEnv, s3Env } from '../lib/config';
import { checkRetryPolicy, retryEnv, retryPolicyFrom } from '../lib/retry';
import type { LakeSinkOptions } from './sink';

const RETRY = 'LAKE_SINK';

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
     * Offsets per aligned sub-block of an open file's freshness parts: an idle flush re-encodes
     * at most this many rows per open file besides the ones that arrived since the last flush,
     * and a closed sub-block's part is never rewritten. Part of the layout like the two above: a
     * change while files are open leaves overlapping parts of both sizes until those files close.
     * @default 5000
     */
    LAKE_SINK_PART_RECORDS: envInt(1, 5_000_000).default(5_000),
    /**
     * Longest time a reading waits in memory before it is uploaded in a part of its open file
     * (the file itself is uploaded once, complete): how stale the lake may be.
     * @default 10000
     */
    LAKE_SINK_IDLE_FLUSH_MS: envInt(100, 3_600_000).default(10_000),
    /** Uploads in flight across all partitions. @default 4 */
    LAKE_SINK_UPLOAD_CONCURRENCY: envInt(1, 64).default(4),
    /** Kafka partitions processed at once. @default 6 */
    LAKE_SINK_PARTITIONS_CONCURRENTLY: envInt(1, 64).default(6),
    /** @default 5 attempts, 200 ms base, 10000 ms max delay, 300000 ms (5 minutes) before a restart */
    ...retryEnv(RETRY, { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 10_000, maxRetryMs: 300_000 }),
  })
  .superRefine(checkRetryPolicy(RETRY));

export type LakeSinkConfig = z.output<typeof lakeSinkEnv>;

export function lakeSinkOptionsOf(cfg: LakeSinkConfig): LakeSinkOptions {
  return {
    blockSize: cfg.LAKE_SINK_MAX_RECORDS,
    partRecords: cfg.LAKE_SINK_PART_RECORDS,
    maxFileBytes: cfg.LAKE_SINK_MAX_FILE_BYTES,
    idleFlushMs: cfg.LAKE_SINK_IDLE_FLUSH_MS,
    uploadConcurrency: cfg.LAKE_SINK_UPLOAD_CONCURRENCY,
    retry: retryPolicyFrom(RETRY, cfg),
  };
}
