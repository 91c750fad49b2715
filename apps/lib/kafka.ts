/**
 * kafkajs clients for the three ways the apps reach Kafka: plaintext locally, MSK with IAM
 * (SASL/OAUTHBEARER signed by aws-msk-iam-sasl-signer-js) or SCRAM-SHA-512, both over TLS.
 */
// First: kafkajs must load with the fixed produce retries (see the module).
import { producersWithSettledRetries } from './kafkajs-send-fix';
import {
  CompressionTypes,
  ICustomPartitioner,
  Kafka,
  KafkaConfig,
  KafkaJSError,
  logLevel,
  Message,
  Partitioners,
  Producer,
  ProducerConfig,
  RecordMetadata,
  TopicMessages,
} from 'kafkajs';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import type { Logger } from 'pino';
import type { KafkaEnv } from './config';
import { installReadCommittedFilter } from './read-committed';

/** The subset of the env config the Kafka clients need (compose `kafkaEnv` to get it). */
export type KafkaClientConfig = Pick<
  KafkaEnv,
  'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID' | 'KAFKA_AUTH' | 'KAFKA_TLS' | 'KAFKA_SASL_USERNAME' | 'KAFKA_SASL_PASSWORD' | 'AWS_REGION'
> & { readonly APP_NAME?: string; readonly KAFKA_RETRIES?: number; readonly KAFKA_MAX_RETRY_TIME_MS?: number };

/** Pure translation of the env config into kafkajs options (unit-tested; no connection made). */
export function kafkaClientConfig(cfg: KafkaClientConfig, logger?: Logger): KafkaConfig {
  const tls = cfg.KAFKA_TLS ?? cfg.KAFKA_AUTH !== 'none';
  const base: KafkaConfig = {
    clientId: cfg.KAFKA_CLIENT_ID ?? cfg.APP_NAME ?? 'sdp-app',
    brokers: [...cfg.KAFKA_BROKERS],
    ssl: tls,
    connectionTimeout: 10_000,
    requestTimeout: 30_000,
    // Bounded retries: a broker outage surfaces as an error (and a restart) instead of a silent hang.
    retry: { initialRetryTime: 300, retries: cfg.KAFKA_RETRIES ?? 8, maxRetryTime: cfg.KAFKA_MAX_RETRY_TIME_MS ?? 30_000 },
    ...(logger ? { logLevel: logLevel.WARN, logCreator: pinoLogCreator(logger) } : {}),
  };
  switch (cfg.KAFKA_AUTH) {
    case 'none':
      return base;
    case 'scram':
      return {
        ...base,
        sasl: {
          mechanism: 'scram-sha-512',
          username: required(cfg.KAFKA_SASL_USERNAME, 'KAFKA_SASL_USERNAME'),
          password: required(cfg.KAFKA_SASL_PASSWORD, 'KAFKA_SASL_PASSWORD'),
        },
      };
    case 'iam': {
      const region = required(cfg.AWS_REGION, 'AWS_REGION');
      return {
        ...base,
        // Tokens are short-lived; kafkajs asks again on every (re)authentication.
        sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: (await generateAuthToken({ region })).token }) },
      };
    }
  }
}

/** A client whose consumers really read committed records only (see ./read-committed.ts). */
export function createKafka(cfg: KafkaClientConfig, logger?: Logger): Kafka {
  installReadCommittedFilter();
  return new Kafka(kafkaClientConfig(cfg, logger));
}

export function compressionOf(cfg: Pick<KafkaEnv, 'KAFKA_COMPRESSION'>): CompressionTypes {
  return cfg.KAFKA_COMPRESSION === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
}

/** Distinct keys remembered per topic before the memo starts over (bounds memory for unique keys). */
const MAX_MEMOIZED_KEYS = 100_000;

