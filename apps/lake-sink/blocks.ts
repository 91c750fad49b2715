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
 * Commit rule: the committed offset is always a point a restart can rebuild from. Everything
 * before the first block that still has an open or not-yet-uploaded file is durable, and that
 * block restarts from its first file's start offset, so the rebuilt files get the same keys and
 * (once the block completes) the same records. Without such a block, the next offset to read.
 * The sink also seeks a resumed partition back to `blockStart` of its committed offset, so even
 * an operator's offset reset to any point replays whole blocks and reproduces the same objects.
 */
import { lakeObjectKey } from '../contracts/lake';

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
}

interface LakeFile<R> {
  readonly block: number;
  readonly hour: number;
  readonly startOffset: number;
  rows: R[];
  bytes: number;
  lastOffset: number;
  sealed: boolean;
  /** Rows in the last durable upload of this key. */
  uploadedRows: number;
}

/** A file's content at one moment, ready to encode and upload. */
export interface FileSnapshot<R> {
  readonly key: string;
  readonly startOffset: number;
  readonly lastOffset: number;
  /** Any instant in the file's event hour (its start). */
  readonly hourStartMs: number;
  readonly rows: readonly R[];
  /** Rows of `rows` an earlier upload of this key already contained. */
  readonly uploadedBefore: number;
  /** False for an idle flush of an open file: the key will be uploaded again with more rows. */
  readonly final: boolean;
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
  }

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
    return this.files.some((f) => !f.sealed && f.uploadedRows < f.rows.length);
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
      file = { block, hour, startOffset: offset, rows: [], bytes: 0, lastOffset: offset, sealed: false, uploadedRows: 0 };
      this.files.push(file);
      this.openByHour.set(hour, file);
      if (!this.blockOrigins.has(block)) this.blockOrigins.set(block, offset);
    }
    file.rows.push(row);
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
   * Files whose content changed since their last upload: sealed ones always, open ones only for
   * an idle flush (they will be uploaded again under the same key when they grow or seal).
   */
  pendingUploads(includeOpen: boolean): FileSnapshot<R>[] {
    return this.files
      .filter((f) => f.uploadedRows < f.rows.length && (f.sealed || includeOpen))
      .map((f) => ({
        key: lakeObjectKey(f.hour * HOUR_MS, this.topic, this.partition, String(f.startOffset)),
        startOffset: f.startOffset,
        lastOffset: f.lastOffset,
        hourStartMs: f.hour * HOUR_MS,
        rows: f.rows.slice(),
        uploadedBefore: f.uploadedRows,
        final: f.sealed,
      }));
  }

  /** Marks a snapshot durable; a final file's rows are released from memory. */
  markUploaded(snapshot: FileSnapshot<R>): void {
    const i = this.files.findIndex((f) => f.startOffset === snapshot.startOffset);
    if (i < 0) return;
    const file = this.files[i];
    file.uploadedRows = Math.max(file.uploadedRows, snapshot.rows.length);
    if (file.sealed && file.uploadedRows === file.rows.length) this.files.splice(i, 1);
    this.pruneOrigins();
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

  private pruneOrigins(): void {
    const oldest = this.files[0]?.block ?? this.currentBlock;
    for (const block of this.blockOrigins.keys()) if (block < oldest) this.blockOrigins.delete(block);
  }
}
