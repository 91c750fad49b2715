/**
 * Reading a partition's lake state back from S3 after a restart (docs/lake.md, "Resuming"): the
 * committed offset's metadata names the files the resume point needs (`LakeState`); for each,
 * a HEAD tells whether its file was uploaded since (then only its last offset matters), and
 * otherwise its parts, in sub-block order, give back the rows below the resume point. The
 * ledger checks the result against the state and refuses a mismatch (the caller then replays
 * whole blocks instead, which is always correct, only slower).
 */
import { lakeObjectKey, lakePartsPrefixOf } from '../contracts/lake';
import type { LakeState, RestoredFile, StateFile } from './blocks';
import type { ObjectStore } from './object-store';
import { decodeReadings } from './parquet';
import type { TelemetryReading } from '../contracts/telemetry';

const HOUR_MS = 3_600_000;

/** S3 user metadata a final file carries: its last offset (what a HEAD gives a restore). */
export const LAST_OFFSET_METADATA = 'sdp-last-offset';

/** Where a part key ends: `+<partStart>.parquet`. */
const PART_START = /\+(\d{10})\.parquet$/;

export interface ReadBackOptions {
  /** Runs an S3 request with the sink's retry policy. */
  readonly attempt: <T>(what: string, key: string, fn: () => Promise<T>) => Promise<T>;
}

/** The rows of the files in `state`, one `RestoredFile` per entry, in order. */
export async function readBackState(
  store: ObjectStore,
  topic: string,
  partition: number,
  state: LakeState,
  opts: ReadBackOptions,
): Promise<RestoredFile<TelemetryReading>[]> {
  return Promise.all(state.files.map((entry) => readBackFile(store, topic, partition, entry, opts)));
}

async function readBackFile(
  store: ObjectStore,
  topic: string,
  partition: number,
  entry: StateFile,
  { attempt }: ReadBackOptions,
): Promise<RestoredFile<TelemetryReading>> {
  const { hour, start } = entry;
  if (entry.kind === 'uploaded') return { hour, start, uploaded: true, last: entry.last };
  const fileKey = lakeObjectKey(hour * HOUR_MS, topic, partition, String(start));
  const uploaded = async (): Promise<RestoredFile<TelemetryReading> | undefined> => {
    const meta = await attempt('restore head', fileKey, () => store.head(fileKey));
    if (meta === undefined) return undefined;
    const last = Number(meta[LAST_OFFSET_METADATA]);
    if (!Number.isSafeInteger(last)) throw new Error(`lake file ${fileKey} has no ${LAST_OFFSET_METADATA} metadata; cannot resume after it`);
    return { hour, start, uploaded: true, last };
  };
  const done = await uploaded();
  if (done) return done;

  const prefix = lakePartsPrefixOf(hour * HOUR_MS, topic, partition, String(start));
  const parts = (await attempt('restore list', prefix, () => store.list(prefix)))
    .map((key) => ({ key, partStart: Number(PART_START.exec(key)?.[1] ?? NaN) }))
    .filter((p) => p.partStart <= entry.last)
    .sort((a, b) => a.partStart - b.partStart);
  const rows: TelemetryReading[] = [];
  const offsets: number[] = [];
  for (const part of parts) {
    if (rows.length >= entry.rows) break;
    let body: Uint8Array;
    try {
      body = await attempt('restore get', part.key, () => store.get(part.key));
    } catch (err) {
      // Gone since it was listed: its file was written meanwhile (by a member of the group that has not noticed it lost the partition).
      const since = await uploaded();
      if (since) return since;
      throw err;
    }
    const { readings, metadata } = await decodeReadings(body);
    const first = Number(metadata['sdp.source.first_offset']);
    if (!Number.isSafeInteger(first)) throw new Error(`lake part ${part.key} has no sdp.source.first_offset metadata`);
    for (const r of readings) {
      rows.push(r);
      offsets.push(first);
    }
  }
  if (rows.length < entry.rows) {
    const since = await uploaded();
    if (since) return since;
  }
  return { hour, start, uploaded: false, rows, offsets };
}
