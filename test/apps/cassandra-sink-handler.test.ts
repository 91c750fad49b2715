import { errors, types } from 'cassandra-driver';
import type { Batch, KafkaMessage } from 'kafkajs';
import { Counter } from 'prom-client';
import { dlqHeaders, readingsTable, TelemetryReading, topics } from '../../apps/contracts';
import { planWrites } from '../../apps/cassandra-sink/batching';
import { deadLetterMessage, DeadLetterSink, Rejection, RecordSource } from '../../apps/lib/dead-letter';
import { PauseGate } from '../../apps/lib/flow-control';
import { jsonDecoder } from '../../apps/lib/records';
import { HeartbeatFailedError, RetriesExhaustedError } from '../../apps/lib/retry';
import { cassandraSinkHandler, contractRoutes } from '../../apps/cassandra-sink/sink';
import { aggregatesWriter, readingsWriter } from '../../apps/cassandra-sink/statements';
import { CassandraWriter, CqlSession, WriteOptions } from '../../apps/cassandra-sink/writer';
import { telemetryReadingSchema } from '../../apps/contracts';
import { cassandraSinkEnv, retryPolicyOf } from '../../apps/cassandra-sink/config';
import { loadConfig } from '../../apps/lib/config';
import { createLogger } from '../../apps/lib/logger';
import { createMetrics } from '../../apps/lib/metrics';
import type { BatchContext } from '../../apps/lib/consumer';

const T0 = Date.UTC(2024, 5, 1, 12);
const reading = (deviceId: string, i: number): TelemetryReading => ({ schemaVersion: 2, deviceId, ts: T0 + i, metric: 'temp_c', value: i });

function message(offset: number, value: unknown, timestamp = Date.now() - 1_000): KafkaMessage {
  return {
    key: Buffer.from('k'),
    value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    timestamp: String(timestamp),
    attributes: 0,
    offset: String(offset),
    headers: { traceparent: 'abc' },
  } as KafkaMessage;
}

function batchOf(topic: string, partition: number, messages: KafkaMessage[]): Batch {
  return {
    topic,
    partition,
    highWatermark: String(Number(messages[messages.length - 1].offset) + 1),
    messages,
    isEmpty: () => messages.length === 0,
    firstOffset: () => messages[0].offset,
    lastOffset: () => messages[messages.length - 1].offset,
    offsetLag: () => '0',
    offsetLagLow: () => '0',
  };
}

/** Records every request; `fail(n, err)` makes the next n requests fail. */
class FakeSession implements CqlSession {
  readonly requests: { kind: 'execute' | 'batch'; statements: { query: string; params: unknown[] }[]; options: WriteOptions }[] = [];
  inFlight = 0;
  peak = 0;
  private failures: unknown[] = [];

  fail(n: number, err: unknown): void {
    for (let i = 0; i < n; i++) this.failures.push(err);
  }

  async execute(query: string, params: unknown[], options: WriteOptions) {
    return this.request('execute', [{ query, params }], options);
  }

  async batch(queries: { query: string; params: unknown[] }[], options: WriteOptions) {
    return this.request('batch', queries, options);
  }

  private async request(kind: 'execute' | 'batch', statements: { query: string; params: unknown[] }[], options: WriteOptions) {
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
    await new Promise((r) => setImmediate(r));
    this.inFlight--;
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.requests.push({ kind, statements, options });
    return undefined;
  }

  get rowsWritten(): number {
    return this.requests.reduce((n, r) => n + r.statements.length, 0);
  }
}

class FakeDlq implements DeadLetterSink {
  readonly sent: { source: RecordSource; rejections: readonly Rejection[] }[] = [];
  async send(source: RecordSource, rejections: readonly Rejection[]) {
    if (rejections.length > 0) this.sent.push({ source, rejections });
  }
}

function ctxOf(over: Partial<BatchContext> = {}): BatchContext & { pauses: string[] } {
  const pauses: string[] = [];
  return {
    logger: createLogger('test', 'silent'),
    metrics: createMetrics('test'),
    generation: 1,
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
    pause: () => pauses.push('pause'),
    resume: () => pauses.push('resume'),
    pauses,
    ...over,
  };
}

