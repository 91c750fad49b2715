/**
 * Makes kafkajs 2.2.4's produce retries wait for the requests still in flight.
 *
 * `producer/sendMessages.js` sends one request per leader broker at once and retries when the
 * first of them fails (`Promise.all`), while the others are still running. The retry re-sends to
 * every broker that has no response yet, so a request that was merely slower than the failing one
 * goes out a second time, with the next sequence numbers: the broker takes it as new records.
 * The fault suite found exactly that on the 3-node cluster: whole batches twice in the DLQ, inside
 * one committed transaction, after an AddPartitionsToTxn to one broker failed with
 * CONCURRENT_TRANSACTIONS while the produce to another was under way; and duplicates in the raw
 * topic during a rolling restart. With one broker there is one request per send, so it never showed.
 *
 * The fix wraps what kafkajs hands `sendMessages`: every per-broker request holds the broker lock
 * from start to end (`acquireBrokerLock` ... `releaseBrokerLock` in a `finally`), so those calls
 * mark the requests in flight, and each retry first waits until the requests in flight when it
 * was scheduled have ended. By then a request that succeeded has recorded its response, and the
 * retry skips its broker as kafkajs intends.
 *
 * kafkajs binds `sendMessages` when its producer module loads, so this must be installed before
 * kafkajs is first required: `apps/lib/kafka.ts` imports this module first, and `createProducer`
 * checks that every producer it makes went through the fix.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs internals are CommonJS modules found by path */
type Retrier = <T>(fn: (bail: (e: Error) => void, retryCount: number, retryTime: number) => Promise<T>) => Promise<T>;

interface EosManager {
  acquireBrokerLock(broker: unknown): Promise<void>;
  releaseBrokerLock(broker: unknown): void;
}

export interface SendMessagesDeps {
  readonly eosManager: EosManager;
  readonly retrier: Retrier;
  readonly [dep: string]: unknown;
}

type CreateSendMessages = (deps: SendMessagesDeps) => unknown;

/** `createSendMessages` whose retries start only once the previous attempt's requests have ended. */
export function settledRetries(createSendMessages: CreateSendMessages): CreateSendMessages {
  return (deps) => {
    const inFlight = new Set<Promise<void>>();
    const ends = new Map<unknown, (() => void)[]>();
    const eosManager: EosManager = Object.assign(Object.create(deps.eosManager) as EosManager, {
      async acquireBrokerLock(broker: unknown): Promise<void> {
        let end!: () => void;
        const request = new Promise<void>((resolve) => (end = resolve));
        inFlight.add(request);
        void request.then(() => inFlight.delete(request));
        try {
          await deps.eosManager.acquireBrokerLock(broker);
        } catch (err) {
          end();
          throw err;
        }
        ends.set(broker, [...(ends.get(broker) ?? []), end]);
      },
      releaseBrokerLock(broker: unknown): void {
        try {
          deps.eosManager.releaseBrokerLock(broker);
        } finally {
          const [end, ...rest] = ends.get(broker) ?? [];
          if (rest.length > 0) ends.set(broker, rest);
          else ends.delete(broker);
          end?.();
        }
      },
    });
    const retrier: Retrier = (fn) =>
      deps.retrier(async (bail, retryCount, retryTime) => {
        if (retryCount > 0) await Promise.all([...inFlight]);
        return fn(bail, retryCount, retryTime);
      });
    createdProducers += 1;
    return createSendMessages({ ...deps, eosManager, retrier });
  };
}

let createdProducers = 0;

/** How many kafkajs message producers were created through the fix (each producer and each transaction makes one). */
export function producersWithSettledRetries(): number {
  return createdProducers;
}

const SEND_MESSAGES = require.resolve('kafkajs/src/producer/sendMessages');
const MESSAGE_PRODUCER = require.resolve('kafkajs/src/producer/messageProducer');

function install(): void {
  const cached = require.cache[SEND_MESSAGES];
  if (cached?.exports && (cached.exports as { settled?: boolean }).settled) return;
  // Under jest's module registry require.cache is not consulted; unit tests use fake producers.
  if (require.cache[MESSAGE_PRODUCER]) return;
  const original = require(SEND_MESSAGES) as CreateSendMessages;
  const fixed = Object.assign(settledRetries(original), { settled: true });
  const entry = require.cache[SEND_MESSAGES];
  if (entry) entry.exports = fixed;
}

install();
