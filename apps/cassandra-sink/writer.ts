/**
 * Executes write units against Cassandra/Keyspaces: bounded concurrency shared by every
 * partition, LOCAL_QUORUM, prepared and idempotent (so the driver may also retry on another
 * host), with the shared retry (apps/lib/retry) around each unit.
 *
 * No poison pills: a unit the store refuses because of a row's values (`isRowRejection`) is
 * written again one statement at a time, and the statements that still fail are handed back for
 * the DLQ instead of failing the batch, which would crash-loop the sink on the same record and
 * stall everything behind it. Only for statements that have succeeded before, so a statement
 * or schema that is wrong for every row still stops the process instead of dead-lettering all.
 */
import { types } from 'cassandra-driver';
import type { WriteStatement, WriteUnit } from './batching';
import { ConcurrencyLimiter } from '../lib/flow-control';
import { RetryHooks, RetryPolicy, withRetries } from '../lib/retry';
import { classifyWriteError, isRowRejection } from './write-errors';

/** The slice of cassandra-driver's `Client` the writer uses (a fake in unit tests). */
export interface CqlSession {
  execute(query: string, params: unknown[], options: WriteOptions): Promise<unknown>;
  batch(queries: { query: string; params: unknown[] }[], options: WriteOptions): Promise<unknown>;
}

export interface WriteOptions {
  readonly prepare: true;
  readonly isIdempotent: true;
  readonly consistency: number;
  readonly logged?: false;
}

const SINGLE: WriteOptions = { prepare: true, isIdempotent: true, consistency: types.consistencies.localQuorum };
/** UNLOGGED: the batch log buys atomicity across partitions, which single-partition batches already have. */
const BATCH: WriteOptions = { ...SINGLE, logged: false };

/** Per-call hooks: the batch's liveness checks and where to report retries. */
export type WriteHooks = Pick<RetryHooks, 'shouldContinue' | 'heartbeat' | 'onRetry' | 'onDegradedChange'>;

export interface CassandraWriterOptions {
  /** In-flight requests across all partitions. */
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  /** Backpressure signal, see `ConcurrencyLimiter`. */
  readonly onPressure?: (underPressure: boolean) => void;
  /** Overrides for tests (clock, sleep, jitter). */
  readonly retryOverrides?: Pick<RetryHooks, 'sleep' | 'now' | 'random'>;
}

/** A statement the store refused for its values, and the store's error. */
export interface RejectedStatement {
  readonly statement: WriteStatement;
  readonly error: unknown;
}

export class CassandraWriter {
  private readonly limiter: ConcurrencyLimiter;
  /** Queries that succeeded at least once: a row rejection of one of these is about the row. */
  private readonly proven = new Set<string>();

  constructor(
    private readonly session: CqlSession,
    private readonly opts: CassandraWriterOptions,
  ) {
    this.limiter = new ConcurrencyLimiter(opts.concurrency, opts.onPressure);
  }

  get inFlight(): number {
    return this.limiter.inFlight;
  }

  /**
   * Resolves once EVERY unit is written, with the statements the store refused for their values;
   * rejects with the first other failure after the units already in flight have settled (so
   * nothing runs on behind a failed batch), and starts no new unit once one has failed.
   */
  async write(units: readonly WriteUnit[], hooks: WriteHooks): Promise<RejectedStatement[]> {
    let failure: { error: unknown } | undefined;
    const rejected: RejectedStatement[] = [];
    await Promise.all(
      units.map((unit) =>
        this.limiter.run(async () => {
          if (failure) return;
          try {
            rejected.push(...(await this.writeUnit(unit.statements, hooks)));
          } catch (error) {
            // Recorded before the slot is released, so the next queued unit sees it.
            failure ??= { error };
          }
        }),
      ),
    );
    if (failure) throw failure.error;
    return rejected;
  }

  private async writeUnit(statements: readonly WriteStatement[], hooks: WriteHooks): Promise<RejectedStatement[]> {
    try {
      await withRetries(() => this.send(statements), this.opts.retry, { classify: classifyWriteError, ...this.opts.retryOverrides, ...hooks });
      for (const s of statements) this.proven.add(s.query);
      return [];
    } catch (error) {
      if (!isRowRejection(error) || !statements.every((s) => this.proven.has(s.query))) throw error;
      if (statements.length === 1) return [{ statement: statements[0], error }];
      // One at a time: the batch fails as a whole, whichever row the store refused.
      const rejected: RejectedStatement[] = [];
      for (const s of statements) rejected.push(...(await this.writeUnit([s], hooks)));
      return rejected;
    }
  }

  private send(statements: readonly WriteStatement[]): Promise<unknown> {
    if (statements.length === 1) return this.session.execute(statements[0].query, statements[0].params as unknown[], SINGLE);
    return this.session.batch(
      statements.map((s) => ({ query: s.query, params: s.params as unknown[] })),
      BATCH,
    );
  }
}