const fastRetry = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxRetryMs: 50 };

function setup(opts: { concurrency?: number; maxRetryMs?: number } = {}) {
  const session = new FakeSession();
  const metrics = createMetrics('cassandra-sink-test');
  const writeRetries = new Counter({ name: 'sdp_write_retries_total', help: 'x', labelNames: ['kind'], registers: [metrics.registry] });
  const dlq = new FakeDlq();
  const fatal: unknown[] = [];
  const gate = new PauseGate();
  const writer = new CassandraWriter(session, {
    concurrency: opts.concurrency ?? 4,
    retry: { ...fastRetry, maxRetryMs: opts.maxRetryMs ?? fastRetry.maxRetryMs },
  });
  const handler = cassandraSinkHandler({
    routes: contractRoutes(
      { clean: topics.clean.name, aggregates: topics.aggregates.name },
      { readings: readingsWriter('ks'), aggregates: aggregatesWriter('ks') },
    ),
    writer,
    deadLetters: dlq,
    gate,
    metrics: { ...metrics, writeRetries },
    logger: createLogger('test', 'silent'),
    onFatal: (err) => fatal.push(err),
  });
  return { session, metrics, writeRetries, dlq, fatal, handler };
}

describe('cassandra sink batch handler', () => {
  it('writes valid readings, dead-letters the rest, and commits the offset after the last record', async () => {
    const { session, dlq, handler, metrics } = setup();
    const messages = [
      ...Array.from({ length: 40 }, (_, i) => message(100 + i, reading(`dev-${i % 3}`, i))),
      message(140, '{not json'),
      message(141, { ...reading('dev-1', 1), deviceId: 'bad id!' }),
      message(142, null),
    ];
    const result = await handler(batchOf(topics.clean.name, 5, messages), ctxOf());

    expect(result).toBe('143');
    expect(session.rowsWritten).toBe(40);
    for (const r of session.requests) {
      expect(r.statements.every((s) => s.query.startsWith(`INSERT INTO ks.${readingsTable.name} `))).toBe(true);
      expect(r.statements.length).toBeLessThanOrEqual(30);
    }
    expect(dlq.sent).toHaveLength(1);
    expect(dlq.sent[0].source).toEqual({ topic: topics.clean.name, partition: 5 });
    expect(dlq.sent[0].rejections.map((r) => [r.message.offset, r.reason])).toEqual([
      ['140', 'invalid_json'],
      ['141', 'schema_violation'],
      ['142', 'empty_value'],
    ]);
    expect((await metrics.recordsOut.get()).values).toEqual([expect.objectContaining({ value: 40, labels: { topic: readingsTable.name } })]);
    const latency = (await metrics.endToEndLatency.get()).values.find((v) => v.metricName === 'sdp_end_to_end_latency_seconds_count');
    expect(latency?.value).toBe(40);
  });

  it('uses idempotent LOCAL_QUORUM prepared statements, UNLOGGED batches, and plain execute for one row', async () => {
    const { session, handler } = setup();
    await handler(
      batchOf(topics.clean.name, 0, [...Array.from({ length: 3 }, (_, i) => message(i, reading('dev-a', i))), message(3, reading('dev-b', 0))]),
      ctxOf(),
    );
    const batch = session.requests.find((r) => r.kind === 'batch');
    const single = session.requests.find((r) => r.kind === 'execute');
    expect(batch?.options).toEqual({ prepare: true, isIdempotent: true, consistency: types.consistencies.localQuorum, logged: false });
    expect(batch?.statements).toHaveLength(3);
    expect(single?.options).toEqual({ prepare: true, isIdempotent: true, consistency: types.consistencies.localQuorum });
  });

  it('routes the aggregates topic to the aggregates table', async () => {
    const { session, handler } = setup();
    const agg = {
      schemaVersion: 1,
      deviceId: 'd',
      metric: 'm',
      windowStart: T0,
      windowEnd: T0 + 60_000,
      count: 2,
      min: 1,
      max: 2,
      avg: 1.5,
      sum: 3,
      last: 2,
      lastTs: T0 + 5,
    };
    expect(await handler(batchOf(topics.aggregates.name, 1, [message(7, agg)]), ctxOf())).toBe('8');
    expect(session.requests[0].statements[0].query).toMatch(/^INSERT INTO ks\.aggregates_by_device_minute /);
  });

  it('retries transient failures, counts them, and still commits', async () => {
    const { session, handler, writeRetries } = setup();
    session.fail(2, new errors.ResponseError(types.responseErrorCodes.writeTimeout, 'timeout'));
    const result = await handler(batchOf(topics.clean.name, 0, [message(0, reading('dev-a', 0))]), ctxOf());
    expect(result).toBe('1');
    expect(session.rowsWritten).toBe(1);
    expect((await writeRetries.get()).values).toEqual([expect.objectContaining({ value: 2, labels: { kind: 'write_timeout' } })]);
  });

  it('pauses while the store keeps failing and resumes when it recovers', async () => {
    const { session, handler } = setup();
    session.fail(3, new errors.NoHostAvailableError({}));
    const ctx = ctxOf();
    expect(await handler(batchOf(topics.clean.name, 0, [message(0, reading('dev-a', 0))]), ctx)).toBe('1');
    expect(ctx.pauses).toEqual(['pause', 'resume']);
  });

  it('never commits when retries are exhausted: reports fatal and throws', async () => {
    const { session, handler, fatal } = setup({ maxRetryMs: 5 });
    session.fail(1_000, new errors.ResponseError(types.responseErrorCodes.writeTimeout, 'timeout'));
    const run = handler(batchOf(topics.clean.name, 0, [message(0, reading('dev-a', 0))]), ctxOf());
    await expect(run).rejects.toBeInstanceOf(RetriesExhaustedError);
    expect(fatal).toHaveLength(1);
    expect(session.rowsWritten).toBe(0);
  });

  it('does not retry a fatal error and does not commit', async () => {
    const { session, handler, fatal } = setup();
    session.fail(1, new errors.ResponseError(types.responseErrorCodes.invalid, 'Undefined column name'));
    await expect(handler(batchOf(topics.clean.name, 0, [message(0, reading('dev-a', 0))]), ctxOf())).rejects.toThrow('Undefined column name');
    expect(fatal).toHaveLength(1);
  });

  it('abandons without committing when the consumer stops mid-retry', async () => {
    const { session, handler, fatal } = setup();
    session.fail(1_000, new errors.NoHostAvailableError({}));
    let running = true;
    const run = handler(batchOf(topics.clean.name, 0, [message(0, reading('dev-a', 0))]), ctxOf({ isRunning: () => running }));
    setTimeout(() => (running = false), 5);
    await expect(run).resolves.toBeUndefined();
    expect(fatal).toHaveLength(0);
  });

  it('rethrows a lost group membership during retries for a replay, without giving up the process', async () => {
    const { session, handler, fatal } = setup();
    session.fail(1_000, new errors.NoHostAvailableError({}));
    const rebalance = Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
    const run = handler(batchOf(topics.clean.name, 0, [message(0, reading('dev-a', 0))]), ctxOf({ heartbeat: () => Promise.reject(rebalance) }));
    await expect(run).rejects.toBeInstanceOf(HeartbeatFailedError);
    await expect(run).rejects.toMatchObject({ cause: rebalance });
    expect(fatal).toHaveLength(0);
  });

  it('rejects a topic it has no table for', async () => {
    const { handler } = setup();
    await expect(handler(batchOf('other.topic', 0, [message(0, reading('d', 0))]), ctxOf())).rejects.toThrow(/No table is mapped for topic other\.topic/);
  });
});

