/** The producer's environment: Kafka + common variables and the load shape. */
import { z } from 'zod';
import { commonEnv, envInt, envNumber, kafkaEnv } from '../lib/config';

export const producerEnv = kafkaEnv.extend(commonEnv.shape).extend({
  /** Events per second; 0 = as fast as the brokers acknowledge. @default 1000 */
  PRODUCER_RATE: envInt(0, 10_000_000).default(1_000),
  /** Simulated devices (4 metrics each). @default 1000 */
  PRODUCER_DEVICES: envInt(1, 10_000_000).default(1_000),
  /** Total events, then exit; 0 = until stopped or the duration ends. @default 0 */
  PRODUCER_EVENTS: envInt(0, Number.MAX_SAFE_INTEGER).default(0),
  /** Run time, then exit; 0 = no limit. @default 0 */
  PRODUCER_DURATION_SECONDS: envInt(0, 31_536_000).default(0),
  /** Share of deliberately malformed records, 0..1. @default 0 */
  PRODUCER_MALFORMED_RATIO: envNumber(0, 1).default(0),
  /** Share of devices sending contract v2 readings (with a unit), 0..1; the rest send v1. @default 0.5 */
  PRODUCER_V2_RATIO: envNumber(0, 1).default(0.5),
  /** PRNG seed; the same seed and clock reproduce the same records. @default 1 */
  PRODUCER_SEED: envInt(0, 2 ** 31 - 1).default(1),
  /**
   * Records per produce request at full speed. The idempotent producer has one request in
   * flight per broker, so throughput is batch size / round trip; keys spread the records
   * over all partitions, so kafkajs' per-partition grouping stays cheap.
   * @default 2000
   */
  PRODUCER_BATCH_SIZE: envInt(1, 100_000).default(2_000),
  /** Sends awaiting acknowledgement at once. @default 4 */
  PRODUCER_MAX_IN_FLIGHT: envInt(1, 64).default(4),
  /** Write an NDJSON manifest of acknowledged records to this path. */
  PRODUCER_MANIFEST: z.string().min(1).optional(),
});

export type ProducerConfig = z.output<typeof producerEnv>;
