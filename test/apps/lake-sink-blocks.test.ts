import { lakeFileKeyOfPart, lakeObjectKey, lakePartsPrefixOf } from '../../apps/contracts/lake';
import {
  blockStart,
  FileSnapshot,
  formatLakeState,
  LakeState,
  LedgerOptions,
  parseLakeState,
  PartitionLedger,
  RestoredFile,
} from '../../apps/lake-sink/blocks';
import type { SafeOffset } from '../../apps/lib/commits';

const TOPIC = 'telemetry.clean.v1';
const HOUR = 3_600_000;
const H10 = Date.UTC(2024, 5, 1, 10);
const H11 = H10 + HOUR;

interface Rec {
  readonly offset: number;
  readonly ts: number;
  readonly bytes: number;
  /** Dead-lettered by the sink: consumed, never in a file. */
  readonly invalid?: boolean;
}

const ledger = (opts: Partial<LedgerOptions> = {}) => new PartitionLedger<number>(TOPIC, 3, { blockSize: 10, maxFileBytes: 1e9, ...opts });

function feed(l: PartitionLedger<number>, recs: readonly Rec[], nextOffset?: number) {
  for (const r of recs) if (!r.invalid) l.append(r.offset, r.ts, r.bytes, r.offset);
  const last = recs[recs.length - 1];
  l.advanceTo(nextOffset ?? last.offset + 1);
}

const range = (from: number, to: number, ts: (o: number) => number = () => H10, bytes = 10): Rec[] =>
  Array.from({ length: to - from }, (_, i) => ({ offset: from + i, ts: ts(from + i), bytes }));

const summary = (snaps: readonly FileSnapshot<number>[]) => snaps.map((s) => [s.startOffset, s.rows.length, s.final]);

function uploadAll(l: PartitionLedger<number>, includeOpen: boolean) {
  const snaps = l.pendingUploads(includeOpen);
  for (const s of snaps) l.markUploaded(s);
  return snaps;
}