describe('CassandraWriter', () => {
  it('keeps at most `concurrency` requests in flight', async () => {
    const session = new FakeSession();
    const writer = new CassandraWriter(session, { concurrency: 3, retry: fastRetry });
    const w = readingsWriter('ks');
    const rows = Array.from({ length: 50 }, (_, i) => ({ writer: w, params: w.params(reading(`dev-${i}`, i)) }));
    await writer.write(planWrites(rows), { shouldContinue: () => true });
    expect(session.peak).toBe(3);
    expect(session.rowsWritten).toBe(50);
  });

  it('starts no further unit after one failed for good', async () => {
    const session = new FakeSession();
    const writer = new CassandraWriter(session, { concurrency: 1, retry: fastRetry });
    const w = readingsWriter('ks');
    const rows = Array.from({ length: 5 }, (_, i) => ({ writer: w, params: w.params(reading(`dev-${i}`, i)) }));
    session.fail(1, new errors.ResponseError(types.responseErrorCodes.syntaxError, 'bad'));
    await expect(writer.write(planWrites(rows), { shouldContinue: () => true })).rejects.toThrow('bad');
    expect(session.requests).toHaveLength(0);
  });
});

describe('dead-letter records', () => {
  it('keep the original key, value, timestamp and headers and add the contract context headers', () => {
    const original = message(41, '{oops', 1_700_000_000_000);
    const decoded = jsonDecoder(telemetryReadingSchema)(original.value);
    if (decoded.ok) throw new Error('expected a rejection');
    const dl = deadLetterMessage({ topic: topics.clean.name, partition: 3 }, { message: original, ...decoded }, 1_700_000_123_456);
    expect(dl.key).toBe(original.key);
    expect(dl.value).toBe(original.value);
    expect(dl.timestamp).toBe('1700000000000');
    expect(dl.headers).toEqual({
      traceparent: 'abc',
      [dlqHeaders.reason]: expect.stringMatching(/^invalid_json: /),
      [dlqHeaders.topic]: topics.clean.name,
      [dlqHeaders.partition]: '3',
      [dlqHeaders.offset]: '41',
      [dlqHeaders.exceptionClass]: 'SyntaxError',
      [dlqHeaders.failedAt]: '1700000123456',
    });
  });

  it('name the failing field for schema violations', () => {
    const decoded = jsonDecoder(telemetryReadingSchema)(Buffer.from(JSON.stringify({ ...reading('d', 0), value: 'hot' })));
    expect(decoded).toMatchObject({
      ok: false,
      reason: 'schema_violation',
      errorClass: 'ZodError',
      detail: expect.stringMatching(/^value: /),
    });
  });
});

