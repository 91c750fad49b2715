/**
 * Offset bookkeeping for the processor: what to commit so that a crash loses nothing, and
 * what to skip on replay so that a clean restart duplicates nothing.
 *
 * - Commit offset = the smallest offset still contributing to an OPEN window, or the next
 *   offset after the batch when none is open. Replaying from there rebuilds every open
 *   window exactly.
 * - The commit carries metadata (as Kafka Streams stores partition time): the watermark,
 *   so replayed records of windows that were already emitted are not re-aggregated into a
 *   partial duplicate, and `sentUpTo`, the offset below which clean/DLQ records were already
 *   acknowledged, so they are not re-sent. A commit is only made after all sends of its
 *   batch were acknowledged, which is what makes both safe.
 */

export interface CommitMetadata {
  /** Watermark (epoch ms) when the commit was made; windows ending at or before it were emitted. */
  readonly watermark: number;
  /** Every record below this offset had its clean/DLQ output acknowledged. */
  readonly sentUpTo: number;
}

const VERSION = 1;

export function encodeCommitMetadata(m: CommitMetadata): string {
  return JSON.stringify({ v: VERSION, wm: Number.isFinite(m.watermark) ? m.watermark : null, sent: m.sentUpTo });
}

/** Tolerant: anything unreadable (another tool's commit, an older format) means "no state". */
export function decodeCommitMetadata(raw: string | null | undefined): CommitMetadata | undefined {
  if (!raw) return undefined;
  try {
    const o = JSON.parse(raw) as { v?: unknown; wm?: unknown; sent?: unknown };
    if (o.v !== VERSION || !Number.isSafeInteger(o.sent)) return undefined;
    const watermark = o.wm === null ? -Infinity : Number.isSafeInteger(o.wm) ? (o.wm as number) : undefined;
    if (watermark === undefined) return undefined;
    return { watermark, sentUpTo: o.sent as number };
  } catch {
    return undefined;
  }
}

/**
 * Per-partition progress. Offsets are JS numbers: exact to 2^53, i.e. centuries of
 * traffic at millions of records per second.
 */
export class PartitionProgress {
  private sent: number;

  /** @param restored metadata of the partition's last commit, if any */
  constructor(restored?: CommitMetadata) {
    this.sent = restored?.sentUpTo ?? 0;
  }

  /** True if this record's clean/DLQ output was acknowledged before the last restart. */
  alreadySent(offset: number): boolean {
    return offset < this.sent;
  }

  get sentUpTo(): number {
    return this.sent;
  }

  /**
   * Call once all sends up to `nextOffset` (exclusive) were acknowledged. Returns the commit:
   * never past the earliest offset an open window still needs.
   */
  planCommit(nextOffset: number, minOpenWindowOffset: number | undefined, watermark: number): { offset: string; metadata: string } {
    if (nextOffset > this.sent) this.sent = nextOffset;
    const offset = minOpenWindowOffset === undefined ? nextOffset : Math.min(minOpenWindowOffset, nextOffset);
    return { offset: String(offset), metadata: encodeCommitMetadata({ watermark, sentUpTo: this.sent }) };
  }
}
