/**
 * What a run must produce, computed independently of the apps' code: the raw topic (what the
 * brokers hold) classified with the schema of the contract version each record names and upcast
 * to the newest as the contract declares, cross-checked against the producer's
 * manifest (what the brokers acknowledged), and 1-minute tumbling-window aggregates computed
 * from it. Comparisons return counts plus a few examples, so a failing assertion says what and where.
 */
import { dlqHeaders, lakeLayout, lakePartitionPrefix, MAX_EVENT_TS, telemetryReadingContract, topics } from '../../../apps/contracts';
import type { MalformedKind } from '../../../apps/producer/generator';
import type { ManifestEntry } from '../../../apps/producer/run';
import type { StoredAggregate, StoredReading } from './cassandra';
import type { TopicRecord } from './kafka';
import type { LakeObject, LakeRow } from './lake';

export interface ExpectedReading {
  readonly deviceId: string;
  readonly ts: number;
  readonly metric: string;
  readonly value: number;
  readonly tags: Readonly<Record<string, string>> | null;
  /** v2's field: null for a reading sent as v1 (upcast without a unit). */
  readonly unit: string | null;
  /** The version stored: the newest, whatever was sent. */
  readonly schemaVersion: number;
  /** The version the device sent. */
  readonly sentAs: number;
}

export interface ExpectedMalformed {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly kind: MalformedKind | 'unknown';
}

export interface Reference {
  /** Valid readings by `readingKey` (the Cassandra primary key minus the derived day). */
  readonly readings: ReadonlyMap<string, ExpectedReading>;
  /** Malformed raw records by `coordinate` (source topic/partition/offset, as in the DLQ headers). */
  readonly malformed: ReadonlyMap<string, ExpectedMalformed>;
  readonly rawRecords: number;
  /** (device, ts, metric) that occur more than once in the raw topic: must be none. */
  readonly rawDuplicates: readonly string[];
}

export const readingKey = (r: { deviceId: string; ts: number; metric: string }): string => `${r.deviceId}|${new Date(r.ts).toISOString()}|${r.metric}`;
export const coordinate = (topic: string, partition: number | string, offset: number | string): string => `${topic}/${partition}/${offset}`;

const schemaKeys = (version: unknown): ReadonlySet<string> => {
  const schema = telemetryReadingContract.version(typeof version === 'number' ? version : telemetryReadingContract.latest.version)?.schema;
  return new Set(Object.keys((schema ?? telemetryReadingContract.latest.schema).shape));
};
const METRIC = /^[a-z][a-z0-9_.]*$/;

/** The producer's malformed kinds, recognised from the bytes alone. */
export function malformedKind(value: Buffer | null): MalformedKind | 'unknown' {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(value?.toString('utf8') ?? '') as Record<string, unknown>;
  } catch {
    return 'invalid_json';
  }
  if (!('value' in o)) return 'missing_field';
  if (typeof o.value !== 'number') return 'wrong_type';
  if (typeof o.ts === 'number' && o.ts > MAX_EVENT_TS) return 'ts_out_of_range';
  if (typeof o.metric === 'string' && !METRIC.test(o.metric)) return 'bad_metric';
  const keys = schemaKeys(o.schemaVersion);
  if (Object.keys(o).some((k) => !keys.has(k))) return 'extra_field';
  return 'unknown';
}

/** The DLQ reason must name what was wrong: the field, or that the bytes are not JSON. */
export const reasonPattern: Readonly<Record<MalformedKind | 'unknown', RegExp>> = {
  invalid_json: /json/i,
  missing_field: /\bvalue\b/,
  wrong_type: /\bvalue\b/,
  ts_out_of_range: /\bts\b/,
  bad_metric: /\bmetric\b/,
  extra_field: /\bfirmware\b/,
  unknown: /./,
};

export function buildReference(raw: readonly TopicRecord[]): Reference {
  const readings = new Map<string, ExpectedReading>();
  const malformed = new Map<string, ExpectedMalformed>();
  const rawDuplicates: string[] = [];
  for (const r of raw) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(r.value?.toString('utf8') ?? '');
    } catch {
      parsed = undefined;
    }
    const sentAs = (parsed as { schemaVersion?: unknown } | undefined)?.schemaVersion;
    const version = typeof sentAs === 'number' && telemetryReadingContract.upcastable.includes(sentAs) ? telemetryReadingContract.version(sentAs) : undefined;
    const check = version?.schema.safeParse(parsed);
    if (version && check?.success) {
      const reading = telemetryReadingContract.upcast(check.data, version.version);
      const key = readingKey(reading);
      if (readings.has(key)) rawDuplicates.push(key);
      readings.set(key, {
        deviceId: reading.deviceId,
        ts: reading.ts,
        metric: reading.metric,
        value: reading.value,
        tags: reading.tags ?? null,
        unit: reading.unit ?? null,
        schemaVersion: reading.schemaVersion,
        sentAs: version.version,
      });
    } else {
      malformed.set(coordinate(r.topic, r.partition, r.offset), {
        partition: r.partition,
        offset: r.offset,
        key: r.key,
        value: r.value,
        kind: malformedKind(r.value),
      });
    }
  }
  return { readings, malformed, rawRecords: raw.length, rawDuplicates };
}

