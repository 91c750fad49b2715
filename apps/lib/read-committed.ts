/**
 * A correct read_committed filter for kafkajs 2.2.4, whose own one hands consumers records of
 * ABORTED transactions.
 *
 * For read_committed fetches the broker returns the records up to the last stable offset plus the
 * list of aborted transactions among them (producer id, first offset); the client must drop every
 * record of such a producer from that first offset to its ABORT marker. kafkajs'
 * `consumer/filterAbortedMessages.js` activates at most ONE aborted transaction per record, and
 * only the head of the list, which it expects in first-offset order; the broker lists them in the
 * order they were aborted. So when several aborted transactions overlap in one fetch (a fence
 * aborting all the transactions a killed processor left open), records of all but one reach the
 * consumer: the fault suite found them as duplicates in the DLQ, which Kafka's own console
 * consumer did not show.
 *
 * `installReadCommittedFilter` applies the Java consumer's rule (its `CompletedFetch`) to every
 * fetch response as it is decoded, then empties the response's aborted-transaction list, so
 * kafkajs' filter passes the records through untouched. Fetch responses are decoded through the
 * module objects below, looked up per request, so installing it at any time before the first fetch
 * covers every consumer of the process.
 */

/** A record as kafkajs' fetch decoders produce it (only what the filter reads). */
export interface DecodedRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly isControlRecord: boolean;
  readonly batchContext: { readonly producerId: string; readonly inTransaction: boolean };
}

export interface AbortedTransaction {
  readonly producerId: string;
  readonly firstOffset: string;
}

/** A control record's key is (version: int16, type: int16); type 0 is ABORT, 1 is COMMIT. */
const isAbortMarker = (r: DecodedRecord): boolean => r.isControlRecord && r.key !== null && r.key.length >= 4 && r.key.readInt16BE(2) === 0;

/**
 * The records of one partition's fetch without those of aborted transactions (control records
 * are kept; kafkajs drops them itself). `records` are in offset order, as decoded.
 */
export function dropAborted<R extends DecodedRecord>(records: readonly R[], aborted: readonly AbortedTransaction[]): R[] {
  if (aborted.length === 0) return [...records];
  const pending = [...aborted].sort((a, b) => (BigInt(a.firstOffset) < BigInt(b.firstOffset) ? -1 : BigInt(a.firstOffset) > BigInt(b.firstOffset) ? 1 : 0));
  const abortedProducers = new Set<string>();
  let next = 0;
  return records.filter((r) => {
    const offset = BigInt(r.offset);
    while (next < pending.length && BigInt(pending[next].firstOffset) <= offset) abortedProducers.add(pending[next++].producerId);
    const { producerId, inTransaction } = r.batchContext;
    if (r.isControlRecord) {
      if (isAbortMarker(r)) abortedProducers.delete(producerId);
      return true;
    }
    return !(inTransaction && abortedProducers.has(producerId));
  });
}

interface DecodedFetch {
  readonly responses: readonly { readonly partitions: { messages: DecodedRecord[]; abortedTransactions?: AbortedTransaction[] }[] }[];
}
interface FetchResponseModule {
  decode: (raw: Buffer) => Promise<DecodedFetch>;
  /** Set once wrapped, so a second install (another client, a test) does not wrap again. */
  sdpReadCommittedFilter?: true;
}

/** Fetch versions whose responses carry aborted transactions (4+); kafkajs 2.2.4 speaks up to 11. */
const FETCH_VERSIONS = [4, 5, 6, 7, 8, 9, 10, 11];

/** Wraps the decoder of every fetch response version; safe to call more than once. */
export function installReadCommittedFilter(): void {
  for (const version of FETCH_VERSIONS) {
    // The decoders are internal to kafkajs: no public hook exists, and jest's module registry only sees `require`.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(`kafkajs/src/protocol/requests/fetch/v${version}/response`) as FetchResponseModule;
    if (mod.sdpReadCommittedFilter) continue;
    const decode = mod.decode;
    mod.decode = async (raw) => {
      const decoded = await decode(raw);
      for (const topic of decoded.responses) {
        for (const partition of topic.partitions) {
          if (!partition.abortedTransactions?.length) continue;
          partition.messages = dropAborted(partition.messages, partition.abortedTransactions);
          partition.abortedTransactions = [];
        }
      }
      return decoded;
    };
    mod.sdpReadCommittedFilter = true;
  }
}