describe('PartitionLedger: layout', () => {
  it('cuts files at aligned block boundaries and keys them by their first offset', () => {
    const l = ledger();
    feed(l, range(0, 25));
    const sealed = uploadAll(l, false);
    expect(summary(sealed)).toEqual([
      [0, 10, true],
      [10, 10, true],
    ]);
    expect(sealed.map((s) => s.key)).toEqual([
      'raw/telemetry/dt=2024-06-01/hour=10/telemetry.clean.v1+3+0000000000.parquet',
      'raw/telemetry/dt=2024-06-01/hour=10/telemetry.clean.v1+3+0000000010.parquet',
    ]);
    expect(sealed[1].rows).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    // Block 2 is still open: commit only up to where it can be rebuilt.
    expect(l.commitOffset()).toBe(20);
  });

  it('routes records to the file of their own event hour within a block', () => {
    const l = ledger();
    // 10:59 and 11:00 interleave, as they do at every hour boundary.
    feed(
      l,
      range(0, 10, (o) => (o % 2 === 0 ? H10 + 59 * 60_000 : H11)),
    );
    const files = uploadAll(l, false);
    expect(files.map((f) => [f.key.match(/hour=(\d\d)/)?.[1], f.startOffset, f.rows])).toEqual([
      ['10', 0, [0, 2, 4, 6, 8]],
      ['11', 1, [1, 3, 5, 7, 9]],
    ]);
  });

  it('rolls a file when its record bytes would pass maxFileBytes, keyed by the rolling record', () => {
    const l = ledger({ maxFileBytes: 35 });
    feed(l, range(0, 10));
    expect(summary(uploadAll(l, false))).toEqual([
      [0, 3, true],
      [3, 3, true],
      [6, 3, true],
      [9, 1, true],
    ]);
  });

  it('skips dead-lettered records without moving any key', () => {
    const l = ledger();
    feed(l, [...range(0, 3).map((r) => ({ ...r, invalid: true })), ...range(3, 10)]);
    expect(summary(uploadAll(l, false))).toEqual([[3, 7, true]]);
  });

  it('starts mid-block when the partition does (log start after retention): keys from the first record', () => {
    const l = ledger();
    feed(l, range(17, 23));
    expect(summary(uploadAll(l, true))).toEqual([
      [17, 3, true],
      [20, 3, false],
    ]);
  });

  it('completes a block from the consumed position even if its last offsets were never delivered', () => {
    const l = ledger();
    feed(l, range(0, 8), 10); // offsets 8 and 9 were transaction markers
    expect(summary(uploadAll(l, false))).toEqual([[0, 8, true]]);
    expect(l.commitOffset()).toBe(10);
  });

  it('an idle flush sends parts per aligned sub-block, keyed by the file and the sub-block, and re-sends only the open one', () => {
    const l = ledger({ blockSize: 20, partRecords: 5 });
    feed(l, range(0, 12));
    const first = uploadAll(l, true);
    expect(first.map((s) => [s.key.replace(/^.*\+(\d+)\+(\d+)\.parquet$/, '$1/$2'), s.rows.length, s.final])).toEqual([
      ['0000000000/0000000000', 5, false],
      ['0000000000/0000000005', 5, false],
      ['0000000000/0000000010', 2, false],
    ]);
    expect(first.every((s) => s.key.startsWith('raw/telemetry_parts/dt=2024-06-01/hour=10/') && s.fileKey === first[0].fileKey)).toBe(true);
    expect(first.map((s) => lakeFileKeyOfPart(s.key))).toEqual(first.map((s) => s.fileKey));
    feed(l, range(12, 14));
    expect(summary(uploadAll(l, true))).toEqual([[10, 4, false]]);
    expect(uploadAll(l, true)).toEqual([]);
    // The block closes: the file goes out whole, once; the rows parts showed are not counted again.
    feed(l, range(14, 20));
    const [file] = uploadAll(l, false);
    expect([file.key, file.rows.length, file.uploadedBefore, file.final]).toEqual([first[0].fileKey, 20, 14, true]);
    expect(file.partsPrefix).toBe(first[0].key.replace(/\d{10}\.parquet$/, ''));
  });

  it('parts may land in any order; one that landed ahead of a failed one is sent again', () => {
    const l = ledger({ blockSize: 20, partRecords: 5 });
    feed(l, range(0, 8));
    const [a, b] = l.pendingUploads(true);
    l.markUploaded(b);
    // `a` failed: the next flush sends both (`b` holds an open sub-block anyway).
    expect(l.pendingUploads(true).map((s) => s.startOffset)).toEqual([0, 5]);
    l.markUploaded(a);
    expect(l.pendingUploads(true)).toEqual([]);
    feed(l, range(8, 12));
    const [c, d] = l.pendingUploads(true);
    expect([c.startOffset, d.startOffset]).toEqual([5, 10]);
    l.markUploaded(d);
    l.markUploaded(c);
    expect(l.pendingUploads(true)).toEqual([]);
  });

  it('lakeFileKeyOfPart maps only part keys of the layout', () => {
    const file = 'raw/telemetry/dt=2024-06-01/hour=10/telemetry.clean.v1+3+0000000010.parquet';
    expect(lakeFileKeyOfPart('raw/telemetry_parts/dt=2024-06-01/hour=10/telemetry.clean.v1+3+0000000010+0000000015.parquet')).toBe(file);
    expect(lakeFileKeyOfPart(file)).toBeUndefined();
    expect(lakeFileKeyOfPart('elsewhere/dt=2024-06-01/hour=10/telemetry.clean.v1+3+0000000010+0000000015.parquet')).toBeUndefined();
  });

  it('blockStart is the aligned start of the block holding an offset', () => {
    expect([0, 9, 10, 27].map((o) => blockStart(o, 10))).toEqual([0, 0, 10, 20]);
  });

  it('refuses a rewind (the sink resets the ledger instead)', () => {
    const l = ledger();
    feed(l, range(0, 5));
    expect(() => l.append(3, H10, 1, 3)).toThrow(/before the next expected 5/);
  });
});

