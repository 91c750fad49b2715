/**
 * The Cassandra sink's environment: Kafka, Cassandra/Keyspaces and common variables from
 * apps/lib, plus the sink's own knobs (named after Kafka Connect's `errors.retry.*`).
 */
import { z } from 'zod';
import { cassandraEnv, commonEnv, envInt, kafkaEnv } from '../lib/config';
import type { RetryPolicy } from './retry';

export const cassandraSinkEnv = kafkaEnv
  .extend(cassandraEnv.shape)
  .extend(commonEnv.shape)
  .extend({
    /**
     * Write requests in flight across all partitions; at the bound the consumer pauses.
     * @default 32
     */
    CASSANDRA_SINK_CONCURRENCY: envInt(1, 2048).default(32),
    /**
     * Connections per Cassandra host. Keyspaces serves roughly 3,000 CQL requests/s per
     * connection, so raise this (not only concurrency) for more throughput there.
     * @default 2
     */
    CASSANDRA_SINK_CONNECTIONS_PER_HOST: envInt(1, 64).default(2),
    /** Kafka partitions processed at once. @default 6 */
    CASSANDRA_SINK_PARTITIONS_CONCURRENTLY: envInt(1, 64).default(6),
    /** Quick attempts per write before the consumer pauses and keeps retrying. @default 5 */
    CASSANDRA_SINK_MAX_ATTEMPTS: envInt(1, 100).default(5),
    /** First backoff ceiling, doubled per attempt (full jitter). @default 100 */
    CASSANDRA_SINK_RETRY_BASE_MS: envInt(1, 60_000).default(100),
    /** Largest backoff between two attempts. @default 5000 */
    CASSANDRA_SINK_RETRY_MAX_DELAY_MS: envInt(10, 60_000).default(5_000),
    /**
     * How long a write may keep failing before the process exits for a restart (nothing is
     * skipped: the batch stays uncommitted).
     * @default 300000 (5 minutes)
     */
    CASSANDRA_SINK_MAX_RETRY_MS: envInt(1_000, 86_400_000).default(300_000),
  })
  .superRefine((v, ctx) => {
    if (v.CASSANDRA_SINK_RETRY_MAX_DELAY_MS < v.CASSANDRA_SINK_RETRY_BASE_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['CASSANDRA_SINK_RETRY_MAX_DELAY_MS'],
        message: `must be >= CASSANDRA_SINK_RETRY_BASE_MS (${v.CASSANDRA_SINK_RETRY_BASE_MS})`,
      });
    }
  });

export type CassandraSinkConfig = z.output<typeof cassandraSinkEnv>;

export function retryPolicyOf(cfg: CassandraSinkConfig): RetryPolicy {
  return {
    maxAttempts: cfg.CASSANDRA_SINK_MAX_ATTEMPTS,
    baseDelayMs: cfg.CASSANDRA_SINK_RETRY_BASE_MS,
    maxDelayMs: cfg.CASSANDRA_SINK_RETRY_MAX_DELAY_MS,
    maxRetryMs: cfg.CASSANDRA_SINK_MAX_RETRY_MS,
  };
}
