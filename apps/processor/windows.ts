/**
 * 1-minute tumbling windows on EVENT time, per (deviceId, metric), for one Kafka partition.
 *
 * Watermark: the largest event time seen minus the allowed lateness, where each reading counts
 * only up to the processor's clock when it was processed (`add`'s ceiling): a device whose clock
 * runs ahead, even within PROCESSOR_MAX_CLOCK_SKEW_MS, cannot push the watermark past the present
 * and make every other device on the partition late (docs/input-safety.md). A window [start, end)
 * is emitted once the watermark reaches its end. An event whose window the watermark has
 * already passed is LATE: it is counted (sdp_late_events_total) and not aggregated, because
 * its aggregate was already published; out-of-order events inside the lateness bound are
 * aggregated normally. Event time drives everything except `advanceWatermarkTo`, which the
 * processor calls with the wall clock minus the allowed lateness when a partition has been idle, so the last windows of
 * a run get emitted: the ONLY wall-clock influence on the results.
 *
 * Each window remembers the smallest Kafka offset that contributed to it; the processor
 * never commits past the smallest of those (see offsets.ts), so a crash loses no window.
 */
import { TELEMETRY_SCHEMA_VERSION, TelemetryAggregate, TelemetryReading } from '../contracts/telemetry';

export const WINDOW_MS = 60_000;

/** An open window plus the earliest offset it depends on. */
interface Accumulator {
  readonly deviceId: string;
  readonly metric: string;
  readonly windowStart: number;
  readonly firstOffset: number;
  count: number;
  min: number;
  max: number;
  sum: number;
  last: number;
  lastTs: number;
}

export interface ClosedWindow {
  readonly aggregate: TelemetryAggregate;
  /** Smallest source offset in the window, for dead-lettering an aggregate that fails its schema. */
  readonly firstOffset: number;
}

export type AddOutcome = 'aggregated' | 'late';

export function windowStartOf(ts: number): number {
  return ts - (((ts % WINDOW_MS) + WINDOW_MS) % WINDOW_MS);
}

export class PartitionWindows {
  /**
   * Insertion-ordered: records arrive in offset order, so the first entry always holds the
   * smallest `firstOffset` of all open windows (deletes keep the order of the rest).
   */
  private readonly open = new Map<string, Accumulator>();
  private maxEventTs = -Infinity;
  private floor: number;
  /** Earliest end among open windows; lets `closeReady` skip the scan until a boundary passes. */
  private earliestEnd = Infinity;

  /**
   * @param allowedLatenessMs how far behind the newest event time a reading may arrive
   * @param restoredWatermark watermark recorded with the last commit (replay resumes from it)
   */
  constructor(
    private readonly allowedLatenessMs: number,
    restoredWatermark = -Infinity,
  ) {
    this.floor = restoredWatermark;
  }

  /** Event-time progress: windows ending at or before it are complete. */
  get watermark(): number {
    return Math.max(this.floor, this.maxEventTs - this.allowedLatenessMs);
  }

  get openCount(): number {
    return this.open.size;
  }

  /** Smallest offset still needed by an open window, or undefined when none is open. */
  minOpenOffset(): number | undefined {
    for (const acc of this.open.values()) return acc.firstOffset;
    return undefined;
  }

  /**
   * @param eventTimeCeiling the most `r` may move event-time progress to: the processor's clock
   *   for a new record, -Infinity for a replayed one (the restored watermark already covers it,
   *   and the clock has moved on since, so counting it again could close windows earlier than the
   *   first run did and turn records it aggregated into late ones).
   */
  add(r: TelemetryReading, offset: number, eventTimeCeiling = Infinity): AddOutcome {
    const windowStart = windowStartOf(r.ts);
    if (windowStart + WINDOW_MS <= this.watermark) return 'late';
    const progress = Math.min(r.ts, eventTimeCeiling);
    if (progress > this.maxEventTs) this.maxEventTs = progress;

    const key = `${r.deviceId}\u0000${r.metric}\u0000${windowStart}`;
    const acc = this.open.get(key);
    if (acc === undefined) {
      this.open.set(key, {
        deviceId: r.deviceId,
        metric: r.metric,
        windowStart,
        firstOffset: offset,
        count: 1,
        min: r.value,
        max: r.value,
        sum: r.value,
        last: r.value,
        lastTs: r.ts,
      });
      if (windowStart + WINDOW_MS < this.earliestEnd) this.earliestEnd = windowStart + WINDOW_MS;
      return 'aggregated';
    }
    acc.count += 1;
    if (r.value < acc.min) acc.min = r.value;
    if (r.value > acc.max) acc.max = r.value;
    acc.sum += r.value;
    // Ties keep the later arrival; the producer keeps ts unique per device and metric anyway.
    if (r.ts >= acc.lastTs) {
      acc.last = r.value;
      acc.lastTs = r.ts;
    }
    return 'aggregated';
  }

  /** Idle flush: move the watermark to `ts` (wall clock minus lateness) if that is ahead of event time. */
  advanceWatermarkTo(ts: number): void {
    if (ts > this.floor) this.floor = ts;
  }

  /** Removes and returns every window the watermark has passed, oldest first. */
  closeReady(): ClosedWindow[] {
    const wm = this.watermark;
    if (this.earliestEnd > wm) return [];
    const closed: ClosedWindow[] = [];
    let earliestEnd = Infinity;
    for (const [key, acc] of this.open) {
      const windowEnd = acc.windowStart + WINDOW_MS;
      if (windowEnd <= wm) {
        this.open.delete(key);
        closed.push({ aggregate: toAggregate(acc), firstOffset: acc.firstOffset });
      } else if (windowEnd < earliestEnd) {
        earliestEnd = windowEnd;
      }
    }
    this.earliestEnd = earliestEnd;
    return closed.sort(
      (a, b) =>
        a.aggregate.windowStart - b.aggregate.windowStart ||
        compare(a.aggregate.deviceId, b.aggregate.deviceId) ||
        compare(a.aggregate.metric, b.aggregate.metric),
    );
  }
}

function toAggregate(acc: Accumulator): TelemetryAggregate {
  return {
    schemaVersion: TELEMETRY_SCHEMA_VERSION,
    deviceId: acc.deviceId,
    metric: acc.metric,
    windowStart: acc.windowStart,
    windowEnd: acc.windowStart + WINDOW_MS,
    count: acc.count,
    min: acc.min,
    max: acc.max,
    avg: acc.sum / acc.count,
    sum: acc.sum,
    last: acc.last,
    lastTs: acc.lastTs,
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