/**
 * kafkajs' DefaultPartitioner (Java-compatible murmur2), memoized per topic and string key.
 * kafkajs calls the partitioner for every message, and the default one hashes the key and
 * filters the partition list each time: ~6% of the processor's CPU. A keyed message's partition
 * depends only on the key and the partition count, so the memo is exact; it starts over when
 * the partition count changes.
 */
export const MemoizedDefaultPartitioner: ICustomPartitioner = () => {
  const partitioner = Partitioners.DefaultPartitioner();
  const topics = new Map<string, { partitions: number; byKey: Map<string, number> }>();
  return (args) => {
    const partition = choose(args);
    partitionChosen.set(args.message, partition);
    return partition;
  };
  function choose(args: Parameters<ReturnType<ICustomPartitioner>>[0]): number {
    const { topic, partitionMetadata, message } = args;
    if (typeof message.key !== 'string' || (message.partition !== undefined && message.partition !== null)) return partitioner(args);
    let memo = topics.get(topic);
    if (memo === undefined || memo.partitions !== partitionMetadata.length) {
      memo = { partitions: partitionMetadata.length, byKey: new Map() };
      topics.set(topic, memo);
    }
    let partition = memo.byKey.get(message.key);
    if (partition === undefined) {
      if (memo.byKey.size >= MAX_MEMOIZED_KEYS) memo.byKey.clear();
      partition = partitioner(args);
      memo.byKey.set(message.key, partition);
    }
    return partition;
  }
};

/**
 * The partition kafkajs last chose for each message sent through a producer made by
 * `createProducer`: `createSender` checks the broker acknowledged every one of them.
 */
const partitionChosen = new WeakMap<Message, number>();

/**
 * An idempotent producer (no duplicates from its own retries; sends must use `acks: -1`)
 * with the Java-compatible murmur2 partitioner, so keys land where other clients put them.
 */
export function createProducer(kafka: Kafka, overrides: Partial<ProducerConfig> = {}): Producer {
  const before = producersWithSettledRetries();
  const producer = kafka.producer({
    idempotent: true,
    createPartitioner: MemoizedDefaultPartitioner,
    allowAutoTopicCreation: false,
    ...overrides,
  });
  if (kafka instanceof Kafka && producersWithSettledRetries() === before) {
    throw new Error('kafkajs was loaded before apps/lib/kafkajs-send-fix.ts: import apps/lib/kafka before anything that imports kafkajs');
  }
  return producer;
}

export interface SenderOptions {
  /** @default CompressionTypes.None */
  readonly compression?: CompressionTypes;
  /**
   * Messages per produce request. Keeps each partition's record batch under the broker's
   * message.max.bytes, and bounds kafkajs' per-partition grouping, whose cost grows with the
   * square of the messages a request holds for one partition (measured: 250 per partition
   * costs ~15% less CPU than 1000).
   * @default 500
   */
  readonly maxMessagesPerRequest?: number;
}

/**
 * Returns `send(topicMessages)`: chunks the messages into produce requests of bounded size,
 * sends them with acks=all and resolves once every one was acknowledged. `producer` may be a
 * kafkajs transaction (see ./transactions.ts).
 *
 * Requests go out one at a time per sender, also across concurrent calls. kafkajs' idempotent
 * producer hands a failed request's sequence numbers back before retrying it; a concurrent
 * `sendBatch` that reaches the broker in between takes those numbers, so when the first request
 * had been written after all (a broker restart mid-request), its retry fails with
 * OUT_OF_ORDER_SEQUENCE_NUMBER (kafkajs#598), or the broker drops the other batch as a duplicate
 * while acknowledging it. kafkajs holds a per-broker lock for each request's round trip anyway,
 * so serializing costs little throughput.
 */
