/**
 * Retry for idempotent store writes, after Kafka Connect's `errors.retry.*`: a few quick attempts
 * with exponential backoff and full jitter, then a degraded phase (the caller pauses fetching)
 * that keeps retrying until `maxRetryMs`, then give up so the process crashes and restarts.
 * Nothing is ever skipped: giving up means the batch is not committed. Each sink says only which
 * of its store's errors another attempt can fix (`classify`) and how to label them.
 *
 * The abandon-or-commit decision lives here too: `sinkFailure` tells a handler whether a failed
 * write means "commit nothing and move on" (abandoned), "rejoin" (heartbeat failed) or "crash".
 */
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { z } from 'zod';
import { envInt } from './config';

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

export type ErrorClass = 'retryable' | 'fatal';

/** The write kept failing for `maxRetryMs`: do not commit, let the process restart. */
export class RetriesExhaustedError extends Error {
  constructor(
    readonly attempts: number,
    readonly elapsedMs: number,
    override readonly cause: unknown,
  ) {
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
  /** Which failures another attempt can fix; the store's own knowledge. */
  readonly classify: (err: unknown) => ErrorClass;
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
  const { sleep = defaultSleep, now = Date.now, random = Math.random, classify } = hooks;
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

/**
 * The four `<PREFIX>_MAX_ATTEMPTS`, `_RETRY_BASE_MS`, `_RETRY_MAX_DELAY_MS` and `_MAX_RETRY_MS`
 * variables of a sink, with its defaults; `retryPolicyFrom` reads them back and
 * `checkRetryPolicy` rejects a max delay below the base.
 */
export function retryEnv<P extends string>(prefix: P, defaults: RetryPolicy) {
  return {
    /** Quick attempts per write before the consumer pauses and keeps retrying. */
    [`${prefix}_MAX_ATTEMPTS`]: envInt(1, 100).default(defaults.maxAttempts),
    /** First backoff ceiling, doubled per attempt (full jitter). */
    [`${prefix}_RETRY_BASE_MS`]: envInt(1, 60_000).default(defaults.baseDelayMs),
    /** Largest backoff between two attempts. */
    [`${prefix}_RETRY_MAX_DELAY_MS`]: envInt(10, 60_000).default(defaults.maxDelayMs),
    /** How long a write may keep failing before the process exits for a restart (nothing is skipped). */
    [`${prefix}_MAX_RETRY_MS`]: envInt(1_000, 86_400_000).default(defaults.maxRetryMs),
  } as Record<`${P}_${'MAX_ATTEMPTS' | 'RETRY_BASE_MS' | 'RETRY_MAX_DELAY_MS' | 'MAX_RETRY_MS'}`, z.ZodDefault<ReturnType<typeof envInt>>>;
}

export function retryPolicyFrom(prefix: string, cfg: Readonly<Record<string, unknown>>): RetryPolicy {
  return {
    maxAttempts: cfg[`${prefix}_MAX_ATTEMPTS`] as number,
    baseDelayMs: cfg[`${prefix}_RETRY_BASE_MS`] as number,
    maxDelayMs: cfg[`${prefix}_RETRY_MAX_DELAY_MS`] as number,
    maxRetryMs: cfg[`${prefix}_MAX_RETRY_MS`] as number,
  };
}

/** A zod `superRefine` check: the backoff ceiling must not be below its base. */
export function checkRetryPolicy(prefix: string) {
  return (v: Readonly<Record<string, unknown>>, ctx: z.core.$RefinementCtx): void => {
    const base = v[`${prefix}_RETRY_BASE_MS`] as number;
    if ((v[`${prefix}_RETRY_MAX_DELAY_MS`] as number) < base) {
      ctx.addIssue({ code: 'custom', path: [`${prefix}_RETRY_MAX_DELAY_MS`], message: `must be >= ${prefix}_RETRY_BASE_MS (${base})` });
    }
  };
}

/** What a sink does when its write failed, after Kafka Connect's task semantics. */
export type SinkFailure = 'abandon' | 'rejoin' | 'fatal';

/**
 * - `abandon`: the consumer is stopping or lost the partition; commit nothing, return normally.
 * - `rejoin`: the group heartbeat failed; rethrow, so the runner rejoins and replays from the
 *   last commit (returning "nothing to commit" would let later batches commit past this one).
 * - `fatal`: retries exhausted or a non-retryable error; exit non-zero, nothing committed.
 */
export function sinkFailure(err: unknown): SinkFailure {
  if (err instanceof AbandonedError) return 'abandon';
  if (err instanceof HeartbeatFailedError) return 'rejoin';
  return 'fatal';
}

export interface SinkFailureHandling {
  readonly logger: Logger;
  readonly errors: Counter<'kind'>;
  /** `sdp_errors_total{kind}` of a fatal failure, e.g. `write`, `upload`. */
  readonly kind: string;
  /** Exits non-zero (the app's `fail`). */
  readonly onFatal: (err: unknown) => void;
  /** Log fields saying what was abandoned. */
  readonly context?: object;
}

/**
 * Applies `sinkFailure`: returns `undefined` (nothing to commit) for an abandoned write, and
 * otherwise rethrows, after `onFatal` for a fatal one.
 */
export function settleSinkFailure(err: unknown, h: SinkFailureHandling): undefined {
  const failure = sinkFailure(err);
  if (failure === 'abandon') {
    h.logger.info(h.context ?? {}, 'write abandoned without commit (stopping or partition revoked)');
    return undefined;
  }
  if (failure === 'fatal') {
    h.errors.inc({ kind: h.kind });
    h.onFatal(err);
  }
  throw err;
}
