/**
 * Deterministic lake files for one Kafka partition: which records go into which object, and
 * which offset is safe to commit. Pure (no I/O, no clock) so its one promise can be tested:
 * the object keys and their contents depend only on the records, never on batch boundaries,
 * flush timing, crashes or replays, so a replay overwrites objects instead of duplicating rows.
 *
 * Layout rules, all functions of the record sequence alone:
 * - Offsets are cut into aligned blocks of `blockSize`: block b covers [b*N, (b+1)*N).
 * - Within a block, each record goes to the open file of ITS event hour; the first record of an
 *   hour in the block starts that hour's file, keyed by its own offset. (One file per hour
 *   rather than "a new file whenever the hour changes": records of 10:59 and 11:00 interleave
 *   at every hour boundary and would otherwise make hundreds of tiny files.)
 * - A file also rolls when adding a record would take its record bytes past `maxFileBytes`:
 *   the record starts a new file of the same hour, keyed by its offset.
 * - A file is sealed (final) when its block is fully consumed or it rolled over.
 *
 * Freshness (an idle flush) never writes a file's own key: while a file is open its rows go to
 * immutable-once-closed part objects, one per aligned sub-block of `partRecords` offsets
 * (`lakePartKey`), so a flush re-encodes at most the sub-blocks that got rows since the last one.
 * The file's key is written once, complete, when it seals; its parts are deleted after that.
 * Readers count a part only while its file's key is absent (docs/lake.md).
 *
 * Commit rule: the committed offset is always a point a restart can resume from without losing
 * or re-keying a row. It is the offset `at` below which every consumed row is durable (in its
 * file, or in a part, which is only ever rewritten with more rows at its end), and the commit's metadata
 * (`formatLakeState`) names the files that point needs: the open file of each event hour with
 * its rows and record bytes below `at`, sealed files not yet uploaded, and uploaded files that
 * also hold rows at or after `at`. A restart reads those back (`restore`: the open files' parts,
 * a HEAD of each file) and replays only what was not yet in S3. Where that state does not fit
 * the commit metadata, the last commit stands until it does. A commit without usable state (an
 * older version's, an operator's reset to any point, a failed read back) is sought back to
 * `blockStart` of it and its block rebuilt (with `replayUntil`), which reproduces the same objects.
 */
import { lakeObjectKey, lakePartKey, lakePartsPrefixOf } from '../contracts/lake';
import type { SafeOffset } from '../lib/commits';

const HOUR_MS = 3_600_000;

/** First offset of the aligned block holding `offset`: where a resumed partition must restart. */
export function blockStart(offset: number, blockSize: number): number {
  return Math.floor(offset / blockSize) * blockSize;
}

/**
 * One file a resume at `LakeState.at` needs, by kind:
 * - `open`: the open file of its event hour at `at`; `rows`, `bytes` and `last` are its rows,
 *   their record bytes and its last offset below `at`. Those rows are the first `rows` of its
 *   parts in sub-block order (a part is rewritten only with more rows at its end).
 * - `sealed`: sealed but not yet uploaded; all its `rows` (up to `last`) are below `at`, in its parts.
 * - `uploaded`: its file exists and holds rows up to `last`, at or after `at`: a replay skips
 *   them, and the next row of its hour starts a new file, as it did the first time.
 * Any `open` or `sealed` file may have been uploaded since the commit: a restore asks S3 first.
 */
export type StateFile =
  | { readonly kind: 'open'; readonly hour: number; readonly start: number; readonly rows: number; readonly bytes: number; readonly last: number }
  | { readonly kind: 'sealed'; readonly hour: number; readonly start: number; readonly rows: number; readonly last: number }
  | { readonly kind: 'uploaded'; readonly hour: number; readonly start: number; readonly last: number };

/** What a resume from a commit needs besides the offset: the files open at `at` (see `StateFile`). */
export interface LakeState {
  /** The aligned sub-block start the state describes; the committed offset is `at` or past it (transaction markers only). */
  readonly at: number;
  readonly files: readonly StateFile[];
}

