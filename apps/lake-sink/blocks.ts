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
 * Commit rule: the committed offset is always a point a restart can rebuild from. Everything
 * before the first block that still has an open or not-yet-uploaded file is durable, and that
 * block restarts from its first file's start offset, so the rebuilt files get the same keys and
 * (once the block completes) the same records. Without such a block, the next offset to read.
 * The sink also seeks a resumed partition back to `blockStart` of its committed offset, so even
 * an operator's offset reset to any point replays whole blocks and reproduces the same objects.
 */
import { lakeObjectKey, lakePartKey, lakePartsPrefixOf } from '../contracts/lake';

const HOUR_MS = 3_600_000;

/** First offset of the aligned block holding `offset`: where a resumed partition must restart. */
export function blockStart(offset: number, blockSize: number): number {
  return Math.floor(offset / blockSize) * blockSize;
}

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
}

interface LakeFile<R> {
  readonly block: number;
  readonly hour: number;
  readonly startOffset: number;
  rows: R[];
  /** The offset of each row of `rows`. */
  offsets: number[];
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
  /** Start offset of each block's first file, while the block may still need a rebuild. */
  private readonly blockOrigins = new Map<number, number>();
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
      this.currentBlock = block;
    }
    const hour = Math.floor(eventTimeMs / HOUR_MS);
    let file = this.openByHour.get(hour);
    if (file && file.bytes + bytes > this.opts.maxFileBytes) {
      file.sealed = true;
      file = undefined;
    }
    if (!file) {
      file = { block, hour, startOffset: offset, rows: [], offsets: [], bytes: 0, lastOffset: offset, sealed: false, partRows: 0, landedParts: new Map() };
      this.files.push(file);
      this.openByHour.set(hour, file);
      if (!this.blockOrigins.has(block)) this.blockOrigins.set(block, offset);
    }
    file.rows.push(row);
    file.offsets.push(offset);
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
      this.pruneOrigins();
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

  /** The offset a restart may resume from without losing or re-keying any row; see the module comment. */
  commitOffset(): number | undefined {
    const pending = this.files[0];
    if (!pending) return this.next;
    return this.blockOrigins.get(pending.block);
  }

  private sealOpenFiles(): void {
    for (const f of this.openByHour.values()) f.sealed = true;
    this.openByHour.clear();
  }

  private subBlock(offset: number): number {
    return Math.floor(offset / this.partRecords);
  }

  private pruneOrigins(): void {
    const oldest = this.files[0]?.block ?? this.currentBlock;
    for (const block of this.blockOrigins.keys()) if (block < oldest) this.blockOrigins.delete(block);
  }
}
