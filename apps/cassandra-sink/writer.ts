/**
 * Executes write units against Cassandra/Keyspaces: bounded concurrency shared by every
 * partition, LOCAL_QUORUM, prepared and idempotent (so the driver may also retry on another
 * host), with the shared retry (apps/lib/retry) around each unit.
 */
import { types } from 'cassandra-driver';
import type { WriteStatement, WriteUnit } from './batching';
import { ConcurrencyLimiter } from '../lib/flow-control';
import { RetryHooks, RetryPolicy, withRetries } from '../lib/retry';
import { classifyWriteError } from './write-errors';

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

export class CassandraWriter {
  private readonly limiter: ConcurrencyLimiter;

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
   * Resolves once EVERY unit is written; rejects with the first failure after the units
   * already in flight have settled (so nothing runs on behind a rejected batch), and starts
   * no new unit once one has failed.
   */
  async write(units: readonly WriteUnit[], hooks: WriteHooks): Promise<void> {
    let failure: { error: unknown } | undefined;
    await Promise.all(
      units.map((unit) =>
        this.limiter.run(async () => {
          if (failure) return;
          try {
            await withRetries(() => this.send(unit.statements), this.opts.retry, { classify: classifyWriteError, ...this.opts.retryOverrides, ...hooks });
          } catch (error) {
            // Recorded before the slot is released, so the next queued unit sees it.
            failure ??= { error };
          }
        }),
      ),
    );
    if (failure) throw failure.error;
  }

  private send(statements: readonly WriteStatement[]): Promise<unknown> {
    if (statements.length === 1) return this.session.execute(statements[0].query, statements[0].params as unknown[], SINGLE);
    return this.session.batch(
      statements.map((s) => ({ query: s.query, params: s.params as unknown[] })),
      BATCH,
    );
  }
}
