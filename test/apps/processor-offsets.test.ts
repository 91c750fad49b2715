import { TelemetryReading } from '../../apps/contracts/telemetry';
import { decodeCommitMetadata, encodeCommitMetadata, PartitionProgress } from '../../apps/processor/offsets';
import { PartitionWindows, WINDOW_MS } from '../../apps/processor/windows';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const r = (ts: number, deviceId = 'dev-1'): TelemetryReading => ({ schemaVersion: 2, deviceId, ts, metric: 'temperature', value: 1 });

describe('commit metadata', () => {
  test('round-trips, including "no watermark yet"', () => {
    expect(decodeCommitMetadata(encodeCommitMetadata({ watermark: T0, sentUpTo: 42 }))).toEqual({ watermark: T0, sentUpTo: 42 });
    expect(decodeCommitMetadata(encodeCommitMetadata({ watermark: -Infinity, sentUpTo: 0 }))).toEqual({ watermark: -Infinity, sentUpTo: 0 });
  });

  test.each([null, '', 'garbage', '{"v":2,"wm":1,"sent":1}', '{"v":1,"wm":"x","sent":1}', '{"v":1,"wm":1}'])('unreadable metadata %p means no state', (raw) => {
    expect(decodeCommitMetadata(raw)).toBeUndefined();
  });
});

describe('PartitionProgress.planCommit', () => {
  test('never commits past the earliest offset of an open window; advances once windows close', () => {
    const windows = new PartitionWindows(0);
    const progress = new PartitionProgress();
    // batch 1: offsets 0..2, one window (minute 0) stays open
    windows.add(r(T0), 0);
    windows.add(r(T0 + 1_000, 'dev-2'), 1);
    windows.add(r(T0 + 2_000), 2);
    windows.closeReady();
    expect(progress.planCommit(3, windows.minOpenOffset(), windows.watermark).offset).toBe('0');

    // batch 2: offsets 3..4 move into minute 1; minute 0 closes, minute 1 (from offset 3) is open
    windows.add(r(T0 + WINDOW_MS), 3);
    windows.add(r(T0 + WINDOW_MS + 1), 4);
    expect(windows.closeReady()).toHaveLength(2);
    expect(progress.planCommit(5, windows.minOpenOffset(), windows.watermark).offset).toBe('3');

    // idle flush closes everything: commit the batch end
    windows.advanceWatermarkTo(T0 + 2 * WINDOW_MS);
    windows.closeReady();
    const last = progress.planCommit(5, windows.minOpenOffset(), windows.watermark);
    expect(last.offset).toBe('5');
    expect(decodeCommitMetadata(last.metadata)).toEqual({ watermark: T0 + 2 * WINDOW_MS, sentUpTo: 5 });
  });

  test('property: over random batches the commit never passes any open window and is monotonic', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const windows = new PartitionWindows(5_000);
    const progress = new PartitionProgress();
    const firstOffsetOfOpen = new Map<string, number>();
    let offset = 0;
    let lastCommit = 0;
    for (let batch = 0; batch < 300; batch++) {
      const size = 1 + Math.floor(rand() * 50);
      for (let i = 0; i < size; i++, offset++) {
        const deviceId = `d${Math.floor(rand() * 5)}`;
        const ts = T0 + offset * 200 - Math.floor(rand() * 4_000);
        if (windows.add(r(ts, deviceId), offset) === 'aggregated') {
          const key = `${deviceId}|${ts - (ts % WINDOW_MS)}`;
          if (!firstOffsetOfOpen.has(key)) firstOffsetOfOpen.set(key, offset);
        }
      }
      for (const c of windows.closeReady()) firstOffsetOfOpen.delete(`${c.aggregate.deviceId}|${c.aggregate.windowStart}`);
      const commit = Number(progress.planCommit(offset, windows.minOpenOffset(), windows.watermark).offset);
      for (const first of firstOffsetOfOpen.values()) expect(commit).toBeLessThanOrEqual(first);
      expect(commit).toBeGreaterThanOrEqual(lastCommit);
      lastCommit = commit;
    }
    expect(lastCommit).toBeGreaterThan(0);
  });

  test('after a restart, records below sentUpTo are known to be sent already', () => {
    const p = new PartitionProgress({ watermark: T0, sentUpTo: 100 });
    expect(p.alreadySent(99)).toBe(true);
    expect(p.alreadySent(100)).toBe(false);
    expect(new PartitionProgress().alreadySent(0)).toBe(false);
  });
});