describe('PartitionLedger: commit points', () => {
  it('an idle flush puts open rows in parts, and the commit follows them with the state a resume needs', () => {
    const l = ledger({ partRecords: 5 });
    feed(l, range(0, 14));
    uploadAll(l, false);
    expect(l.commitOffset()).toBe(10); // block 0 is a file; rows 10-13 are only in memory
    expect(parseLakeState(l.commitPoint()?.metadata)).toEqual({ at: 10, files: [] });
    expect(l.hasUnflushedOpenRows).toBe(true);
    expect(summary(uploadAll(l, true))).toEqual([[10, 4, false]]);
    expect(l.hasUnflushedOpenRows).toBe(false);
    expect(l.commitOffset()).toBe(14);
    expect(parseLakeState(l.commitPoint()?.metadata)).toEqual({
      at: 14,
      files: [{ kind: 'open', hour: H10 / HOUR, start: 10, rows: 4, last: 13, bytes: 40 }],
    });
    // The block completes: the file is uploaded once, complete, and the commit moves on.
    feed(l, range(14, 20));
    const done = uploadAll(l, false);
    expect(summary(done)).toEqual([[10, 10, true]]);
    expect(done[0].key).toMatch(/\+0000000010\.parquet$/);
    expect(l.commitOffset()).toBe(20);
    expect(l.bufferedRows).toBe(0);
  });

  it('a restore from the commit state resumes the open file: the replay adds only rows at or after the commit', () => {
    const first = ledger({ partRecords: 5 });
    feed(first, range(0, 8));
    const parts = uploadAll(first, true);
    const point = first.commitPoint();
    expect(point?.offset).toBe('8');
    const state = parseLakeState(point?.metadata);
    if (!state) throw new Error('no state');
    const second = ledger({ partRecords: 5 });
    // What restore.ts reads back: the parts' rows in sub-block order, each with its part's first offset.
    second.restore(8, state, [
      { hour: H10 / HOUR, start: 0, uploaded: false, rows: parts.flatMap((p) => p.rows), offsets: parts.flatMap((p) => p.rows.map(() => p.startOffset)) },
    ]);
    expect(second.nextOffset).toBe(8);
    expect(() => second.append(7, H10, 10, 7)).toThrow(/before the next expected 8/);
    feed(second, range(8, 10));
    expect(summary(uploadAll(second, false))).toEqual([[0, 10, true]]);
    const reference = ledger({ partRecords: 5 });
    feed(reference, range(0, 10));
    expect(second.pendingUploads(true)).toEqual([]);
    const [file] = reference.pendingUploads(false);
    expect(file.rows).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a restore refuses parts that hold fewer rows than the state names', () => {
    const l = ledger({ partRecords: 5 });
    const state = { at: 8, files: [{ kind: 'open' as const, hour: H10 / HOUR, start: 0, rows: 8, last: 7, bytes: 80 }] };
    expect(() => l.restore(8, state, [{ hour: H10 / HOUR, start: 0, uploaded: false, rows: [0, 1, 2, 3, 4], offsets: [0, 0, 0, 0, 0] }])).toThrow(
      /needs 8 rows below offset 8, its parts hold 5/,
    );
  });

  it('after a restore, rows of an uploaded file are skipped on replay, and the next row of its hour starts a new file', () => {
    const l = ledger({ maxFileBytes: 35 });
    l.restore(5, { at: 5, files: [{ kind: 'uploaded', hour: H10 / HOUR, start: 3, last: 5 }] }, [{ hour: H10 / HOUR, start: 3, uploaded: true, last: 5 }]);
    feed(l, range(5, 10));
    expect(summary(uploadAll(l, false))).toEqual([
      [6, 3, true],
      [9, 1, true],
    ]);
  });

  it('commit metadata round-trips, and anything else is not a state', () => {
    const state = {
      at: 120,
      files: [
        { kind: 'open' as const, hour: 480_000, start: 100, rows: 7, last: 119, bytes: 700 },
        { kind: 'sealed' as const, hour: 479_999, start: 90, rows: 3, last: 95 },
        { kind: 'uploaded' as const, hour: 480_001, start: 101, last: 130 },
      ],
    };
    expect(parseLakeState(formatLakeState(state))).toEqual(state);
    for (const bad of [undefined, '', 'watermark=5', 'lake1', 'lake1;x', 'lake1;10;o:1:2:3', 'lake1;10;o:1:12:1:12:5', 'lake1;10;q:1:2:3']) {
      expect(parseLakeState(bad)).toBeUndefined();
    }
  });

  it('a rebuild below an acknowledged point sends only complete sub-blocks and commits nothing until past it', () => {
    const l = ledger({ partRecords: 5, replayUntil: 8 });
    feed(l, range(0, 7));
    expect(summary(uploadAll(l, true))).toEqual([[0, 5, false]]);
    expect(l.commitPoint()).toBeUndefined();
    feed(l, range(7, 9));
    expect(summary(uploadAll(l, true))).toEqual([[5, 4, false]]);
    expect(l.commitOffset()).toBe(9);
  });

  it('holds the commit at the block start until every file of the block is uploaded', () => {
    const l = ledger();
    feed(
      l,
      range(0, 12, (o) => (o < 5 ? H10 : H11)),
    );
    const [first, second] = l.pendingUploads(false);
    expect(l.commitOffset()).toBe(0);
    l.markUploaded(second);
    expect(l.commitOffset()).toBe(0);
    l.markUploaded(first);
    expect(l.commitOffset()).toBe(10);
  });

  it('commits up to the first row not yet in S3, past rolled files already uploaded', () => {
    const l = ledger({ maxFileBytes: 35 });
    feed(l, range(0, 7));
    uploadAll(l, false); // files 0 and 3 rolled over and are final; file 6 is open, in memory only
    expect(l.commitOffset()).toBe(6);
    expect(parseLakeState(l.commitPoint()?.metadata)?.files).toEqual([]);
    uploadAll(l, true);
    expect(parseLakeState(l.commitPoint()?.metadata)).toEqual({ at: 7, files: [{ kind: 'open', hour: H10 / HOUR, start: 6, rows: 1, last: 6, bytes: 10 }] });
  });

  it('commits the consumed position when the current block has no file yet', () => {
    const l = ledger();
    feed(
      l,
      range(0, 13).map((r) => ({ ...r, invalid: r.offset >= 10 })),
    );
    uploadAll(l, false);
    expect(l.commitOffset()).toBe(13);
  });
});

