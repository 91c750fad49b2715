import type { Logger } from 'pino';
import type { BatchContext, IdleContext } from '../../apps/lib/consumer';
import type { AppMetrics } from '../../apps/lib/metrics';

/**
 * The consumer runner's per-batch context as a handler sees it on a healthy, running member:
 * stands in for the runner (no group, no heartbeats, no backpressure); `over` changes one part.
 */
export function runningBatchContext(logger: Logger, metrics: AppMetrics, over: Partial<BatchContext> = {}): BatchContext {
  return {
    logger,
    metrics,
    generation: 1,
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
    pause: () => undefined,
    resume: () => undefined,
    ...over,
  };
}

/** The runner's idle-flush context on a healthy member that keeps fetching; `over` changes one part. */
export function runningIdleContext(logger: Logger, metrics: AppMetrics, over: Partial<IdleContext> = {}): IdleContext {
  return {
    logger,
    metrics,
    generation: 1,
    isRunning: () => true,
    markSafe: () => undefined,
    restart: () => undefined,
    fetchedWithin: () => true,
    ...over,
  };
}
