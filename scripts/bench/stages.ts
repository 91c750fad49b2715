/**
 * Timing a stage from the outside: poll its /metrics and measure how fast a known number of
 * records moves through it, from the first record it touched to the last one it finished.
 */
import type { PipelineCounters } from '../local/start/counters';
import type { Pipeline } from '../local/start/pipeline';
import { CpuMeter, CpuReport } from './cpu';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DrainTiming {
  /** Records finished per second between the first poll that saw the stage busy and the last record. */
  readonly perSec: number;
  readonly records: number;
  readonly seconds: number;
  /** When the last record was seen finished (epoch ms). */
  readonly doneAt: number;
  readonly counters: PipelineCounters;
  /** CPU time of the metered processes between the first busy poll and the end. */
  readonly cpu?: CpuReport;
}

export interface DrainSpec {
  readonly label: string;
  /** True once the stage has begun (e.g. consumed anything). */
  readonly started: (c: PipelineCounters) => boolean;
  /** Records finished so far. */
  readonly finished: (c: PipelineCounters) => number;
  /** Done when this holds (usually `finished(c) >= target`). */
  readonly done: (c: PipelineCounters) => boolean;
  /** Measure from this instant instead of the first busy poll (e.g. the producer's start). */
  readonly since?: () => number | undefined;
  /** No progress for this long fails the stage. @default 60000 */
  readonly stallMs?: number;
  readonly pollMs?: number;
  readonly onPoll?: (c: PipelineCounters) => void;
  /** Processes whose CPU time to meter over the measured interval, by name. */
  readonly meter?: () => Readonly<Record<string, number>>;
}

export class StageStalledError extends Error {
  constructor(label: string, c: PipelineCounters, stallMs: number) {
    super(`${label}: no progress for ${stallMs / 1000} s (counters: ${JSON.stringify({ ...c, latency: undefined })})`);
    this.name = 'StageStalledError';
  }
}

/**
 * Rate = (finished at the end - finished at the first busy poll) / (time between them). Starting
 * at the first busy poll leaves process start-up and group joins out, as a running service
 * would not pay them; the first poll's records are subtracted so nothing is counted twice.
 */
export async function timeDrain(pipeline: Pipeline, spec: DrainSpec): Promise<DrainTiming> {
  const pollMs = spec.pollMs ?? 200;
  const stallMs = spec.stallMs ?? 60_000;
  let t0: number | undefined;
  let f0 = 0;
  let meter: CpuMeter | undefined;
  let lastValue = -1;
  let lastChange = Date.now();
  for (;;) {
    const [crashed] = pipeline.crashed();
    if (crashed) throw new Error(`${spec.label}: ${crashed} exited unexpectedly; end of its log:\n${pipeline.supervisor.logTail(crashed)}`);
    const now = Date.now();
    const c = await pipeline.counters();
    spec.onPoll?.(c);
    meter?.sample();
    const finished = spec.finished(c);
    if (t0 === undefined && spec.started(c)) {
      const since = spec.since?.();
      t0 = since ?? now;
      f0 = since === undefined ? finished : 0;
      if (spec.meter) meter = new CpuMeter(spec.meter());
    }
    if (spec.done(c) && t0 !== undefined) {
      const seconds = Math.max(0.001, (now - t0) / 1000);
      return { perSec: (finished - f0) / seconds, records: finished, seconds, doneAt: now, counters: c, ...(meter ? { cpu: meter.stop() } : {}) };
    }
    if (finished !== lastValue) {
      lastValue = finished;
      lastChange = now;
    } else if (now - lastChange > stallMs) {
      throw new StageStalledError(spec.label, c, stallMs);
    }
    await sleep(pollMs);
  }
}
