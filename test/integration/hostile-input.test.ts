/**
 * Hostile but valid-looking input through the real pipeline (docs/input-safety.md): records that
 * exercise the JavaScript runtime and the storage engines go to the raw topic, and each one must
 * be either stored exactly as sent, field for field, in Cassandra AND the lake, or be in the DLQ
 * with a reason naming the field. (It found that a tag named `hasOwnProperty` made
 * cassandra-driver throw and the sink crash-loop; the contract now rejects that key.)
 */
import type { Producer } from 'kafkajs';
import { dlqHeaders, TelemetryReading, topics } from '../../apps/contracts';
import { MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS, MAX_TAGS, READING_SCHEMA_VERSION } from '../../apps/contracts/telemetry';
import { readReadings, StoredReading } from './support/cassandra';
import { readTopic, testKafka, TopicRecord } from './support/kafka';
import { LakeRow } from './support/lake';
import { Scenario } from './support/scenario';
import { done, pending, waitFor } from './support/wait';

interface Case {
  readonly name: string;
  readonly deviceId: string;
  readonly key: string | null;
  readonly bytes: Buffer;
  /** Stored exactly as this, or dead-lettered with a reason matching this. */
  readonly expect: { readonly stored: TelemetryReading } | { readonly dlq: RegExp };
}

const now = Date.now();
const base = (deviceId: string, i: number) => ({ schemaVersion: 1 as const, deviceId, ts: now - 60_000 + i, metric: 'temp_c', value: i });

/**
 * A reading sent as `text` (JSON.stringify loses -0 and digits beyond a double), expected stored as JSON.parse reads it,
 * upcast to the newest version (a v1 reading is stored as v2 without a unit).
 */
function accepted(name: string, deviceId: string, text: string): Case {
  const stored = { ...(JSON.parse(text) as object), schemaVersion: READING_SCHEMA_VERSION } as TelemetryReading;
  return { name, deviceId, key: deviceId, bytes: Buffer.from(text), expect: { stored } };
}

function rejected(name: string, deviceId: string, value: Buffer | string, reason: RegExp, key: string | null = deviceId): Case {
  return { name, deviceId, key, bytes: Buffer.isBuffer(value) ? value : Buffer.from(value), expect: { dlq: reason } };
}

const json = (o: object) => JSON.stringify(o);

