import { errors, types } from 'cassandra-driver';
import { classifyWriteError, errorKind } from '../../apps/cassandra-sink/write-errors';
import { ConcurrencyLimiter, PauseGate } from '../../apps/lib/flow-control';
import { AbandonedError, backoffDelayMs, RetriesExhaustedError, RetryPolicy, withRetries } from '../../apps/lib/retry';

const codes = types.responseErrorCodes;
const writeTimeout = () => new errors.ResponseError(codes.writeTimeout, 'Operation timed out - received only 1 responses.');
const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryMs: 10_000 };

/** A virtual clock: `sleep` advances time instantly and records each delay. */
function virtualTime() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

describe('backoffDelayMs', () => {
  it('doubles the ceiling per attempt up to maxDelayMs (full jitter scales it)', () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelayMs(a, policy, top))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(200);
    expect(backoffDelayMs(3, policy, () => 0)).toBe(0);
  });

  it('stays within [0, ceiling) for random jitter', () => {
    for (let attempt = 1; attempt < 20; attempt++) {
      const d = backoffDelayMs(attempt, policy);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
    }
  });
});

describe('classifyWriteError', () => {
  it.each([
    ['write timeout', 'retryable', 'write_timeout', writeTimeout()],
    ['unavailable', 'retryable', 'unavailable', new errors.ResponseError(codes.unavailableException, 'x')],
    ['overloaded', 'retryable', 'overloaded', new errors.ResponseError(codes.overloaded, 'x')],
    ['server error (Keyspaces throttling)', 'retryable', 'server_error', new errors.ResponseError(codes.serverError, 'x')],
    ['no host available', 'retryable', 'no_host_available', new errors.NoHostAvailableError({})],
    ['client timeout', 'retryable', 'client_timeout', new errors.OperationTimedOutError('x')],
    ['invalid query', 'fatal', 'invalid', new errors.ResponseError(codes.invalid, 'Undefined column name')],
    ['syntax error', 'fatal', 'syntax_error', new errors.ResponseError(codes.syntaxError, 'x')],
    ['unauthorized', 'fatal', 'unauthorized', new errors.ResponseError(codes.unauthorized, 'x')],
    ['encoding bug', 'fatal', 'other', new TypeError('Not a valid bigint')],
  ] as const)('%s is %s (%s)', (_name, cls, kind, err) => {
    expect(classifyWriteError(err)).toBe(cls);
    expect(errorKind(err)).toBe(kind);
  });
});

describe('withRetries', () => {
  it('retries transient failures with growing backoff and returns the result', async () => {
    const clock = virtualTime();
    const retries: number[] = [];
    let calls = 0;
    const result = await withRetries(
      async () => {
        if (++calls < 3) throw writeTimeout();
        return 'ok';
      },
      policy,
      { ...clock, random: () => 0.5, classify: classifyWriteError, shouldContinue: () => true, onRetry: (_e, attempt) => retries.push(attempt) },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(retries).toEqual([1, 2]);
    expect(clock.sleeps).toEqual([50, 100]);
  });

  it('does not retry a fatal error', async () => {
    const clock = virtualTime();
    let calls = 0;
    const invalid = new errors.ResponseError(codes.invalid, 'Undefined column name tagz');
    await expect(
      withRetries(
        async () => {
          calls++;
          throw invalid;
        },
        policy,
        { ...clock, classify: classifyWriteError, shouldContinue: () => true },
      ),
    ).rejects.toBe(invalid);
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('enters the degraded phase after maxAttempts, keeps retrying, and leaves it on success', async () => {
    const clock = virtualTime();
    const degraded: boolean[] = [];
    let calls = 0;
    await withRetries(
      async () => {
        if (++calls < 7) throw new errors.NoHostAvailableError({});
      },
      policy,
      { ...clock, random: () => 1, classify: classifyWriteError, shouldContinue: () => true, onDegradedChange: (d) => degraded.push(d) },
    );
    expect(calls).toBe(7);
    expect(degraded).toEqual([true, false]);
    // Backoff never exceeds maxDelayMs, even in the degraded phase.
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(policy.maxDelayMs);
  });

  it('gives up with RetriesExhaustedError once maxRetryMs has passed since the first failure', async () => {
    const clock = virtualTime();
    const degraded: boolean[] = [];
    const heartbeats: number[] = [];
    const err = withRetries(
      async () => {
        throw writeTimeout();
      },
      policy,
      {
        ...clock,
        random: () => 1,
        classify: classifyWriteError,
        shouldContinue: () => true,
        heartbeat: async () => {
          heartbeats.push(clock.now());
        },
        onDegradedChange: (d) => degraded.push(d),
      },
    );
    await expect(err).rejects.toBeInstanceOf(RetriesExhaustedError);
    await expect(err).rejects.toMatchObject({ cause: expect.any(errors.ResponseError) });
    expect(clock.now()).toBeGreaterThanOrEqual(policy.maxRetryMs);
    expect(clock.now()).toBeLessThan(policy.maxRetryMs + policy.maxDelayMs);
    expect(degraded).toEqual([true, false]);
    // The group membership is kept alive between attempts.
    expect(heartbeats.length).toBe(clock.sleeps.length);
  });

  it('abandons (no more attempts) once the consumer stops', async () => {
    const clock = virtualTime();
    let running = true;
    let calls = 0;
    const err = withRetries(
      async () => {
        calls++;
        running = false;
        throw writeTimeout();
      },
      policy,
      { ...clock, classify: classifyWriteError, shouldContinue: () => running },
    );
    await expect(err).rejects.toBeInstanceOf(AbandonedError);
    expect(calls).toBe(1);
  });
});

describe('ConcurrencyLimiter', () => {
  it('never runs more than the limit and signals pressure while callers queue', async () => {
    const pressure: boolean[] = [];
    const limiter = new ConcurrencyLimiter(3, (p) => pressure.push(p));
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const tasks = Array.from({ length: 10 }, (_, i) =>
      limiter.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 2));
        order.push(i);
        running--;
        return i;
      }),
    );
    expect(limiter.queued).toBe(7);
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(peak).toBe(3);
    expect(limiter.inFlight).toBe(0);
    expect(pressure).toEqual([true, false]);
    // FIFO: the first queued caller gets the first free slot.
    expect(order.indexOf(3)).toBeLessThan(order.indexOf(9));
  });

  it('frees the slot when an operation throws', async () => {
    const limiter = new ConcurrencyLimiter(1);
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
    expect(limiter.inFlight).toBe(0);
  });
});

describe('PauseGate', () => {
  it('pauses on the first hold and resumes only when every reason is released', () => {
    const calls: string[] = [];
    const gate = new PauseGate();
    gate.attach({ pause: () => calls.push('pause'), resume: () => calls.push('resume') });
    gate.hold('writes_queued');
    gate.hold('store_failing');
    gate.hold('store_failing');
    gate.release('writes_queued');
    gate.release('store_failing');
    expect(gate.paused).toBe(true);
    gate.release('store_failing');
    gate.release('store_failing'); // unmatched release is ignored
    expect(calls).toEqual(['pause', 'resume']);
    expect(gate.paused).toBe(false);
  });
});