/** Kafka's default `offset.metadata.max.bytes` is 4,096; stay well under it. */
export const MAX_STATE_CHARS = 2_048;
const STATE_VERSION = 'lake1';
const KIND_CODES = { open: 'o', sealed: 's', uploaded: 'u' } as const;

/** Commit metadata for a state: `lake1;<at>;o:<hour>:<start>:<rows>:<last>:<bytes>;s:<hour>:<start>:<rows>:<last>;u:<hour>:<start>:<last>`. */
export function formatLakeState(state: LakeState): string {
  const files = state.files.map((f) => {
    const head = `${KIND_CODES[f.kind]}:${f.hour}:${f.start}`;
    if (f.kind === 'open') return `${head}:${f.rows}:${f.last}:${f.bytes}`;
    return f.kind === 'sealed' ? `${head}:${f.rows}:${f.last}` : `${head}:${f.last}`;
  });
  return [STATE_VERSION, String(state.at), ...files].join(';');
}

/** The state in a commit's metadata; undefined when there is none or it is not one this version wrote. */
export function parseLakeState(metadata: string | undefined): LakeState | undefined {
  if (!metadata?.startsWith(`${STATE_VERSION};`)) return undefined;
  const [, atText, ...entries] = metadata.split(';');
  const nat = (t: string | undefined) => (t !== undefined && /^\d+$/.test(t) ? Number(t) : NaN);
  const at = nat(atText);
  if (!Number.isSafeInteger(at)) return undefined;
  const files: StateFile[] = [];
  for (const e of entries) {
    const [code, ...nums] = e.split(':');
    const values = nums.map(nat);
    if (!values.every(Number.isSafeInteger)) return undefined;
    const [hour, start, a, b, c] = values;
    if (start >= at) return undefined;
    if (code === 'o' && values.length === 5 && a > 0 && start <= b && b < at) files.push({ kind: 'open', hour, start, rows: a, last: b, bytes: c });
    else if (code === 's' && values.length === 4 && a > 0 && start <= b && b < at) files.push({ kind: 'sealed', hour, start, rows: a, last: b });
    else if (code === 'u' && values.length === 3 && a >= at) files.push({ kind: 'uploaded', hour, start, last: a });
    else return undefined;
  }
  return { at, files };
}

/**
 * A `StateFile` as read back from S3: uploaded (its object exists; `last` from the object's
 * metadata), or not, with the rows of its parts in sub-block order (at least the entry's rows).
 * `offsets` may stand in for a row's exact offset with the first offset of its part: restored
 * rows are never committed again and only re-sent inside their own part, so a row's sub-block
 * matters, and a part's first offset (its footer's) is exact.
 */
export type RestoredFile<R> =
  | { readonly hour: number; readonly start: number; readonly uploaded: true; readonly last: number }
  | { readonly hour: number; readonly start: number; readonly uploaded: false; readonly rows: readonly R[]; readonly offsets: readonly number[] };

export interface LedgerOptions {
  /** Offsets per aligned block (LAKE_SINK_MAX_RECORDS). */
  readonly blockSize: number;
  /** Record bytes per file before it rolls (LAKE_SINK_MAX_FILE_BYTES). */
  readonly maxFileBytes: number;
  /**
   * Offsets per aligned sub-block of an open file's parts (LAKE_SINK_PART_RECORDS): what one
   * idle flush re-encodes at most per file, besides the rows that arrived since the last flush.
   * @default blockSize (one part per open file)
   */
  readonly partRecords?: number;
  /**
   * The ledger rebuilds a block from its start while parts may hold acknowledged rows, those
   * below this offset (a resume without usable state, from the committed offset): it reports no
   * commit below it, and holds incomplete parts below it (`holdPartsBelow`).
   * @default none
   */
  readonly replayUntil?: number;
}