/** Seeded PRNG (mulberry32) so a failing property prints a reproducible seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A partition's log: offset gaps, out-of-order and interleaved event hours, varied sizes, some invalid records. */
function randomLog(rand: () => number, length: number, startOffset: number): Rec[] {
  const recs: Rec[] = [];
  let offset = startOffset;
  let ts = H10 + Math.floor(rand() * HOUR);
  for (let i = 0; i < length; i++) {
    offset += rand() < 0.1 ? 1 + Math.floor(rand() * 3) : 0;
    ts += Math.floor(rand() * 120_000);
    const late = rand() < 0.15 ? Math.floor(rand() * 2 * HOUR) : 0;
    recs.push({ offset, ts: ts - late, bytes: 20 + Math.floor(rand() * 80), invalid: rand() < 0.05 });
    offset++;
  }
  return recs;
}

/** The bucket: every object, parts and files alike. */
type Lake = Map<string, number[]>;

/**
 * What the sink does with a snapshot, one S3 request per step: put the object; for a file,
 * then list and delete its parts one by one (DeleteObjects is not atomic across keys either).
 */
function steps(lake: Lake, snaps: readonly FileSnapshot<number>[]): (() => void)[] {
  return snaps.flatMap((s) => [
    () => void lake.set(s.key, [...s.rows]),
    ...(s.final ? [() => [...lake.keys()].filter((k) => k.startsWith(s.partsPrefix)).forEach((k) => lake.delete(k))] : []),
  ]);
}

function put(lake: Lake, snaps: readonly FileSnapshot<number>[]) {
  for (const step of steps(lake, snaps)) step();
}

