/** Polling with a deadline, whose timeout message says what was last observed. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One observation: done with a value, or not yet, with a short description of where things stand. */
export type Poll<T> = { readonly done: true; readonly value: T } | { readonly done: false; readonly state: string };

export const done = <T>(value: T): Poll<T> => ({ done: true, value });
export const pending = (state: string): Poll<never> => ({ done: false, state });

export interface WaitOptions {
  readonly timeoutMs: number;
  /** @default 500 */
  readonly intervalMs?: number;
  /** Throws to abort the wait early, e.g. when an app the wait depends on has died. */
  readonly guard?: () => void;
}

export class WaitTimeoutError extends Error {
  constructor(readonly what: string, readonly lastState: string, timeoutMs: number) {
    super(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}; last observed: ${lastState}`);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Polls `probe` until it reports done. Probe errors (a service restarting) count as "not yet",
 * with the error as the observed state, so a wait rides through the faults the tests inject.
 */
export async function waitFor<T>(what: string, probe: () => Promise<Poll<T>>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'nothing observed yet';
  for (;;) {
    opts.guard?.();
    try {
      const poll = await probe();
      if (poll.done) return poll.value;
      last = poll.state;
    } catch (err) {
      last = `probe failed: ${(err as Error).message}`;
    }
    if (Date.now() >= deadline) throw new WaitTimeoutError(what, last, opts.timeoutMs);
    await sleep(opts.intervalMs ?? 500);
  }
}
