/**
 * The read_committed filter (apps/lib/read-committed.ts) against kafkajs' own: one partition's
 * fetch in which two aborted transactions overlap, as after a fence aborted every transaction a
 * killed processor left open. The records are shaped as kafkajs' fetch decoder produces them, and
 * what a consumer would be handed is read from kafkajs' own Batch.
 */
import { DecodedRecord, dropAborted, installReadCommittedFilter } from '../../apps/lib/read-committed';

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

const data = (offset: number, producerId: string): DecodedRecord & { value: Buffer } => ({
  offset: String(offset),
  key: Buffer.from(`key-${offset}`),
  value: Buffer.from(`p${producerId}@${offset}`),
  isControlRecord: false,
  batchContext: { producerId, inTransaction: true },
});
const marker = (offset: number, producerId: string, key: Buffer): DecodedRecord & { value: Buffer } => ({
  offset: String(offset),
  key,
  value: Buffer.alloc(6),
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});

/** Producer 1 and 4 commit; 2 and 3 abort, their transactions interleaved; 3 was aborted first. */
const partitionLog = [
  data(0, '1'),
  marker(1, '1', COMMIT),
  data(2, '2'),
  data(3, '3'),
  data(4, '2'),
  data(5, '3'),
  marker(6, '3', ABORT),
  marker(7, '2', ABORT),
  data(8, '4'),
  marker(9, '4', COMMIT),
];
/** The broker lists aborted transactions in the order they were aborted, not by first offset. */
const abortedInAbortOrder = [
  { producerId: '3', firstOffset: '3' },
  { producerId: '2', firstOffset: '2' },
];
const committedValues = ['p1@0', 'p4@8'];

const Batch = require('kafkajs/src/consumer/batch') as new (
  topic: string,
  fetchedOffset: string,
  partitionData: { partition: number; highWatermark: string; messages: unknown[]; abortedTransactions: unknown[] },
) => { messages: { value: Buffer }[] };

const handedOver = (fetchedOffset: number, messages: readonly DecodedRecord[], abortedTransactions: readonly unknown[]) =>
  new Batch('t', String(fetchedOffset), {
    partition: 0,
    highWatermark: '10',
    messages: [...messages],
    abortedTransactions: [...abortedTransactions],
  }).messages.map((m) => m.value.toString());

describe('read_committed filtering', () => {
  it("kafkajs' own filter hands over records of aborted transactions listed out of first-offset order (why the filter exists)", () => {
    expect(handedOver(0, partitionLog, abortedInAbortOrder)).toContain('p2@2');
  });

  it("kafkajs' own filter hands over a record whose aborted transaction began before the fetch (why the filter exists)", () => {
    const sorted = [...abortedInAbortOrder].reverse();
    expect(handedOver(5, partitionLog.slice(5), sorted)).toContain('p3@5');
  });

  it('drops every record of an aborted transaction, whatever the order of the list, and keeps the committed ones and the markers', () => {
    for (const aborted of [abortedInAbortOrder, [...abortedInAbortOrder].reverse()]) {
      expect(dropAborted(partitionLog, aborted).map((r) => r.offset)).toEqual(['0', '1', '6', '7', '8', '9']);
    }
  });

  it('drops the records of a transaction that began before the fetch', () => {
    expect(dropAborted(partitionLog.slice(5), [...abortedInAbortOrder].reverse()).map((r) => r.offset)).toEqual(['6', '7', '8', '9']);
  });

  it('keeps a producer whose earlier transaction aborted once its next one commits', () => {
    const log = [data(0, '2'), marker(1, '2', ABORT), data(2, '2'), marker(3, '2', COMMIT)];
    expect(dropAborted(log, [{ producerId: '2', firstOffset: '0' }]).map((r) => r.offset)).toEqual(['1', '2', '3']);
  });

  it('leaves a fetch without aborted transactions as it is, non-transactional records included', () => {
    const plain = { ...data(0, '-1'), batchContext: { producerId: '-1', inTransaction: false } };
    expect(dropAborted([plain, ...partitionLog], [])).toEqual([plain, ...partitionLog]);
  });

  it('once installed, every fetch response version is decoded with the filter, so a consumer gets committed records only', async () => {
    const v11 = require('kafkajs/src/protocol/requests/fetch/v11/response') as { decode: (raw: Buffer) => Promise<unknown> };
    // Stands in for the wire decoder: what it would produce for the partition above.
    v11.decode = async () => ({
      responses: [{ topicName: 't', partitions: [{ partition: 0, abortedTransactions: abortedInAbortOrder, messages: partitionLog }] }],
    });
    installReadCommittedFilter();
    installReadCommittedFilter();
    const decoded = (await v11.decode(Buffer.alloc(0))) as {
      responses: { partitions: { messages: DecodedRecord[]; abortedTransactions: unknown[] }[] }[];
    };
    const [partition] = decoded.responses[0].partitions;
    expect(partition.abortedTransactions).toEqual([]);
    expect(handedOver(0, partition.messages, partition.abortedTransactions)).toEqual(committedValues);
  });
});
