/**
 * Exactly-once output for a consume-transform-produce app: what it writes to Kafka and the input
 * offset it consumed up to are committed in ONE Kafka transaction, so a read_committed consumer
 * downstream sees each output once, whatever crashes, restarts or rebalances in between.
 *
 * The design is Kafka Streams' original one ("EOS alpha"), because it is the one kafkajs can do:
 * kafkajs' TxnOffsetCommit carries no group generation (KIP-447), so a producer shared by all
 * partitions could not be fenced per partition. Instead:
 *
 * - One transactional producer per INPUT partition, `transactional.id = <group>.<topic>.<partition>`.
 *   Whoever owns the partition owns that id.
 * - On every assignment (`fence`) each assigned partition gets a NEW producer, whose InitProducerId
 *   bumps the id's epoch. That fences every earlier holder (another member that lost the partition
 *   but does not know it yet, this process's own previous generation, a killed process) and makes
 *   the coordinator abort whatever transaction it left open. Only then may the caller read the
 *   committed offsets: nothing can change them behind its back any more.
 * - `begin(partition)` opens a transaction on that partition's producer; `send` writes in it and
 *   `commit(offset)` adds the consumed offset (TxnOffsetCommit, with metadata) and commits both.
 *   A fenced, failed or aborted transaction leaves no visible output and no offset.
 */
import { createProducer, createSender } from './kafka';
import type { Kafka, PartitionOffset, Producer, Transaction, TopicMessages } from 'kafkajs';
import { CompressionTypes } from 'kafkajs';
import type { Logger } from 'pino';
import { transactionalIdOf } from '../contracts/apps';
import type { SafeOffset } from './commits';

/** Output written in one transaction of one input partition. */
export interface OutputTransaction {
  /** Sends in the transaction; resolves once the brokers acknowledged (still invisible to read_committed readers). */
  send(topicMessages: readonly TopicMessages[]): Promise<void>;
  /** Commits the sends together with the input partition's next offset to read (and its metadata). */
  commit(consumed: SafeOffset): Promise<void>;
  /** Discards the sends; never throws (a fenced producer cannot abort, and its coordinator already did). */
  abort(): Promise<void>;
}

/** Opens a transaction on an input partition's producer. */
export type BeginTransaction = (inputPartition: number) => Promise<OutputTransaction>;

export interface PartitionTransactionsOptions {
  readonly kafka: Kafka;
  /** The consumer group whose offsets the transactions commit. */
  readonly groupId: string;
  /** The input topic; one transactional id per partition of it. */
  readonly inputTopic: string;
  readonly logger: Logger;
  /** @default CompressionTypes.None */
  readonly compression?: CompressionTypes;
  /** See `createSender`. @default 500 */
  readonly maxMessagesPerRequest?: number;
  /**
   * The coordinator aborts a transaction left open this long (a member that hangs without dying).
   * Read_committed consumers of the output partitions wait at most this long behind it.
   * @default 60000
   */
  readonly transactionTimeoutMs?: number;
}

export class PartitionTransactions {
  private producers = new Map<number, Producer>();
  private readonly compression: CompressionTypes;
  private readonly maxMessagesPerRequest: number | undefined;

  constructor(private readonly opts: PartitionTransactionsOptions) {
    this.compression = opts.compression ?? CompressionTypes.None;
    this.maxMessagesPerRequest = opts.maxMessagesPerRequest;
  }

  /**
   * Makes this member the only writer of `partitions`: a fresh producer per partition, each
   * initialized (which fences every earlier holder of its transactional id and aborts its open
   * transaction). Producers of partitions no longer assigned are closed. Resolves once all are fenced.
   */
  async fence(partitions: readonly number[]): Promise<void> {
    const previous = this.producers;
    const next = new Map<number, Producer>();
    this.producers = next;
    try {
      await Promise.all(
        partitions.map(async (partition) => {
          const producer = createProducer(this.opts.kafka, {
            transactionalId: transactionalIdOf(this.opts.groupId, this.opts.inputTopic, partition),
            maxInFlightRequests: 1,
            transactionTimeout: this.opts.transactionTimeoutMs ?? 60_000,
          });
          next.set(partition, producer);
          await producer.connect();
          // kafkajs initializes the transactional id lazily, on the first transaction: do it now.
          await (await producer.transaction()).abort();
        }),
      );
    } finally {
      void this.disconnect([...previous.values()]);
    }
    this.opts.logger.debug({ partitions }, 'transactional producers fenced their partitions');
  }

  begin: BeginTransaction = async (partition) => {
    const producer = this.producers.get(partition);
    if (!producer) throw new Error(`no transactional producer for ${this.opts.inputTopic}[${partition}]: it is not assigned to this member`);
    const txn = await producer.transaction();
    return this.wrap(txn, partition);
  };

  /** Closes every producer (on shutdown). An open transaction is aborted by its coordinator. */
  async close(): Promise<void> {
    const all = [...this.producers.values()];
    this.producers = new Map();
    await this.disconnect(all);
  }

  private wrap(txn: Transaction, partition: number): OutputTransaction {
    const send = createSender(txn, { compression: this.compression, maxMessagesPerRequest: this.maxMessagesPerRequest });
    const { groupId, inputTopic } = this.opts;
    return {
      send,
      commit: async ({ offset, metadata }) => {
        // kafkajs' types omit it, but TxnOffsetCommit carries the metadata (restored on assignment).
        const consumed: PartitionOffset & { metadata?: string } = { partition, offset, ...(metadata !== undefined ? { metadata } : {}) };
        await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: inputTopic, partitions: [consumed] }] });
        await txn.commit();
      },
      abort: async () => {
        if (!txn.isActive()) return;
        await txn.abort().catch((err: unknown) => this.opts.logger.debug({ err, partition }, 'abort failed; the coordinator aborts the transaction'));
      },
    };
  }

  private async disconnect(producers: readonly Producer[]): Promise<void> {
    await Promise.all(producers.map((p) => p.disconnect().catch((err: unknown) => this.opts.logger.debug({ err }, 'producer disconnect failed'))));
  }
}