interface LakeFile<R> {
  readonly block: number;
  readonly hour: number;
  readonly startOffset: number;
  rows: R[];
  /** The offset of each row of `rows`. */
  offsets: number[];
  /** The record bytes of each row (a restored file's first row carries all the restored bytes). */
  sizes: number[];
  /** Leading rows read back from parts by `restore`, and the exact offset of the last of them. */
  restoredRows: number;
  restoredLast: number;
  bytes: number;
  lastOffset: number;
  sealed: boolean;
  /** Leading rows already in durable parts (rows are in offset order, so parts cover a prefix). */
  partRows: number;
  /** Durable parts past `partRows` (a gap before them): first row index -> rows covered. */
  landedParts: Map<number, number>;
}

/** One object to encode and upload: a file's final content, or one part of an open file. */
export interface FileSnapshot<R> {
  readonly key: string;
  /** The file's key and start offset (for a part: the file it belongs to). */
  readonly fileKey: string;
  readonly fileStart: number;
  /** First and last offset of the rows in this object. */
  readonly startOffset: number;
  readonly lastOffset: number;
  /** Any instant in the file's event hour (its start). */
  readonly hourStartMs: number;
  readonly rows: readonly R[];
  /** Rows of `rows` an earlier upload (a part) already made visible. */
  readonly uploadedBefore: number;
  /**
   * True for the file's one complete upload (then `partsPrefix` is where its parts are, to be
   * deleted); false for a part.
   */
  readonly final: boolean;
  /** Key prefix of the file's parts. */
  readonly partsPrefix: string;
  /** For a part: rows of the file (a prefix) that are in parts once this one is durable. */
  readonly coversRows: number;
}

