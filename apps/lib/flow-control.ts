/**
 * Bounded write concurrency shared by all partitions, and the pause/resume signal that turns
 * a saturated store into Kafka backpressure instead of a growing queue of writes in memory.
 */

/** A FIFO semaphore: at most `limit` operations run at once, the rest wait in order. */
export class ConcurrencyLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  /**
   * @param onPressure true when a caller has to queue for a slot (every slot busy),
   *   false once the queue has drained.
   */
  constructor(
    readonly limit: number,
    private readonly onPressure?: (underPressure: boolean) => void,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer, got ${limit}`);
  }

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.running < this.limit) {
      this.running++;
    } else {
      if (this.waiting.length === 0) this.onPressure?.(true);
      // The releasing caller hands its slot over, so `running` stays at the limit.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      return await op();
    } finally {
      const next = this.waiting.shift();
      if (next) {
        if (this.waiting.length === 0) this.onPressure?.(false);
        next();
      } else {
        this.running--;
      }
    }
  }
}

export interface PauseControls {
  pause(): void;
  resume(): void;
}

/**
 * Pauses fetching while ANY reason holds (writes queued, store failing) and resumes when none
 * does, so one reason ending cannot lift the pause another still needs.
 */
export class PauseGate {
  private readonly holds = new Map<string, number>();
  private controls?: PauseControls;

  /** The consumer's pause/resume; the runner hands them to each batch. */
  attach(controls: PauseControls): void {
    this.controls = controls;
  }

  get paused(): boolean {
    return this.holds.size > 0;
  }

  hold(reason: string): void {
    const wasPaused = this.paused;
    this.holds.set(reason, (this.holds.get(reason) ?? 0) + 1);
    if (!wasPaused) this.controls?.pause();
  }

  release(reason: string): void {
    const n = this.holds.get(reason);
    if (n === undefined) return;
    if (n > 1) this.holds.set(reason, n - 1);
    else this.holds.delete(reason);
    if (!this.paused) this.controls?.resume();
  }
}