/** Result of comparing a store with the reference; `exactly(n)` is the only passing shape. */
export interface Comparison {
  readonly expected: number;
  readonly found: number;
  readonly missing: number;
  readonly unexpected: number;
  /** Extra copies of a key (found - distinct keys found). */
  readonly duplicated: number;
  readonly mismatched: number;
  readonly examples: readonly string[];
}

export const exactly = (n: number): Comparison => ({ expected: n, found: n, missing: 0, unexpected: 0, duplicated: 0, mismatched: 0, examples: [] });

const EXAMPLES = 3;

export function compare<E, A>(
  expected: ReadonlyMap<string, E>,
  actual: Iterable<A>,
  keyOf: (a: A) => string,
  diff: (e: E, a: A) => string | undefined,
): Comparison {
  const seen = new Map<string, number>();
  const examples = { missing: [] as string[], unexpected: [] as string[], duplicated: [] as string[], mismatched: [] as string[] };
  let found = 0;
  let unexpected = 0;
  let mismatched = 0;
  for (const a of actual) {
    found++;
    const key = keyOf(a);
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n === 2 && examples.duplicated.length < EXAMPLES) examples.duplicated.push(`duplicated ${key}`);
    const e = expected.get(key);
    if (e === undefined) {
      unexpected++;
      if (examples.unexpected.length < EXAMPLES) examples.unexpected.push(`unexpected ${key}`);
      continue;
    }
    const problem = diff(e, a);
    if (problem !== undefined) {
      mismatched++;
      if (examples.mismatched.length < EXAMPLES) examples.mismatched.push(`${key}: ${problem}`);
    }
  }
  let missing = 0;
  for (const key of expected.keys()) {
    if (seen.has(key)) continue;
    missing++;
    if (examples.missing.length < EXAMPLES) examples.missing.push(`missing ${key}`);
  }
  return {
    expected: expected.size,
    found,
    missing,
    unexpected,
    duplicated: found - seen.size,
    mismatched,
    examples: [...examples.missing, ...examples.unexpected, ...examples.duplicated, ...examples.mismatched],
  };
}

const sameTags = (a: Readonly<Record<string, string>> | null, b: Readonly<Record<string, string>> | null): boolean => {
  const norm = (t: Readonly<Record<string, string>> | null) => JSON.stringify(Object.entries(t ?? {}).sort(([x], [y]) => (x < y ? -1 : 1)));
  return norm(a) === norm(b);
};

function readingDiff(
  e: ExpectedReading,
  a: { value: number; tags: Readonly<Record<string, string>> | null; unit: string | null; schemaVersion: number },
): string | undefined {
  if (a.value !== e.value) return `value ${a.value}, expected ${e.value}`;
  if (!sameTags(a.tags, e.tags)) return `tags ${JSON.stringify(a.tags)}, expected ${JSON.stringify(e.tags)}`;
  if (a.unit !== e.unit) return `unit ${JSON.stringify(a.unit)}, expected ${JSON.stringify(e.unit)} (sent as v${e.sentAs})`;
  if (a.schemaVersion !== e.schemaVersion) return `schema_version ${a.schemaVersion}, expected ${e.schemaVersion}`;
  return undefined;
}

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** `readings_by_device_day` against the reference: one row per valid reading, same values, right day. */
export function compareReadings(ref: Reference, rows: readonly StoredReading[]): Comparison {
  return compare(ref.readings, rows, readingKey, (e, a) => (a.day !== utcDay(e.ts) ? `day ${a.day}, expected ${utcDay(e.ts)}` : readingDiff(e, a)));
}

/** Every lake row against the reference: each valid reading exactly once across all objects. */
export function compareLake(ref: Reference, objects: readonly LakeObject[]): Comparison {
  const rows: LakeRow[] = objects.flatMap((o) => o.rows);
  return compare(ref.readings, rows, readingKey, readingDiff);
}

/** Layout rules a reader of the lake relies on: rows in their event hour's partition, lineage in the footer. */
export function lakeLayoutProblems(objects: readonly LakeObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    if (o.rows.length === 0) problems.push(`${o.key}: empty file`);
    const base = o.kind === 'part' ? lakeLayout.partsPrefix : lakeLayout.prefix;
    const misplaced = o.rows.find((r) => !o.key.startsWith(lakePartitionPrefix(r.ts, base)));
    if (misplaced) problems.push(`${o.key}: holds a reading of ${new Date(misplaced.ts).toISOString()}`);
    if (o.footer['sdp.source.topic'] !== topics.clean.name || o.footer['sdp.source.partition'] !== String(o.partition)) {
      problems.push(`${o.key}: footer lineage ${JSON.stringify(o.footer)}`);
    }
    // A part starts at its file's first row or later, inside its sub-block.
    const first = Number(o.footer['sdp.source.first_offset']);
    if (o.kind === 'part' ? first < Math.max(o.startOffset, o.partStart ?? 0) : first !== o.startOffset) {
      problems.push(`${o.key}: first_offset ${o.footer['sdp.source.first_offset']}`);
    }
    if (!o.key.startsWith(base)) problems.push(`${o.key}: outside ${base}`);
  }
  return problems;
}