export function createSender(producer: Pick<Producer, 'sendBatch'>, opts: SenderOptions = {}): (topicMessages: readonly TopicMessages[]) => Promise<void> {
  const limit = opts.maxMessagesPerRequest ?? 500;
  const compression = opts.compression ?? CompressionTypes.None;
  let tail: Promise<unknown> = Promise.resolve();
  const sendAll = async (topicMessages: TopicMessages[]): Promise<void> => {
    let pending = topicMessages;
    for (let attempt = 1; ; attempt++) {
      const acked = await producer.sendBatch({ topicMessages: pending, acks: -1, compression });
      const missing = unacknowledged(pending, acked);
      if (missing.length === 0) return;
      const partitions = missing.map(({ topic, messages }) => `${topic}[${[...new Set(messages.map((m) => partitionChosen.get(m)))].join(',')}]`).join(', ');
      if (attempt >= MAX_UNACKNOWLEDGED_RESENDS)
        throw new KafkaJSError(`the brokers acknowledged the request without partitions ${partitions}`, { retriable: true });
      pending = missing;
    }
  };
  const sendInTurn = (topicMessages: TopicMessages[]): Promise<unknown> => {
    const request = tail.then(() => sendAll(topicMessages));
    tail = request.catch(() => undefined);
    return request;
  };
  return async (topicMessages) => {
    const requests: TopicMessages[][] = [];
    let current: TopicMessages[] = [];
    let size = 0;
    for (const { topic, messages } of topicMessages) {
      for (let i = 0; i < messages.length;) {
        const take = Math.min(limit - size, messages.length - i);
        const slice: Message[] = i === 0 && take === messages.length ? messages : messages.slice(i, i + take);
        current.push({ topic, messages: slice });
        size += take;
        i += take;
        if (size === limit) {
          requests.push(current);
          current = [];
          size = 0;
        }
      }
    }
    if (size > 0) requests.push(current);
    await Promise.all(requests.map(sendInTurn));
  };
}

/** Resends of partitions a request's acknowledgement left out before the send fails. */
const MAX_UNACKNOWLEDGED_RESENDS = 3;

/**
 * The messages of every partition the acknowledgement does not cover. kafkajs 2.2.4 retries a
 * request that failed on one broker by skipping brokers that already answered; a partition whose
 * leader moved to one of those is then never sent, yet the send resolves (kafkajs#1303, fix not
 * released). Those messages were never written under their current sequence numbers, so resending
 * only them, in turn, cannot duplicate anything: the idempotent producer rolled their sequence
 * numbers back and the broker drops any copy it had. Messages whose partition is unknown (a
 * producer not made by `createProducer`) are not checked.
 */
function unacknowledged(sent: readonly TopicMessages[], acked: readonly RecordMetadata[]): TopicMessages[] {
  const covered = new Set(acked.map((r) => `${r.topicName}\u0000${r.partition}`));
  const missing: TopicMessages[] = [];
  for (const { topic, messages } of sent) {
    const left = messages.filter((m) => {
      const partition = partitionChosen.get(m);
      return partition !== undefined && !covered.has(`${topic}\u0000${partition}`);
    });
    if (left.length > 0) missing.push({ topic, messages: left });
  }
  return missing;
}

function required(value: string | undefined, name: string): string {
  if (!value) throw new Error(`${name} is required for this KAFKA_AUTH mode`);
  return value;
}

function pinoLogCreator(logger: Logger) {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }: { namespace: string; level: logLevel; log: { message: string; [k: string]: unknown } }) => {
      const { message, timestamp: _ts, logger: _l, ...extra } = log;
      const fields = { namespace, ...extra };
      // Expected here: retries are bounded on purpose (an outage fails the batch, which is
      // replayed uncommitted, and the sinks are idempotent), so this is not worth a warning.
      if (message.startsWith('Limiting retries for the idempotent producer')) child.debug(fields, message);
      else if (level === logLevel.ERROR) child.error(fields, message);
      else if (level === logLevel.WARN) child.warn(fields, message);
      else if (level === logLevel.INFO) child.info(fields, message);
      else child.debug(fields, message);
    };
}
