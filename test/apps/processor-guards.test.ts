/**
 * One record must not change the results of others: the processor with its real windows, fed a
 * fleet of honest devices plus one hostile record (a clock years or minutes ahead, very late data,
 * duplicates, an out-of-order device, a flood, a missing or foreign Kafka key, bad UTF-8). The
 * honest devices' aggregates are compared with a reference computed here, not with counters.
 */
import type { Batch } from 'kafkajs';
import pino from 'pino';
import { READING_SCHEMA_VERSION, TelemetryAggregate, TelemetryReading } from '../../apps/contracts/telemetry';
import { dlqHeaders, topics } from '../../apps/contracts/topics';
import { runningBatchContext, runningIdleContext } from './batch-context';
import { loadConfig } from '../../apps/lib/config';
import { createMetrics } from '../../apps/lib/metrics';
import { processorEnv } from '../../apps/processor/config';
import { decodeCommitMetadata } from '../../apps/processor/offsets';
import { Processor } from '../../apps/processor/processor';
import { PartitionWindows } from '../../apps/processor/windows';
import { fakeTransactions } from './fake-transactions';

const logger = pino({ level: 'silent' });
const MINUTE = 60_000;
const LATENESS = 10_000;
/** The start of a minute; the test's wall clock runs from here. */
const T = Math.floor(Date.UTC(2026, 5, 1, 12) / MINUTE) * MINUTE;
const YEAR = 365 * 86_400_000;

interface Raw {
  readonly key: string | null;
  readonly value: Buffer;
  /** The reading, when the record is one (for the reference). */
  readonly reading?: TelemetryReading;
}

/** Of the newest version, so the clean topic carries it unchanged (a v1 reading would come out upcast). */
const reading = (deviceId: string, ts: number, value: number, metric = 'temperature'): TelemetryReading => ({
  schemaVersion: READING_SCHEMA_VERSION,
  deviceId,
  ts,
  metric,
  value,
});
const raw = (r: TelemetryReading, key: string | null = r.deviceId): Raw => ({ key, value: Buffer.from(JSON.stringify(r)), reading: r });

const HONEST = ['dev-a', 'dev-b', 'dev-c'];

/** Three honest devices, one reading each per 10 s during minutes 0..2 (values distinct per device). */
function fleet(): TelemetryReading[] {
  const out: TelemetryReading[] = [];
  for (let s = 0; s < 180; s += 10) for (const [i, d] of HONEST.entries()) out.push(reading(d, T + s * 1_000 + i, 100 * i + s / 10));
  return out;
}

interface ExpectedAggregate {
  count: number;
  min: number;
  max: number;
  sum: number;
  last: number;
  lastTs: number;
}

/** Tumbling 1-minute windows by (device, metric), computed independently of apps/processor/windows.ts. */
function reference(readings: readonly TelemetryReading[]): Map<string, ExpectedAggregate> {
  const out = new Map<string, ExpectedAggregate>();
  for (const r of readings) {
    const key = `${r.deviceId}|${r.metric}|${r.ts - (r.ts % MINUTE)}`;
    const a = out.get(key);
    if (!a) out.set(key, { count: 1, min: r.value, max: r.value, sum: r.value, last: r.value, lastTs: r.ts });
    else {
      a.count++;
      a.min = Math.min(a.min, r.value);
      a.max = Math.max(a.max, r.value);
      a.sum += r.value;
      if (r.ts >= a.lastTs) [a.last, a.lastTs] = [r.value, r.ts];
    }
  }
  return out;
}

const summary = (a: TelemetryAggregate): [string, ExpectedAggregate] => [
  `${a.deviceId}|${a.metric}|${a.windowStart}`,
  { count: a.count, min: a.min, max: a.max, sum: a.sum, last: a.last, lastTs: a.lastTs },
];

/**
 * Feeds `records` to a processor on partition 0 in batches of `batchSize`, the wall clock at the
 * newest honest event time seen so far (plus 1 s), then idles the partition so every window
 * closes. Returns what became visible.
 */