/** The reader rule (docs/lake.md): every file, and a part only while its file does not exist. */
function view(lake: Lake): Lake {
  return new Map(
    [...lake]
      .filter(([key]) => {
        if (!key.includes('_parts/')) return true;
        const file = lakeFileKeyOfPart(key);
        if (file === undefined) throw new Error(`${key} is not a part key`);
        return !lake.has(file);
      })
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

/** One uninterrupted run over the whole log, flushed at the end: the view every run must reproduce. */
function reference(log: readonly Rec[], opts: LedgerOptions): Lake {
  const lake: Lake = new Map();
  const l = new PartitionLedger<number>(TOPIC, 3, opts);
  feed(l, log);
  put(lake, l.pendingUploads(true));
  return view(lake);
}

/**
 * How a crashed run resumes: `restore` like the sink: from the committed offset, with the state
 * its metadata names read back from the bucket (`readBack`); or `seek`: as a commit without
 * usable state, or an operator resetting the offsets to any earlier point, is handled: at the
 * start of the block holding that offset, with nothing restored.
 */
type ResumeMode = 'restore' | 'seek';

/**
 * What apps/lake-sink/restore.ts does, against the model bucket: a HEAD of each named file (its
 * last offset is its object metadata, here its last row), else its parts in sub-block order, each
 * row standing in with its part's first offset as the real code does.
 */
function readBack(lake: Lake, state: LakeState): RestoredFile<number>[] {
  return state.files.map((entry) => {
    if (entry.kind === 'uploaded') return { hour: entry.hour, start: entry.start, uploaded: true, last: entry.last };
    const fileKey = lakeObjectKey(entry.hour * HOUR, TOPIC, 3, String(entry.start));
    const file = lake.get(fileKey);
    if (file) return { hour: entry.hour, start: entry.start, uploaded: true, last: file[file.length - 1] };
    const prefix = lakePartsPrefixOf(entry.hour * HOUR, TOPIC, 3, String(entry.start));
    const parts = [...lake.keys()].filter((k) => k.startsWith(prefix) && Number(k.slice(prefix.length, -'.parquet'.length)) <= entry.last).sort();
    const rows: number[] = [];
    const offsets: number[] = [];
    for (const k of parts) {
      const part = lake.get(k) ?? [];
      rows.push(...part);
      offsets.push(...part.map(() => part[0]));
    }
    return { hour: entry.hour, start: entry.start, uploaded: false, rows, offsets };
  });
}

/**
 * Random batch splits, random idle flushes, and random crashes (kill -9) that lose all memory,
 * possibly between any two S3 requests of an upload (after parts, after a file's put before its
 * parts are deleted, in the middle of the deletion), and resume per `mode`. After every step the
 * reader's view holds each valid record at most once, every record below the highest offset
 * ever committed (acknowledged) exactly once, and every record it held at the previous step (the
 * view never shrinks, across restores, rebuilds and operator resets alike). Commits carry the
 * ledger's state as metadata; a restarted run learns the log end (`holdPartsBelow`).
 */
function chaoticRun(log: readonly Rec[], opts: LedgerOptions, rand: () => number, mode: ResumeMode) {
  const lake: Lake = new Map();
  const valid = log.filter((r) => !r.invalid).map((r) => r.offset);
  let acknowledged = -1;
  let visible = new Set<number>();
  const check = () => {
    const seen = [...view(lake).values()].flat();
    const distinct = new Set(seen);
    if (distinct.size !== seen.length) throw new Error(`a reader sees a record twice: ${seen.sort((a, b) => a - b).join(',')}`);
    const missing = valid.filter((o) => o < acknowledged && !distinct.has(o));
    if (missing.length > 0) throw new Error(`a reader misses acknowledged records ${missing.join(',')} (committed ${acknowledged})`);
    const vanished = [...visible].filter((o) => !distinct.has(o));
    if (vanished.length > 0) throw new Error(`records a reader saw are gone from its view: ${vanished.join(',')}`);
    visible = distinct;
  };
  let committed: SafeOffset | undefined;
  let runCommitted: number | undefined;
  let l = new PartitionLedger<number>(TOPIC, 3, opts);
  let i = 0;
  let crashes = 0;
  let restores = 0;
  let reached = 0;
  while (i < log.length) {
    const size = 1 + Math.floor(rand() * (rand() < 0.2 ? 60 : 8));
    const batch = log.slice(i, i + size);
    i += batch.length;
    feed(l, batch);
    // Uploads what is due (and, sometimes, an idle flush); a crash stops it after any request.
    const upload = (includeOpen: boolean): boolean => {
      const snaps = l.pendingUploads(includeOpen);
      const requests = steps(lake, snaps);
      if (rand() < 0.04) {
        requests.slice(0, Math.floor(rand() * (requests.length + 1))).forEach((step) => step());
        return true;
      }
      requests.forEach((step) => step());
      // Concurrent uploads complete in any order.
      (rand() < 0.5 ? snaps : [...snaps].reverse()).forEach((snap) => l.markUploaded(snap));
      return false;
    };
    let crashed = upload(false);
    check();
    if (!crashed && rand() < 0.3) crashed = upload(true);
    check();
    if (!crashed) {
      const point = l.commitPoint();
      if (point !== undefined) {
        const offset = Number(point.offset);
        // Within one run commits only move forward (after a seek back they may restart lower).
        if (runCommitted !== undefined && offset < runCommitted) throw new Error(`commit went backwards: ${runCommitted} -> ${offset}`);
        if (offset > (l.nextOffset ?? 0)) throw new Error(`commit ${offset} is past the consumed position ${l.nextOffset}`);
        committed = point;
        runCommitted = offset;
        acknowledged = Math.max(acknowledged, offset);
      }
    }
    if (crashed || rand() < 0.04) {
      // Crash: memory gone; the last commit is where the next run starts.
      crashes++;
      l = new PartitionLedger<number>(TOPIC, 3, opts);
      runCommitted = undefined;
      // The sink's first batch after the restart tells the log end: at least what any run read.
      reached = Math.max(reached, (log[i - 1]?.offset ?? 0) + 1);
      const logEnd = log[log.length - 1].offset + 1;
      const hold = rand() < 0.5 ? reached : logEnd;
      const from = committed === undefined ? log[0].offset : Number(committed.offset);
      const state = parseLakeState(committed?.metadata);
      let resumeAt: number;
      if (mode === 'restore' && state !== undefined) {
        l.restore(from, state, readBack(lake, state));
        l.holdPartsBelow(hold);
        restores++;
        resumeAt = from;
      } else {
        const reset = mode === 'seek' && rand() < 0.3 ? Math.floor(rand() * (from + 1)) : from;
        resumeAt = blockStart(reset, opts.blockSize);
        // Parts may hold acknowledged rows below the commit: rebuild without shrinking any.
        if (committed !== undefined) l = new PartitionLedger<number>(TOPIC, 3, { ...opts, replayUntil: reset });
        l.holdPartsBelow(hold);
        committed = { offset: String(reset) }; // what the operator set (or the last commit, without its state)
      }
      i = log.findIndex((r) => r.offset >= resumeAt);
      if (i < 0) i = log.length;
    }
  }
  put(lake, l.pendingUploads(true));
  check();
  return { lake: view(lake), crashes, restores };
}

describe('PartitionLedger: determinism (property)', () => {
  const layouts = [
    ['small blocks', { blockSize: 16, maxFileBytes: 1e9, partRecords: 4 }],
    ['byte caps roll files inside blocks', { blockSize: 40, maxFileBytes: 400, partRecords: 7 }],
    ['blocks larger than the log', { blockSize: 10_000, maxFileBytes: 1e9, partRecords: 25 }],
    ['one part per open file', { blockSize: 16, maxFileBytes: 1e9 }],
  ] as const;
  const modes: ResumeMode[] = ['restore', 'seek'];

  it.each(modes.flatMap((mode) => layouts.map(([name, opts]) => [mode, name, opts] as const)))(
    'resume at %s, %s: keys and contents survive any batch split, idle flush, crash and replay',
    (mode, _name, opts) => {
      let totalCrashes = 0;
      let totalRestores = 0;
      for (let seed = 1; seed <= 150; seed++) {
        const rand = rng(seed);
        const log = randomLog(rand, 50 + Math.floor(rand() * 300), rand() < 0.5 ? 0 : Math.floor(rand() * 100));
        const expected = reference(log, opts);
        const { lake, crashes, restores } = chaoticRun(log, opts, rand, mode);
        totalCrashes += crashes;
        totalRestores += restores;

        try {
          expect(lake).toEqual(expected);
          // Every valid record is in exactly one object a reader counts; nothing else is.
          const all = [...lake.values()].flat().sort((a, b) => a - b);
          expect(all).toEqual(log.filter((r) => !r.invalid).map((r) => r.offset));
        } catch (err) {
          throw new Error(`seed ${seed}: ${(err as Error).message}`);
        }
      }
      expect(totalCrashes).toBeGreaterThan(20);
      if (mode === 'restore') expect(totalRestores).toBeGreaterThan(20);
    },
  );

  it('file and part contents respect the block, sub-block and byte bounds', () => {
    const opts = { blockSize: 40, maxFileBytes: 400, partRecords: 8 };
    for (let seed = 1; seed <= 50; seed++) {
      const rand = rng(seed);
      const log = randomLog(rand, 300, 0);
      const bytesOf = new Map(log.map((r) => [r.offset, r.bytes]));
      const hourOf = new Map(log.map((r) => [r.offset, Math.floor(r.ts / HOUR)]));
      for (const [key, offsets] of reference(log, opts)) {
        const [, fileStart, partStart] = key.match(/\+(\d{10})(?:\+(\d{10}))?\.parquet$/) ?? [];
        if (partStart === undefined) expect(offsets[0]).toBe(Number(fileStart));
        else {
          expect(offsets[0]).toBeGreaterThanOrEqual(Number(fileStart));
          expect(new Set(offsets.map((o) => Math.floor(o / opts.partRecords) * opts.partRecords))).toEqual(new Set([Number(partStart)]));
        }
        expect(new Set(offsets.map((o) => Math.floor(o / opts.blockSize))).size).toBe(1);
        expect(new Set(offsets.map((o) => hourOf.get(o))).size).toBe(1);
        const bytes = offsets.reduce((n, o) => n + (bytesOf.get(o) ?? 0), 0);
        expect(bytes <= opts.maxFileBytes || offsets.length === 1).toBe(true);
      }
    }
  });
});
