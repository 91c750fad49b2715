/**
 * The Cassandra sink's environment: Kafka, Cassandra/Keyspaces and common variables from
 * apps/lib, plus the sink's own knobs; the retry variables are Kafka Connect's `errors.retry.*`
 * (apps/lib/retry).
 */
import { z } from 'zod';
import { cassandraEnv, commonEnv, envInt, kafkaEnv } from '../lib/config';
import { checkRetryPolicy, retryEnv, RetryPolicy, retryPolicyFrom } from '../lib/retry';

const RETRY = 'CASSANDRA_SINK';

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
    /** @default 5 attempts, 100 ms base, 5000 ms max delay, 300000 ms (5 minutes) before a restart */
    ...retryEnv(RETRY, { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5_000, maxRetryMs: 300_000 }),
  })
  .superRefine(checkRetryPolicy(RETRY));

export type CassandraSinkConfig = z.output<typeof cassandraSinkEnv>;

export function retryPolicyOf(cfg: CassandraSinkConfig): RetryPolicy {
  return retryPolicyFrom(RETRY, cfg);
}