async function run(records: readonly Raw[], opts: { maxClockSkewMs?: number; batchSize?: number } = {}) {
  const txns = fakeTransactions();
  const metrics = createMetrics('processor');
  let clock = T;
  const processor = new Processor({
    begin: txns.begin,
    topics: { raw: topics.raw.name, clean: topics.clean.name, aggregates: topics.aggregates.name, deadLetter: topics.deadLetter.name },
    logger,
    metrics,
    allowedLatenessMs: LATENESS,
    idleFlushMs: 15_000,
    maxClockSkewMs: opts.maxClockSkewMs,
    wallClock: () => clock,
  });
  const ctx = runningBatchContext(logger, metrics);
  processor.assign(new Map([[0, undefined]]));
  const size = opts.batchSize ?? 9;
  const watermarks: number[] = [];
  for (let from = 0; from < records.length; from += size) {
    const chunk = records.slice(from, from + size);
    const honest = chunk.flatMap((r) => (r.reading && HONEST.includes(r.reading.deviceId) ? [r.reading.ts] : []));
    if (honest.length > 0) clock = Math.max(clock, Math.max(...honest) + 1_000);
    await processor.handleBatch(batchOf(chunk, from), ctx);
    const meta = decodeCommitMetadata(txns.commits[txns.commits.length - 1].metadata);
    watermarks.push(meta?.watermark ?? -Infinity);
  }
  const idle = runningIdleContext(logger, metrics);
  // Idle by the real clock (the one `lastActivity` is stamped with), which is past every window.
  await processor.flushIdle(Date.now() + 16_000, idle);
  const of = (topic: string) => txns.visible.filter((t) => t.topic === topic).flatMap((t) => t.messages);
  const aggregates = of(topics.aggregates.name).map((m) => JSON.parse(String(m.value)) as TelemetryAggregate);
  const dead = of(topics.deadLetter.name).map((m) => ({ key: m.key, value: String(m.value), reason: String(m.headers?.[dlqHeaders.reason]) }));
  const clean = of(topics.clean.name).map((m) => JSON.parse(String(m.value)) as TelemetryReading);
  const text = await metrics.registry.metrics();
  const late = Number(/^sdp_late_events_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
  return { aggregates, dead, clean, watermarks, late, text };
}

function batchOf(records: readonly Raw[], firstOffset: number): Batch {
  const messages = records.map((r, i) => ({
    offset: String(firstOffset + i),
    key: r.key === null ? null : Buffer.from(r.key),
    value: r.value,
    timestamp: String(T),
    attributes: 0,
    headers: {},
  }));
  return {
    topic: topics.raw.name,
    partition: 0,
    highWatermark: String(firstOffset + records.length),
    messages,
    isEmpty: () => messages.length === 0,
    firstOffset: () => messages[0].offset,
    lastOffset: () => messages[messages.length - 1].offset,
    offsetLag: () => '0',
    offsetLagLow: () => '0',
  } as Batch;
}

/** The honest devices' aggregates, as emitted. */
const honestAggregates = (aggregates: readonly TelemetryAggregate[]) => new Map(aggregates.filter((a) => HONEST.includes(a.deviceId)).map(summary));

/** Inserts `hostile` after the first `at` honest records. */
function withHostile(hostile: readonly Raw[], at = 4): { records: Raw[]; honest: TelemetryReading[] } {
  const honest = fleet();
  const records = honest.map((r) => raw(r));
  records.splice(at, 0, ...hostile);
  return { records, honest };
}

describe('one record cannot change the results of others', () => {
  test('the fleet alone: every aggregate equals the reference (the yardstick for the cases below)', async () => {
    const honest = fleet();
    const out = await run(honest.map((r) => raw(r)));
    expect(honestAggregates(out.aggregates)).toEqual(reference(honest));
    expect(out.dead).toEqual([]);
    expect(out.late).toBe(0);
  });

  describe('a clock years ahead', () => {
    const future = reading('broken-clock', T + 3 * YEAR, 42);

    test('goes to the DLQ naming ts, reaches neither clean nor any window, and the other devices aggregate exactly', async () => {
      const { records, honest } = withHostile([raw(future)]);
      const out = await run(records);
      expect(out.dead).toEqual([
        {
          key: Buffer.from('broken-clock'),
          value: JSON.stringify(future),
          reason: expect.stringMatching(/^clock_skew: ts: .* ahead of the processor's clock/),
        },
      ]);
      expect(out.clean.filter((r) => r.deviceId === 'broken-clock')).toEqual([]);
      expect(out.aggregates.filter((a) => a.deviceId === 'broken-clock')).toEqual([]);
      expect(honestAggregates(out.aggregates)).toEqual(reference(honest));
      expect(out.late).toBe(0);
      // It never moved the watermark: every committed watermark is behind the wall clock.
      expect(Math.max(...out.watermarks)).toBeLessThan(T + 4 * MINUTE);
      expect(out.text).toContain('sdp_dlq_records_total{reason="clock_skew",app="processor"} 1');
    });

    test('with the bound lifted, it is stored, and the clock ceiling alone still keeps the others exact', async () => {
      const { records, honest } = withHostile([raw(future)]);
      const out = await run(records, { maxClockSkewMs: 10 * YEAR });
      expect(out.clean).toContainEqual(future);
      expect(honestAggregates(out.aggregates)).toEqual(reference(honest));
      expect(out.late).toBe(0);
    });

    test('the damage both layers prevent: counted at its own event time, it makes every later reading late', () => {
      const { records, honest } = withHostile([raw(future)]);
      const windows = new PartitionWindows(LATENESS);
      const outcomes = records.map((r, offset) => (r.reading ? windows.add(r.reading, offset) : 'skipped'));
      expect(outcomes.filter((o) => o === 'late')).toHaveLength(honest.length - 4);
    });
  });

  test('a clock minutes ahead but within the bound is stored and aggregated, and moves the watermark only to the present', async () => {
    const ahead = reading('fast-clock', T + 4 * MINUTE + 30_000, 7);
    const { records, honest } = withHostile([raw(ahead)]);
    const out = await run(records);
    expect(out.dead).toEqual([]);
    expect(out.clean).toContainEqual(ahead);
    expect(honestAggregates(out.aggregates)).toEqual(reference(honest));
    expect(out.aggregates.filter((a) => a.deviceId === 'fast-clock').map(summary)).toEqual([...reference([ahead])]);
    expect(out.late).toBe(0);
  });

  test('very late data is stored, counted late and aggregated nowhere; it does not move the watermark back', async () => {
    const old = reading('dev-offline', T - 60 * MINUTE, 5);
    const honest = fleet();
    const records = honest.map((r) => raw(r));
    records.splice(60, 0, raw(old));
    const out = await run(records);
    expect(out.clean).toContainEqual(old);
    expect(out.late).toBe(1);
    expect(honestAggregates(out.aggregates)).toEqual(reference(honest));
    expect(out.watermarks).toEqual([...out.watermarks].sort((a, b) => a - b));
  });

  test('a duplicated reading changes its own device’s aggregate only', async () => {
    const honest = fleet();
    const records = honest.map((r) => raw(r));
    const dup = honest[10];
    records.splice(11, 0, raw(dup));
    const out = await run(records);
    const got = honestAggregates(out.aggregates);
    const expected = reference([...honest, dup]);
    expect(got).toEqual(expected);
    // Everyone else's windows are exactly the fleet's alone.
    const clean = reference(honest);
    const differing = [...expected.keys()].filter((k) => JSON.stringify(expected.get(k)) !== JSON.stringify(clean.get(k)));
    expect(differing).toEqual([`${dup.deviceId}|${dup.metric}|${dup.ts - (dup.ts % MINUTE)}`]);
  });

  test('an out-of-order device: readings within the lateness are aggregated, older ones are late, others exact', async () => {
    const honest = fleet();
    const records = honest.map((r) => raw(r));
    const now = honest[40].ts;
    const withinLateness = reading('dev-shuffled', now - 5_000, 1);
    const beyond = reading('dev-shuffled', now - 60_000 - LATENESS, 2);
    records.splice(41, 0, raw(reading('dev-shuffled', now, 3)), raw(withinLateness), raw(beyond));
    const out = await run(records);
    expect(out.late).toBe(1);
    expect(out.aggregates.filter((a) => a.deviceId === 'dev-shuffled').map(summary)).toEqual([...reference([reading('dev-shuffled', now, 3), withinLateness])]);
    expect(new Map([...honestAggregates(out.aggregates)].filter(([k]) => !k.startsWith('dev-shuffled')))).toEqual(reference(honest));
  });

  test('a device flooding the partition is aggregated in full, and the others exactly', async () => {
    const honest = fleet();
    const flood = Array.from({ length: 3_000 }, (_, i) => reading('flooder', T + 61_000 + (i % 50), i));
    const records = honest.map((r) => raw(r));
    records.splice(20, 0, ...flood.map((r) => raw(r)));
    const out = await run(records, { batchSize: 500 });
    expect(out.aggregates.filter((a) => a.deviceId === 'flooder').map(summary)).toEqual([...reference(flood)]);
    expect(honestAggregates(out.aggregates)).toEqual(reference(honest));
    expect(out.late).toBe(0);
  });

  test.each([
    ['no Kafka key', null, /^key_mismatch: deviceId: the record has no Kafka key/],
    ['a key that is another device', 'dev-a', /^key_mismatch: deviceId: the record's Kafka key "dev-a" is not its deviceId \("stray"\)/],
  ])('a reading with %s goes to the DLQ naming deviceId and splits no window', async (_, key, reason) => {
    const stray = reading('stray', T + 5_000, 9);
    const { records, honest } = withHostile([raw(stray, key)]);
    const out = await run(records);
    expect(out.dead).toEqual([{ key: key === null ? null : Buffer.from(key), value: JSON.stringify(stray), reason: expect.stringMatching(reason) }]);
    expect(out.clean.filter((r) => r.deviceId === 'stray')).toEqual([]);
    expect(out.aggregates.filter((a) => a.deviceId === 'stray')).toEqual([]);
    expect(honestAggregates(out.aggregates)).toEqual(reference(honest));
  });

  test('bytes that are not UTF-8 go to the DLQ naming the field, instead of being stored with U+FFFD', async () => {
    const text = JSON.stringify({ ...reading('dev-bytes', T + 5_000, 1), tags: { site: 'XX' } });
    const bytes = Buffer.from(text);
    const at = text.indexOf('XX');
    bytes[at] = 0xff;
    bytes[at + 1] = 0xfe;
    const { records, honest } = withHostile([{ key: 'dev-bytes', value: bytes }]);
    const out = await run(records);
    expect(out.dead.map((d) => d.reason)).toEqual([expect.stringMatching(/^invalid_utf8: tags\.site: the record's \d+ bytes are not valid UTF-8/)]);
    expect(out.clean.filter((r) => r.deviceId === 'dev-bytes')).toEqual([]);
    expect(honestAggregates(out.aggregates)).toEqual(reference(honest));
  });
});

describe('a replay long after the first run', () => {
  test('rebuilds the same aggregates from the committed floor, although a reading ahead of the clock is replayed with a later clock', async () => {
    const honest = fleet();
    const records = honest.map((r) => raw(r));
    // Within the bound: it keeps its window open, so the committed floor is its offset and it is replayed.
    records.splice(2, 0, raw(reading('fast-clock', T + 4 * MINUTE, 7)));
    const txns = fakeTransactions();
    const clock = { now: T };
    const start = (restored?: ReturnType<typeof decodeCommitMetadata>) => {
      const metrics = createMetrics('processor');
      const processor = new Processor({
        begin: txns.begin,
        topics: { raw: topics.raw.name, clean: topics.clean.name, aggregates: topics.aggregates.name, deadLetter: topics.deadLetter.name },
        logger,
        metrics,
        allowedLatenessMs: LATENESS,
        wallClock: () => clock.now,
      });
      processor.assign(new Map([[0, restored]]));
      const ctx = runningBatchContext(logger, metrics);
      return { processor, ctx, metrics };
    };

    const first = start();
    for (let from = 0; from < 31; from += 9) {
      const chunk = records.slice(from, Math.min(from + 9, 31));
      clock.now = Math.max(...chunk.flatMap((r) => (r.reading && HONEST.includes(r.reading.deviceId) ? [r.reading.ts] : []))) + 1_000;
      await first.processor.handleBatch(batchOf(chunk, from), first.ctx);
    }
    const commit = txns.commits[txns.commits.length - 1];
    expect(Number(commit.offset)).toBe(2);

    // The first member dies; its successor resumes from the commit an hour later.
    clock.now += 60 * MINUTE;
    const second = start(decodeCommitMetadata(commit.metadata));
    await second.processor.handleBatch(batchOf(records.slice(2), 2), second.ctx);
    await second.processor.flushIdle(Date.now() + 16_000, runningIdleContext(logger, second.metrics));

    const emitted = txns.visible
      .filter((t) => t.topic === topics.aggregates.name)
      .flatMap((t) => t.messages)
      .map((m) => JSON.parse(String(m.value)) as TelemetryAggregate)
      .filter((a) => HONEST.includes(a.deviceId));
    expect(emitted).toHaveLength(reference(honest).size);
    expect(honestAggregates(emitted)).toEqual(reference(honest));
  });
});

describe('PROCESSOR_MAX_CLOCK_SKEW_MS', () => {
  const env = { KAFKA_BROKERS: '127.0.0.1:9092' };

  test('defaults to 5 minutes, and a bad value is named', () => {
    expect(loadConfig(processorEnv, env).PROCESSOR_MAX_CLOCK_SKEW_MS).toBe(300_000);
    expect(() => loadConfig(processorEnv, { ...env, PROCESSOR_MAX_CLOCK_SKEW_MS: '-1' })).toThrow(/PROCESSOR_MAX_CLOCK_SKEW_MS: Too small/);
  });
});