function configError(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('cassandra sink config', () => {
  const minimal = {
    KAFKA_BROKERS: '127.0.0.1:9092',
    KAFKA_CLIENT_ID: 'cassandra-sink',
    CASSANDRA_CONTACT_POINTS: '127.0.0.1',
    CASSANDRA_KEYSPACE: 'telemetry_local',
  };

  it('applies the documented defaults', () => {
    const cfg = loadConfig(cassandraSinkEnv, minimal);
    expect(cfg).toMatchObject({
      CASSANDRA_SINK_CONCURRENCY: 32,
      CASSANDRA_SINK_CONNECTIONS_PER_HOST: 2,
      CASSANDRA_SINK_MAX_RETRY_MS: 300_000,
    });
    expect(retryPolicyOf(cfg)).toEqual({ maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5_000, maxRetryMs: 300_000 });
  });

  it('names every bad variable', () => {
    const problems = configError(() => loadConfig(cassandraSinkEnv, { ...minimal, CASSANDRA_SINK_CONCURRENCY: '0', CASSANDRA_KEYSPACE: '1bad' }));
    expect(problems).toMatch(/CASSANDRA_SINK_CONCURRENCY: /);
    expect(problems).toMatch(/CASSANDRA_KEYSPACE: must be a Cassandra identifier/);
    expect(() => loadConfig(cassandraSinkEnv, { ...minimal, CASSANDRA_SINK_RETRY_BASE_MS: '500', CASSANDRA_SINK_RETRY_MAX_DELAY_MS: '100' })).toThrow(
      /CASSANDRA_SINK_RETRY_MAX_DELAY_MS: must be >= CASSANDRA_SINK_RETRY_BASE_MS \(500\)/,
    );
  });
});