export class PartitionLedger<R> {
  private readonly files: LakeFile<R>[] = [];
  private readonly openByHour = new Map<number, LakeFile<R>>();
  /** Uploaded files of the blocks a commit may still point into (what `uploaded` state entries come from). */
  private history: { readonly block: number; readonly hour: number; readonly start: number; readonly last: number }[] = [];
  /** After a restore: per event hour, the last offset an uploaded file of the current block holds (a replay skips up to it). */
  private readonly closedThrough = new Map<number, number>();
  /** The resume point (after a restore, or `replayUntil`); no commit below it is reported. */
  private floor: number;
  /** Until the position reaches it, only parts of fully consumed sub-blocks are sent (`holdPartsBelow`). */
  private holdBelow: number;
  private currentBlock = -1;
  private next: number | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly opts: LedgerOptions,
  ) {
    if (!Number.isSafeInteger(opts.blockSize) || opts.blockSize < 1) {
      throw new Error(`blockSize must be a positive integer, got ${opts.blockSize}`);
    }
    if (!(opts.maxFileBytes > 0)) throw new Error(`maxFileBytes must be positive, got ${opts.maxFileBytes}`);
    const part = opts.partRecords ?? opts.blockSize;
    if (!Number.isSafeInteger(part) || part < 1) throw new Error(`partRecords must be a positive integer, got ${part}`);
    this.partRecords = part;
    // A rebuild below an acknowledged point commits nothing until it is past it again.
    this.floor = opts.replayUntil ?? 0;
    this.holdBelow = opts.replayUntil ?? 0;
  }

  private readonly partRecords: number;

  /** The next offset expected (one past the last consumed), once anything was consumed. */
  get nextOffset(): number | undefined {
    return this.next;
  }

  /** Rows held in memory (not yet released after a final upload). */
  get bufferedRows(): number {
    return this.files.reduce((n, f) => n + f.rows.length, 0);
  }

  /** True if some open file has rows no upload has seen yet (what an idle flush would send). */
  get hasUnflushedOpenRows(): boolean {
    return this.files.some((f) => !f.sealed && f.partRows < f.rows.length);
  }

  /** Adds one record. Offsets must increase; gaps (transaction markers, dead-lettered records) are fine. */
  append(offset: number, eventTimeMs: number, bytes: number, row: R): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`offset must be a non-negative safe integer, got ${offset}`);
    if (this.next !== undefined && offset < this.next) {
      throw new Error(`offset ${offset} of ${this.topic}[${this.partition}] is before the next expected ${this.next}; reset the ledger on a rewind`);
    }
    const block = Math.floor(offset / this.opts.blockSize);
    if (block !== this.currentBlock) {
      this.sealOpenFiles();
      this.closedThrough.clear();
      this.currentBlock = block;
    }
    const hour = Math.floor(eventTimeMs / HOUR_MS);
    let file = this.openByHour.get(hour);
    const through = file ? undefined : this.closedThrough.get(hour);
    if (through !== undefined && offset <= through) {
      // Replayed after a restore: the row is in its hour's uploaded file already.
      this.next = offset + 1;
      return;
    }
    if (file && file.bytes + bytes > this.opts.maxFileBytes) {
      file.sealed = true;
      file = undefined;
    }
    if (!file) {
      file = {
        block,
        hour,
        startOffset: offset,
        rows: [],
        offsets: [],
        sizes: [],
        restoredRows: 0,
        restoredLast: -1,
        bytes: 0,
        lastOffset: offset,
        sealed: false,
        partRows: 0,
        landedParts: new Map(),
      };
      this.files.push(file);
      this.openByHour.set(hour, file);
    }
    file.rows.push(row);
    file.offsets.push(offset);
    file.sizes.push(bytes);
    file.bytes += bytes;
    file.lastOffset = offset;
    this.next = offset + 1;
  }

  /**
   * Records that every offset below `nextOffset` was consumed (e.g. the batch's last offset + 1,
   * which counts offsets kafkajs filtered out). Seals the files of blocks that are complete.
   */
  advanceTo(nextOffset: number): void {
    if (this.next !== undefined && nextOffset < this.next) return;
    this.next = nextOffset;
    if (this.currentBlock >= 0 && nextOffset >= (this.currentBlock + 1) * this.opts.blockSize) this.sealOpenFiles();
  }

  /**
   * What to upload now: every sealed file, complete, under its own key; and for an idle flush
   * (`includeOpen`), the parts of open files whose sub-blocks got rows since their last upload.
   */
  pendingUploads(includeOpen: boolean): FileSnapshot<R>[] {
    const out: FileSnapshot<R>[] = [];
    for (const f of this.files) {
      const hourStartMs = f.hour * HOUR_MS;
      const fileKey = lakeObjectKey(hourStartMs, this.topic, this.partition, String(f.startOffset));
      const partsPrefix = lakePartsPrefixOf(hourStartMs, this.topic, this.partition, String(f.startOffset));
      const base = { fileKey, fileStart: f.startOffset, hourStartMs, partsPrefix };
      if (f.sealed) {
        out.push({
          ...base,
          key: fileKey,
          startOffset: f.startOffset,
          lastOffset: f.lastOffset,
          rows: f.rows.slice(),
          uploadedBefore: f.partRows,
          final: true,
          coversRows: f.rows.length,
        });
        continue;
      }
      if (!includeOpen || f.partRows >= f.rows.length) continue;
      // From the sub-block of the first row no part holds yet: earlier sub-blocks are durable and final.
      let from = f.partRows;
      while (from > 0 && this.subBlock(f.offsets[from - 1]) === this.subBlock(f.offsets[f.partRows])) from--;
      while (from < f.rows.length) {
        const sub = this.subBlock(f.offsets[from]);
        let to = from;
        while (to < f.rows.length && this.subBlock(f.offsets[to]) === sub) to++;
        // Replaying what an earlier run may have put in parts: only a complete sub-block's part.
        if (this.next !== undefined && this.next < this.holdBelow && (sub + 1) * this.partRecords > this.next) break;
        out.push({
          ...base,
          key: lakePartKey(hourStartMs, this.topic, this.partition, String(f.startOffset), String(sub * this.partRecords)),
          startOffset: f.offsets[from],
          lastOffset: f.offsets[to - 1],
          rows: f.rows.slice(from, to),
          uploadedBefore: Math.max(0, Math.min(f.partRows, to) - from),
          final: false,
          coversRows: to,
        });
        from = to;
      }
    }
    return out;
  }

  /** Marks a snapshot durable; a final file's rows are released from memory. */
  markUploaded(snapshot: FileSnapshot<R>): void {
    const i = this.files.findIndex((f) => f.startOffset === snapshot.fileStart);
    if (i < 0) return;
    const file = this.files[i];
    if (snapshot.final) {
      this.files.splice(i, 1);
      this.history.push({ block: file.block, hour: file.hour, start: file.startOffset, last: file.lastOffset });
    } else {
      // Parts of one flush land in any order; the mark moves over a contiguous run from it only,
      // so a part that landed ahead of a failed one is sent again by the next flush.
      const from = snapshot.coversRows - snapshot.rows.length;
      file.landedParts.set(from, Math.max(file.landedParts.get(from) ?? 0, snapshot.coversRows));
      for (let moved = true; moved;) {
        moved = false;
        for (const [start, covers] of file.landedParts) {
          if (start > file.partRows) continue;
          file.landedParts.delete(start);
          if (covers > file.partRows) {
            file.partRows = covers;
            moved = true;
          }
        }
      }
    }
  }

  /**
   * Parts below `offset` may already hold more rows than this run has consumed (an earlier run
   * wrote them before it crashed, e.g. everything below the log end when this run started): until
   * the position reaches `offset`, an idle flush sends only parts of fully consumed sub-blocks,
   * whose content is final, so no part is overwritten with fewer rows and a reader's view never
   * shrinks. Later rows of an incomplete sub-block wait (and stay uncommitted) until then.
   */
  holdPartsBelow(offset: number): void {
    this.holdBelow = Math.max(this.holdBelow, offset);
  }

  /** The offset of `commitPoint()`. */
  commitOffset(): number | undefined {
    const point = this.commitPoint();
    return point === undefined ? undefined : Number(point.offset);
  }

  /**
   * The offset a restart may resume from without losing or re-keying any row, and the state it
   * needs (see the module comment); undefined before anything was consumed, and after a restore
   * until the position passes the resume point.
   */
  commitPoint(): SafeOffset | undefined {
    if (this.next === undefined) return undefined;
    let durable = this.next;
    for (const f of this.files) if (f.partRows < f.rows.length) durable = Math.min(durable, f.offsets[f.partRows]);
    const at = durable;
    if (at < this.floor) return undefined;
    const block = Math.floor(at / this.opts.blockSize);
    this.history = this.history.filter((h) => h.block >= block);
    const metadata = formatLakeState({ at, files: this.stateAt(at, block) });
    // Too many files to name (many event hours in one block): the last commit stands, and stays
    // restorable, until the block completes and its files are uploaded.
    return metadata.length <= MAX_STATE_CHARS ? { offset: String(at), metadata } : undefined;
  }

  /** The files a resume at `at` (in `block`) needs; see `StateFile`. */
  private stateAt(at: number, block: number): StateFile[] {
    // Per event hour of the block, the latest file started before `at`: the one open at `at`.
    const latest = new Map<number, number>();
    for (const f of [...this.files, ...this.history.map((h) => ({ ...h, startOffset: h.start }))]) {
      if (f.block === block && f.startOffset < at) latest.set(f.hour, Math.max(latest.get(f.hour) ?? -1, f.startOffset));
    }
    const out: StateFile[] = [];
    for (const f of this.files) {
      if (f.startOffset >= at) continue;
      if (f.block === block && latest.get(f.hour) === f.startOffset) {
        let rows = 0;
        let bytes = 0;
        while (rows < f.rows.length && f.offsets[rows] < at) bytes += f.sizes[rows++];
        const last = rows === f.rows.length ? f.lastOffset : this.lastBelow(f, rows);
        out.push({ kind: 'open', hour: f.hour, start: f.startOffset, rows, bytes, last });
      } else {
        out.push({ kind: 'sealed', hour: f.hour, start: f.startOffset, rows: f.rows.length, last: f.lastOffset });
      }
    }
    for (const h of this.history) {
      if (h.block === block && latest.get(h.hour) === h.start && h.last >= at) out.push({ kind: 'uploaded', hour: h.hour, start: h.start, last: h.last });
    }
    return out;
  }

  /**
   * Starts a fresh ledger at `resumeAt` (the committed offset: `state.at`, or past it over
   * transaction markers) from `state` as read back from S3 (`files`, one per state entry).
   * Throws if `files` does not match `state`, e.g. a part that is gone; the caller then falls
   * back to replaying whole blocks.
   */
  restore(resumeAt: number, state: LakeState, files: readonly RestoredFile<R>[]): void {
    if (this.next !== undefined) throw new Error(`restore of ${this.topic}[${this.partition}] into a ledger that already consumed records`);
    if (resumeAt < state.at) throw new Error(`state at ${state.at} cannot resume ${this.topic}[${this.partition}] at ${resumeAt}`);
    if (files.length !== state.files.length)
      throw new Error(`restore of ${this.topic}[${this.partition}] got ${files.length} files for ${state.files.length} state entries`);
    const block = Math.floor(state.at / this.opts.blockSize);
    state.files.forEach((entry, i) => {
      const f = files[i];
      const name = `file ${entry.start} (hour ${entry.hour}) of ${this.topic}[${this.partition}]`;
      if (f.hour !== entry.hour || f.start !== entry.start) throw new Error(`restore: ${name} got the data of file ${f.start} (hour ${f.hour})`);
      const fileBlock = Math.floor(f.start / this.opts.blockSize);
      if (f.uploaded) {
        this.history.push({ block: fileBlock, hour: f.hour, start: f.start, last: f.last });
        if (fileBlock === block) this.closedThrough.set(f.hour, Math.max(this.closedThrough.get(f.hour) ?? -1, f.last));
        return;
      }
      if (entry.kind === 'uploaded') throw new Error(`restore: ${name} was uploaded, but its object is missing`);
      if (f.rows.length < entry.rows || f.offsets.length !== f.rows.length) {
        throw new Error(`restore: ${name} needs ${entry.rows} rows below offset ${state.at}, its parts hold ${f.rows.length}`);
      }
      // A sealed file's bytes no longer matter: it never takes another row.
      const bytes = entry.kind === 'open' ? entry.bytes : 0;
      const file: LakeFile<R> = {
        block: fileBlock,
        hour: f.hour,
        startOffset: f.start,
        rows: f.rows.slice(0, entry.rows),
        offsets: f.offsets.slice(0, entry.rows),
        sizes: Array.from({ length: entry.rows }, (_, j) => (j === 0 ? bytes : 0)),
        restoredRows: entry.rows,
        restoredLast: entry.last,
        bytes,
        lastOffset: entry.last,
        sealed: entry.kind === 'sealed',
        partRows: entry.rows,
        landedParts: new Map(),
      };
      this.files.push(file);
      if (!file.sealed) this.openByHour.set(file.hour, file);
    });
    this.files.sort((a, b) => a.startOffset - b.startOffset);
    this.currentBlock = block;
    this.floor = resumeAt;
    this.next = resumeAt;
  }

  /** The exact offset of the file's row `i - 1` (restored rows carry stand-ins; see `RestoredFile`). */
  private lastBelow(f: LakeFile<R>, i: number): number {
    return i <= f.restoredRows ? f.restoredLast : f.offsets[i - 1];
  }

  private sealOpenFiles(): void {
    for (const f of this.openByHour.values()) f.sealed = true;
    this.openByHour.clear();
  }

  private subBlock(offset: number): number {
    return Math.floor(offset / this.partRecords);
  }
}