function cases(): Case[] {
  const out: Case[] = [];
  let i = 0;
  const dev = (name: string) => `hostile-${String(++i).padStart(2, '0')}-${name}`;
  let d = dev('special-keys');
  out.push(accepted('special object keys', d, json({ ...base(d, i), tags: { constructor: 'c', toString: 't', valueOf: 'v', prototype: 'p', 'é😀': '😀é' } })));
  d = dev('limits');
  const longId = `${d}-`.padEnd(128, 'x');
  out.push(
    accepted(
      'every field at its length limit, multi-byte tags',
      longId,
      json({
        ...base(longId, i),
        metric: 'm'.padEnd(64, '_'),
        tags: Object.fromEntries(Array.from({ length: MAX_TAGS }, (_, t) => [`${t}`.padEnd(MAX_TAG_KEY_CHARS, 'k'), '😀'.repeat(MAX_TAG_VALUE_CHARS / 2)])),
      }),
    ),
  );
  d = dev('minus-zero');
  out.push(accepted('-0 keeps its sign', d, `{"schemaVersion":1,"deviceId":"${d}","ts":${now - 50_000},"metric":"temp_c","value":-0}`));
  d = dev('max-double');
  out.push(accepted('the largest double', d, json({ ...base(d, i), value: Number.MAX_VALUE })));
  d = dev('min-double');
  out.push(accepted('the smallest subnormal', d, json({ ...base(d, i), value: Number.MIN_VALUE })));
  d = dev('beyond-precision');
  out.push(
    accepted(
      'digits beyond a double (the nearest double is stored)',
      d,
      `{"schemaVersion":1,"deviceId":"${d}","ts":${now - 40_000},"metric":"temp_c","value":9007199254740993}`,
    ),
  );
  d = dev('empty-tags');
  out.push(accepted('empty tags', d, json({ ...base(d, i), tags: {} })));

  d = dev('future');
  out.push(rejected('a clock three years ahead', d, json({ ...base(d, i), ts: now + 3 * 365 * 86_400_000 }), /^clock_skew: ts: /));
  d = dev('lone-surrogate');
  out.push(rejected('a lone surrogate', d, json({ ...base(d, i), tags: { site: '\ud800' } }), /^schema_violation: telemetry\.reading v1: tags\.site: /));
  d = dev('invalid-utf8');
  const bytes = Buffer.from(json({ ...base(d, i), tags: { site: 'XX' } }));
  bytes.fill(0xff, bytes.indexOf('XX'), bytes.indexOf('XX') + 2);
  out.push(rejected('bytes that are not UTF-8', d, bytes, /^invalid_utf8: tags\.site: /));
  d = dev('proto');
  out.push(
    rejected(
      'a __proto__ tag',
      d,
      `{"schemaVersion":1,"deviceId":"${d}","ts":${now},"metric":"temp_c","value":1,"tags":{"__proto__":"x"}}`,
      /tags\.__proto__: /,
    ),
  );
  d = dev('has-own-property');
  out.push(
    rejected(
      'a hasOwnProperty tag (it crashed the Cassandra driver)',
      d,
      json({ ...base(d, i), tags: { hasOwnProperty: 'h' } }),
      /^schema_violation: telemetry\.reading v1: tags\.hasOwnProperty: /,
    ),
  );
  d = dev('long-id');
  out.push(
    rejected(
      'a device id over its limit',
      d,
      json({ ...base(d, i), deviceId: d.padEnd(129, 'x') }),
      /^schema_violation: telemetry\.reading v1: deviceId: /,
      d.padEnd(129, 'x'),
    ),
  );
  d = dev('many-tags');
  out.push(
    rejected(
      'too many tags',
      d,
      json({ ...base(d, i), tags: Object.fromEntries(Array.from({ length: MAX_TAGS + 1 }, (_, t) => [`k${t}`, 'v'])) }),
      /^schema_violation: telemetry\.reading v1: tags: /,
    ),
  );
  d = dev('overflow');
  out.push(
    rejected(
      'a number beyond a double',
      d,
      `{"schemaVersion":1,"deviceId":"${d}","ts":${now},"metric":"temp_c","value":1e400}`,
      /^schema_violation: telemetry\.reading v1: value: /,
    ),
  );
  d = dev('deep');
  out.push(
    rejected(
      'a deeply nested value',
      d,
      `{"schemaVersion":1,"deviceId":"${d}","ts":${now},"metric":"temp_c","value":${'['.repeat(50_000)}${']'.repeat(50_000)}}`,
      /^schema_violation: telemetry\.reading v1: value: /,
    ),
  );
  d = dev('huge');
  out.push(rejected('a huge field', d, json({ ...base(d, i), note: 'x'.repeat(500_000) }), /^schema_violation: telemetry\.reading v1: note: unknown field/));
  d = dev('no-key');
  out.push(rejected('no Kafka key', d, json(base(d, i)), /^key_mismatch: deviceId: /, null));
  return out;
}

/** One request per record: the huge ones stay under the broker's request limit whatever they share a partition with. */
async function send(producer: Producer, batch: readonly { key: string | null; value: Buffer }[]): Promise<void> {
  for (const m of batch) await producer.send({ topic: topics.raw.name, acks: -1, messages: [{ key: m.key, value: m.value }] });
}

/** A map's entries in key order (Cassandra returns a map sorted by key); null stays distinct from {}. */
const sortedEntries = (m: unknown): string =>
  m === null || typeof m !== 'object' ? String(m) : JSON.stringify(Object.entries(m).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));

const show = (v: unknown): string => (typeof v === 'object' ? sortedEntries(v) : Object.is(v, -0) ? '-0' : JSON.stringify(v));

