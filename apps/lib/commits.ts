/**
 * The consumer runner's commit bookkeeping, after Kafka Connect's `preCommit`: handlers say which
 * offset of a partition is safe to commit (everything below it is durably written), and the
 * runner commits the latest safe offset of every partition at its commit points (batch end, idle
 * tick, revoke, shutdown). Pure, so its rules are unit-tested:
 *
 * - A safe offset belongs to the group generation it was computed in; after a rejoin kafkajs
 *   resumes every partition from its committed offset and the handlers rebuild their state, so
 *   older marks are dropped instead of committed over what the partition's new owner commits.
 * - A mark equal to what is already committed (offset and metadata) is not sent again.
 * - The latest mark wins: handlers serialize the work of a partition, so a later mark always
 *   describes a later state, even when its offset is lower (the processor's open-window floor).
 * - Offsets that hold no data for the handler (transaction markers and aborted records, which a
 *   read_committed consumer never hands over) are skipped: when a mark reaches the end of the last
 *   batch the handler saw and only such offsets follow, the mark moves past them. Otherwise a sink
 *   reading a transactional topic would stay one marker behind the end of every partition, and its
 *   lag would never reach zero.
 */

/** The next offset to read after everything durably written, with optional commit metadata. */
export interface SafeOffset {
  /** As kafkajs strings it. */
  readonly offset: string;
  /** Stored with the offset by the group coordinator (e.g. a watermark to restore on replay). */
  readonly metadata?: string;
}

export interface OffsetCommit extends SafeOffset {
  readonly topic: string;
  readonly partition: number;
}

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const same = (a: SafeOffset | undefined, b: SafeOffset) => a !== undefined && a.offset === b.offset && (a.metadata ?? null) === (b.metadata ?? null);

export class CommitTracker {
  private generation = 0;
  private readonly marks = new Map<string, OffsetCommit>();
  private readonly committed = new Map<string, SafeOffset>();
  /** Per partition: the offset after the last batch handed to the handler. */
  private readonly handledEnd = new Map<string, number>();
  /** Per partition: the offset after a run of data-less offsets that directly follows `handledEnd`. */
  private readonly skippableEnd = new Map<string, number>();

  /** A new group generation: earlier marks are void; `committed` is what the group holds now, where known. */
  reset(generation: number, committed: Iterable<OffsetCommit> = []): void {
    this.generation = generation;
    this.marks.clear();
    this.committed.clear();
    this.handledEnd.clear();
    this.skippableEnd.clear();
    for (const c of committed) this.committed.set(keyOf(c.topic, c.partition), c);
  }

  /** Records a safe offset computed in `generation`; ignored when that generation is over. */
  mark(generation: number, commit: OffsetCommit): void {
    if (generation !== this.generation) return;
    const key = keyOf(commit.topic, commit.partition);
    const skipTo = this.skippableEnd.get(key);
    const moved = skipTo !== undefined && Number(commit.offset) === this.handledEnd.get(key) ? { ...commit, offset: String(skipTo) } : commit;
    this.marks.set(key, moved);
  }

  /** A batch with data was handed to the handler in `generation`; `lastOffset` as kafkajs reports it. */
  handled(generation: number, topic: string, partition: number, lastOffset: string): void {
    if (generation !== this.generation) return;
    const key = keyOf(topic, partition);
    this.handledEnd.set(key, Number(lastOffset) + 1);
    this.skippableEnd.delete(key);
  }

  /**
   * kafkajs fetched offsets `firstOffset..lastOffset` holding no data (markers, aborted records) and
   * did not hand them over. Contiguous with what the handler saw, they become skippable; if the
   * handler has already made everything before them safe, the mark moves past them at once.
   */
  skipped(generation: number, topic: string, partition: number, firstOffset: string, lastOffset: string): void {
    if (generation !== this.generation) return;
    const key = keyOf(topic, partition);
    const mark = this.marks.get(key);
    const safeNow = mark ?? this.committed.get(key);
    const position = this.skippableEnd.get(key) ?? this.handledEnd.get(key) ?? (safeNow ? Number(safeNow.offset) : undefined);
    if (position === undefined || Number(firstOffset) > position) return;
    const end = Number(lastOffset) + 1;
    if (end <= position) return;
    if (!this.handledEnd.has(key)) this.handledEnd.set(key, position);
    this.skippableEnd.set(key, end);
    if (safeNow && Number(safeNow.offset) === this.handledEnd.get(key)) this.marks.set(key, { topic, partition, ...safeNow, offset: String(end) });
  }

  /** Marks not yet committed, optionally for one partition only. */
  pending(only?: { readonly topic: string; readonly partition: number }): OffsetCommit[] {
    const out: OffsetCommit[] = [];
    for (const [key, mark] of this.marks) {
      if (only && key !== keyOf(only.topic, only.partition)) continue;
      if (!same(this.committed.get(key), mark)) out.push(mark);
    }
    return out;
  }

  /** Records that `commits` were accepted by the coordinator in `generation`. */
  committedIn(generation: number, commits: readonly OffsetCommit[]): void {
    if (generation !== this.generation) return;
    for (const c of commits) this.committed.set(keyOf(c.topic, c.partition), c);
  }

  /** The committed offset of a partition as this member knows it. */
  committedOffset(topic: string, partition: number): SafeOffset | undefined {
    return this.committed.get(keyOf(topic, partition));
  }
}
