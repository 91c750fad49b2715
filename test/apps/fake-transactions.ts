import type { TopicMessages } from 'kafkajs';
import type { BeginTransaction } from '../../apps/lib/transactions';

export interface FakeCommit {
  readonly partition: number;
  readonly offset: string;
  readonly metadata?: string;
}

/**
 * Stands in for Kafka transactions as a read_committed reader sees them: a transaction's sends
 * become visible, together with its committed offset, only when it commits; an abort or a failed
 * send leaves nothing. It cannot prove what the brokers do (fencing, markers, the last stable
 * offset): the integration tests run the processor against a real Kafka for that.
 */
export function fakeTransactions(opts: { failSend?: () => boolean } = {}) {
  const visible: TopicMessages[] = [];
  const commits: FakeCommit[] = [];
  const sendsBySource: { partition: number; topics: string[] }[] = [];
  let aborted = 0;
  const begin: BeginTransaction = async (partition) => {
    const staged: TopicMessages[] = [];
    let open = true;
    return {
      send: async (tm) => {
        await new Promise((r) => setImmediate(r));
        if (opts.failSend?.()) throw new Error('broker down');
        staged.push(...tm);
        sendsBySource.push({ partition, topics: tm.map((t) => t.topic) });
      },
      commit: async (consumed) => {
        if (!open) throw new Error('transaction already ended');
        open = false;
        visible.push(...staged);
        commits.push({ partition, ...consumed });
      },
      abort: async () => {
        if (open) aborted += 1;
        open = false;
      },
    };
  };
  return { begin, visible, commits, sendsBySource, aborted: () => aborted };
}
