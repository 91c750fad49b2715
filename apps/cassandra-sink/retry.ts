/**
 * Retry policy for idempotent writes (Cassandra rows here, lake objects in the lake sink), after
 * Kafka Connect's `errors.retry.*`: a few quick attempts with exponential backoff and full
 * jitter, then a degraded phase (the caller pauses fetching) that keeps retrying until
 * `maxRetryMs`, then give up so the process crashes and restarts. Nothing is ever skipped:
 * giving up means the batch is not committed.
 */
import { errors, types } from 'cassandra-driver';

export interface RetryPolicy {
  /** Attempts before entering the degraded phase (pause the partition, keep retrying). */
  readonly maxAttempts: number;
  /** First backoff ceiling; doubles per attempt. */
  readonly baseDelayMs: number;
  /** Backoff ceiling; also bounds how long shutdown waits for a sleeping retry. */
  readonly maxDelayMs: number;
  /** Time since the first failure after which the write is given up (process restart). */
  readonly maxRetryMs: number;
}

/** Full jitter (AWS Architecture Blog): uniform in [0, min(max, base * 2^(attempt-1))). */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

const { responseErrorCodes: code } = types;

/** Server-side conditions that a later attempt of an idempotent write can get past. */
const RETRYABLE_CODES = new Set<number>([
  code.unavailableException,
  code.overloaded,
  code.isBootstrapping,
  code.writeTimeout,
  code.writeFailure,
  // Amazon Keyspaces reports some throttling and transient faults as ServerError.
  code.serverError,
]);

export type ErrorClass = 'retryable' | 'fatal';

/**
 * `fatal` covers errors no retry can fix (bad CQL, unknown column, unauthorized, a value the
 * driver cannot encode): the process must stop rather than skip the row.
 */
export function classifyWriteError(err: unknown): ErrorClass {
  if (err instanceof errors.ResponseError) return RETRYABLE_CODES.has(err.code) ? 'retryable' : 'fatal';
  if (
    err instanceof errors.NoHostAvailableError ||
    err instanceof errors.OperationTimedOutError ||
    err instanceof errors.BusyConnectionError
  ) {
    return 'retryable';
  }
  return 'fatal';
}

/** Short, low-cardinality label for metrics (`write_timeout`, `no_host_available`, ...). */
export function errorKind(err: unknown): string {
  if (err instanceof errors.ResponseError) {
    const name = Object.entries(code).find(([, v]) => v === err.code)?.[0] ?? 'response';
    return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/_exception$/, '');
  }
  if (err instanceof errors.NoHostAvailableError) return 'no_host_available';
  if (err instanceof errors.OperationTimedOutError) return 'client_timeout';
  if (err instanceof errors.BusyConnectionError) return 'busy_connection';
  return 'other';
}

/** The write kept failing for `maxRetryMs`: do not commit, let the process restart. */
export class RetriesExhaustedError extends Error {
  constructor(readonly attempts: number, readonly elapsedMs: number, override readonly cause: unknown) {
    super(`Write still failing after ${attempts} attempts over ${elapsedMs} ms: ${describe(cause)}`);
    this.name = 'RetriesExhaustedError';
  }
}

/** The consumer is stopping or lost the partition: stop retrying, commit nothing. */
export class AbandonedError extends Error {
  constructor() {
    super('Write abandoned: consumer stopping or partition revoked');
    this.name = 'AbandonedError';
  }
}

/**
 * The group heartbeat failed during a retry (usually a rebalance). Not a store failure: the
 * handler rethrows it so the runner rejoins and replays from the last commit. Returning
 * "nothing to commit" instead would let later batches commit past this one.
 */
export class HeartbeatFailedError extends Error {
  constructor(override readonly cause: unknown) {
    super(`Group heartbeat failed while retrying a write: ${describe(cause)}`);
    this.name = 'HeartbeatFailedError';
  }
}

export interface RetryHooks {
  /** Which failures another attempt can fix. @default classifyWriteError (Cassandra driver errors) */
  readonly classify?: (err: unknown) => ErrorClass;
  /** false once the consumer stops or the batch went stale; checked before every retry. */
  readonly shouldContinue: () => boolean;
  /** Keeps the group membership alive during long retries. */
  readonly heartbeat?: () => Promise<void>;
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** true when quick attempts are used up (pause the partition), false when the write ends either way. */
  readonly onDegradedChange?: (degraded: boolean) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly random?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function withRetries<T>(op: () => Promise<T>, policy: RetryPolicy, hooks: RetryHooks): Promise<T> {
  const { sleep = defaultSleep, now = Date.now, random = Math.random, classify = classifyWriteError } = hooks;
  let attempt = 0;
  let firstFailureAt: number | undefined;
  let degraded = false;
  try {
    for (;;) {
      try {
        return await op();
      } catch (err) {
        if (classify(err) === 'fatal') throw err;
        attempt++;
        const t = now();
        firstFailureAt ??= t;
        if (t - firstFailureAt >= policy.maxRetryMs) throw new RetriesExhaustedError(attempt, t - firstFailureAt, err);
        if (!degraded && attempt >= policy.maxAttempts) {
          degraded = true;
          hooks.onDegradedChange?.(true);
        }
        const delay = backoffDelayMs(attempt, policy, random);
        hooks.onRetry?.(err, attempt, delay);
        await sleep(delay);
        if (!hooks.shouldContinue()) throw new AbandonedError();
        try {
          await hooks.heartbeat?.();
        } catch (heartbeatErr) {
          throw new HeartbeatFailedError(heartbeatErr);
        }
      }
    }
  } finally {
    if (degraded) hooks.onDegradedChange?.(false);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