/** Strict, field for field: -0 is not 0, and no tags is not empty tags. */
function sameReading(expected: TelemetryReading, got: StoredReading | LakeRow): string | undefined {
  const want = {
    schemaVersion: expected.schemaVersion,
    deviceId: expected.deviceId,
    ts: expected.ts,
    metric: expected.metric,
    value: expected.value,
    tags: expected.tags ?? null,
    unit: expected.unit ?? null,
  };
  const have = {
    schemaVersion: got.schemaVersion,
    deviceId: got.deviceId,
    ts: got.ts,
    metric: got.metric,
    value: got.value,
    tags: got.tags,
    unit: got.unit,
  };
  for (const k of Object.keys(want) as (keyof typeof want)[]) {
    const a = want[k];
    const b = have[k];
    const same = typeof a === 'object' && a !== null ? sortedEntries(a) === sortedEntries(b) : Object.is(a, b);
    if (!same) return `${k}: stored ${show(b)}, sent ${show(a)}`;
  }
  return undefined;
}

const deadLetterOf = (dlq: readonly TopicRecord[], deviceId: string, key: string | null) =>
  dlq.find((m) => m.key === key && (m.value?.toString('utf8').includes(deviceId) ?? false));

describe('hostile input through the real pipeline', () => {
  let run: Scenario;
  let producer: Producer;

  beforeAll(async () => {
    run = await Scenario.fresh('hostile-input');
    await run.startConsumers();
    producer = testKafka('sdp-integration-hostile').producer({ allowAutoTopicCreation: false });
    await producer.connect();
  }, 240_000);

  afterAll(async () => {
    await producer?.disconnect();
    await run?.close();
  }, 120_000);

  test('each record is stored exactly as sent in both stores, or dead-lettered with a reason naming the field', async () => {
    const all = cases();
    await send(
      producer,
      all.map((c) => ({ key: c.key, value: c.bytes })),
    );
    const stored = all.flatMap((c) => ('stored' in c.expect ? [{ name: c.name, reading: c.expect.stored }] : []));
    const dead = all.flatMap((c) => ('dlq' in c.expect ? [{ name: c.name, deviceId: c.deviceId, key: c.key, reason: c.expect.dlq }] : []));
    const wait = { timeoutMs: 240_000, intervalMs: 2_000, guard: run.guard };

    const dlq = await waitFor(
      'every rejected record in the DLQ',
      async () => {
        const records = await readTopic(topics.deadLetter.name);
        const missing = dead.filter((c) => !deadLetterOf(records, c.deviceId, c.key));
        return missing.length === 0 ? done(records) : pending(`missing: ${missing.map((c) => c.name).join(', ')}`);
      },
      wait,
    );
    const [rows, lake] = await waitFor(
      'every accepted reading in Cassandra and the lake',
      async () => {
        const [cassandra, objects] = await Promise.all([readReadings(), run.lakeObjects()]);
        const lakeRows = objects.flatMap((o) => o.rows);
        const missing = stored.filter(
          (s) => !cassandra.some((r) => r.deviceId === s.reading.deviceId) || !lakeRows.some((r) => r.deviceId === s.reading.deviceId),
        );
        return missing.length === 0 ? done([cassandra, lakeRows] as const) : pending(`missing: ${missing.map((s) => s.name).join(', ')}`);
      },
      wait,
    );

    const problems: string[] = [];
    for (const s of stored) {
      const inCassandra = rows.filter((r) => r.deviceId === s.reading.deviceId);
      const inLake = lake.filter((r) => r.deviceId === s.reading.deviceId);
      if (inCassandra.length !== 1 || inLake.length !== 1) problems.push(`${s.name}: ${inCassandra.length} rows in Cassandra, ${inLake.length} in the lake`);
      for (const [store, row] of [
        ['Cassandra', inCassandra[0]],
        ['lake', inLake[0]],
      ] as const) {
        const diff = row && sameReading(s.reading, row);
        if (diff) problems.push(`${s.name} (${store}): ${diff}`);
      }
    }
    for (const c of dead) {
      const m = deadLetterOf(dlq, c.deviceId, c.key) as TopicRecord;
      const reason = m.headers[dlqHeaders.reason] ?? '';
      if (!c.reason.test(reason)) problems.push(`${c.name}: DLQ reason "${reason.slice(0, 200)}" does not match ${c.reason}`);
      if (rows.some((r) => r.deviceId === c.deviceId)) problems.push(`${c.name}: rejected, yet in Cassandra`);
    }
    expect(problems).toEqual([]);
  }, 300_000);
});
