import { telemetryAggregateSchema, TelemetryReading } from '../../apps/contracts/telemetry';
import { PartitionWindows, WINDOW_MS, windowStartOf } from '../../apps/processor/windows';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0); // a minute boundary
const r = (ts: number, value: number, deviceId = 'dev-1', metric = 'temperature'): TelemetryReading => ({ schemaVersion: 2, deviceId, ts, metric, value });

/** Deterministic PRNG so the reference comparison is reproducible. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('PartitionWindows', () => {
  test('tumbling boundaries: start inclusive, end exclusive', () => {
    expect(windowStartOf(T0)).toBe(T0);
    expect(windowStartOf(T0 + WINDOW_MS - 1)).toBe(T0);
    expect(windowStartOf(T0 + WINDOW_MS)).toBe(T0 + WINDOW_MS);

    const w = new PartitionWindows(0);
    w.add(r(T0, 1), 0);
    w.add(r(T0 + WINDOW_MS - 1, 2), 1);
    w.add(r(T0 + WINDOW_MS, 3), 2); // next window; watermark = its ts = end of the first
    const closed = w.closeReady();
    expect(closed.map((c) => [c.aggregate.windowStart, c.aggregate.windowEnd, c.aggregate.count])).toEqual([[T0, T0 + WINDOW_MS, 2]]);
    expect(w.openCount).toBe(1);
  });

  test('a window is emitted only once the watermark (max ts - lateness) reaches its end', () => {
    const w = new PartitionWindows(10_000);
    w.add(r(T0 + 5_000, 1), 0);
    w.add(r(T0 + WINDOW_MS + 9_999, 2), 1); // watermark = end - 1
    expect(w.closeReady()).toEqual([]);
    w.add(r(T0 + WINDOW_MS + 10_000, 3), 2); // watermark = end
    expect(w.closeReady().map((c) => c.aggregate.windowStart)).toEqual([T0]);
  });

  test('out-of-order events within the lateness are aggregated; later ones are late and not aggregated', () => {
    const w = new PartitionWindows(10_000);
    w.add(r(T0 + 30_000, 5), 0);
    w.add(r(T0 + WINDOW_MS + 5_000, 1), 1); // watermark T0+55s: first window still open
    expect(w.add(r(T0 + 10_000, 7), 2)).toBe('aggregated'); // out of order, in time
    w.add(r(T0 + WINDOW_MS + 20_000, 1), 3); // watermark T0+70s: first window closes
    const [first] = w.closeReady();
    expect(first.aggregate).toMatchObject({ count: 2, min: 5, max: 7, sum: 12, avg: 6, last: 5, lastTs: T0 + 30_000 });
    expect(w.add(r(T0 + 59_000, 100), 4)).toBe('late');
    expect(w.closeReady()).toEqual([]); // the late event did not reopen the window
  });

  test('idle flush: advancing the watermark to the wall clock emits the last windows', () => {
    const w = new PartitionWindows(10_000);
    w.add(r(T0 + 1_000, 1), 0);
    w.add(r(T0 + 2_000, 2, 'dev-2'), 1);
    expect(w.closeReady()).toEqual([]);
    w.advanceWatermarkTo(T0 + WINDOW_MS);
    expect(w.closeReady().map((c) => c.aggregate.deviceId)).toEqual(['dev-1', 'dev-2']);
    expect(w.openCount).toBe(0);
    // and event time cannot move it back
    w.add(r(T0 + WINDOW_MS + 1, 1), 2);
    expect(w.watermark).toBe(T0 + WINDOW_MS);
  });

  test('a restored watermark treats replayed records of emitted windows as late', () => {
    const w = new PartitionWindows(10_000, T0 + WINDOW_MS);
    expect(w.add(r(T0 + 1_000, 1), 0)).toBe('late');
    expect(w.add(r(T0 + WINDOW_MS + 1_000, 1), 1)).toBe('aggregated');
  });

  test('minOpenOffset is the earliest offset still needed and advances as windows close', () => {
    const w = new PartitionWindows(0);
    expect(w.minOpenOffset()).toBeUndefined();
    w.add(r(T0 + 1_000, 1, 'a'), 10);
    w.add(r(T0 + 2_000, 1, 'b'), 11);
    w.add(r(T0 + WINDOW_MS - 1, 1, 'a'), 12);
    expect(w.minOpenOffset()).toBe(10);
    w.add(r(T0 + WINDOW_MS + 1, 1, 'c'), 13);
    w.closeReady();
    expect(w.minOpenOffset()).toBe(13);
  });

  test('aggregates match a reference fold over random out-of-order data', () => {
    const rand = mulberry32(42);
    const lateness = 10_000;
    const w = new PartitionWindows(lateness);
    const accepted: TelemetryReading[] = [];
    const emitted = [];
    let maxTs = -Infinity;
    for (let i = 0; i < 20_000; i++) {
      const deviceId = `dev-${Math.floor(rand() * 20)}`;
      const metric = rand() < 0.5 ? 'temperature' : 'humidity';
      // Mostly in order; 20% jitter up to 30 s back, some of it beyond the lateness.
      const ts = T0 + i * 50 - Math.floor(rand() < 0.2 ? rand() * 30_000 : 0);
      const reading = r(ts, Math.round(rand() * 1000) / 10, deviceId, metric);
      const late = windowStartOf(ts) + WINDOW_MS <= maxTs - lateness;
      expect(w.add(reading, i)).toBe(late ? 'late' : 'aggregated');
      if (!late) accepted.push(reading);
      maxTs = Math.max(maxTs, ts);
      emitted.push(...w.closeReady());
    }
    w.advanceWatermarkTo(Number.MAX_SAFE_INTEGER);
    emitted.push(...w.closeReady());

    const reference = new Map<string, { count: number; min: number; max: number; sum: number; last: number; lastTs: number }>();
    for (const a of accepted) {
      const key = `${a.deviceId}|${a.metric}|${windowStartOf(a.ts)}`;
      const acc = reference.get(key);
      if (!acc) reference.set(key, { count: 1, min: a.value, max: a.value, sum: a.value, last: a.value, lastTs: a.ts });
      else {
        acc.count++;
        acc.min = Math.min(acc.min, a.value);
        acc.max = Math.max(acc.max, a.value);
        acc.sum += a.value;
        if (a.ts >= acc.lastTs) [acc.last, acc.lastTs] = [a.value, a.ts];
      }
    }
    expect(emitted.length).toBe(reference.size);
    expect(accepted.length).toBeLessThan(20_000); // the data did contain late events
    const keys = new Set<string>();
    for (const { aggregate: a } of emitted) {
      const key = `${a.deviceId}|${a.metric}|${a.windowStart}`;
      expect(keys.has(key)).toBe(false); // each window emitted exactly once
      keys.add(key);
      const ref = reference.get(key)!;
      expect(a).toMatchObject({ count: ref.count, min: ref.min, max: ref.max, last: ref.last, lastTs: ref.lastTs, windowEnd: a.windowStart + WINDOW_MS });
      expect(a.sum).toBeCloseTo(ref.sum, 6);
      expect(a.avg).toBeCloseTo(ref.sum / ref.count, 6);
      expect(telemetryAggregateSchema.safeParse(a).success).toBe(true);
    }
  });
});