/** The DLQ against the malformed raw records, grouped by the source coordinates in its headers. */
export function compareDeadLetters(ref: Reference, dlq: readonly TopicRecord[], notBefore: number): Comparison {
  return compare(
    ref.malformed,
    dlq,
    (m) => coordinate(m.headers[dlqHeaders.topic], m.headers[dlqHeaders.partition], m.headers[dlqHeaders.offset]),
    (e, m) => {
      const reason = m.headers[dlqHeaders.reason] ?? '';
      if (!reasonPattern[e.kind].test(reason)) return `reason "${reason}" does not name the problem of a ${e.kind} record`;
      if (!(m.headers[dlqHeaders.exceptionClass] ?? '').length) return 'no exception class header';
      const failedAt = Number(m.headers[dlqHeaders.failedAt]);
      if (!(failedAt >= notBefore && failedAt <= Date.now())) return `failed-at header ${m.headers[dlqHeaders.failedAt]} is not a time of this run`;
      if (m.key !== e.key) return `key ${m.key}, expected ${e.key}`;
      if (!(m.value === null ? e.value === null : e.value !== null && m.value.equals(e.value))) return 'value is not the original bytes';
      return undefined;
    },
  );
}

/** The manifest (acknowledged sends) against the raw topic: the brokers kept every acknowledged record. */
export function compareManifest(
  ref: Reference,
  manifest: readonly ManifestEntry[],
): { valid: Comparison; malformedByKind: Record<string, number>; malformedInTopicByKind: Record<string, number> } {
  const valid = manifest.filter((e): e is Extract<ManifestEntry, { valid: true }> => e.valid);
  const tally = (kinds: readonly string[]) => kinds.reduce<Record<string, number>>((t, k) => ({ ...t, [k]: (t[k] ?? 0) + 1 }), {});
  return {
    valid: compare(ref.readings, valid, readingKey, () => undefined),
    malformedByKind: tally(manifest.filter((e): e is Extract<ManifestEntry, { valid: false }> => !e.valid).map((e) => e.kind)),
    malformedInTopicByKind: tally([...ref.malformed.values()].map((m) => m.kind)),
  };
}

export interface ExpectedAggregate {
  readonly deviceId: string;
  readonly metric: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  readonly avg: number;
  readonly last: number;
  readonly lastTs: number;
}

const WINDOW_MS = 60_000;
export const aggregateKey = (a: { deviceId: string; metric: string; windowStart: number }): string =>
  `${a.deviceId}|${a.metric}|${new Date(a.windowStart).toISOString()}`;

/** 1-minute tumbling windows on event time per (device, metric), summed in event-time order. */
export function referenceAggregates(ref: Reference): Map<string, ExpectedAggregate> {
  const sorted = [...ref.readings.values()].sort((a, b) => a.ts - b.ts);
  const out = new Map<string, ExpectedAggregate>();
  for (const r of sorted) {
    const windowStart = Math.floor(r.ts / WINDOW_MS) * WINDOW_MS;
    const key = aggregateKey({ deviceId: r.deviceId, metric: r.metric, windowStart });
    const a = out.get(key);
    if (!a) {
      out.set(key, {
        deviceId: r.deviceId,
        metric: r.metric,
        windowStart,
        windowEnd: windowStart + WINDOW_MS,
        count: 1,
        min: r.value,
        max: r.value,
        sum: r.value,
        avg: r.value,
        last: r.value,
        lastTs: r.ts,
      });
      continue;
    }
    const sum = a.sum + r.value;
    const count = a.count + 1;
    out.set(key, { ...a, count, sum, avg: sum / count, min: Math.min(a.min, r.value), max: Math.max(a.max, r.value), last: r.value, lastTs: r.ts });
  }
  return out;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

export function compareAggregates(expected: ReadonlyMap<string, ExpectedAggregate>, rows: readonly StoredAggregate[]): Comparison {
  return compare(expected, rows, aggregateKey, (e, a) => {
    if (a.count !== e.count) return `count ${a.count}, expected ${e.count}`;
    if (a.min !== e.min || a.max !== e.max) return `min/max ${a.min}/${a.max}, expected ${e.min}/${e.max}`;
    if (!close(a.sum, e.sum) || !close(a.avg, e.avg)) return `sum/avg ${a.sum}/${a.avg}, expected ${e.sum}/${e.avg}`;
    if (a.last !== e.last || a.lastTs !== e.lastTs) return `last ${a.last}@${a.lastTs}, expected ${e.last}@${e.lastTs}`;
    if (a.windowEnd !== e.windowEnd) return `window_end ${a.windowEnd}, expected ${e.windowEnd}`;
    if (a.day !== utcDay(e.windowStart)) return `day ${a.day}, expected ${utcDay(e.windowStart)}`;
    return undefined;
  });
}
