/**
 * No poison pills in the Cassandra sink: a record the store refuses for its values goes to the
 * DLQ with the store's error, and the records batched with it and behind it are written; errors
 * that are transient, or wrong for every row, still retry or stop the process as before.
 */
import { errors, types } from 'cassandra-driver';
import type { Batch, KafkaMessage } from 'kafkajs';
import { Counter } from 'prom-client';
import { READING_SCHEMA_VERSION, TelemetryReading, topics } from '../../apps/contracts';
import { cassandraSinkHandler, contractRoutes } from '../../apps/cassandra-sink/sink';
import { aggregatesWriter, readingsWriter } from '../../apps/cassandra-sink/statements';
import { CassandraWriter, CqlSession } from '../../apps/cassandra-sink/writer';
import { isRowRejection } from '../../apps/cassandra-sink/write-errors';
import type { BatchContext } from '../../apps/lib/consumer';
import { runningBatchContext } from './batch-context';
import type { DeadLetterSink, Rejection, RecordSource } from '../../apps/lib/dead-letter';
import { PauseGate } from '../../apps/lib/flow-control';
import { createLogger } from '../../apps/lib/logger';
import { createMetrics } from '../../apps/lib/metrics';

const T0 = Date.UTC(2026, 5, 1, 12);
const POISON = 'poison';
const reading = (deviceId: string, i: number, tags?: Record<string, string>): TelemetryReading => ({
  schemaVersion: READING_SCHEMA_VERSION,
  deviceId,
  ts: T0 + i,
  metric: 'temp_c',
  value: i,
  ...(tags ? { tags } : {}),
});

const message = (offset: number, r: TelemetryReading): KafkaMessage =>
  ({
    key: Buffer.from(r.deviceId),
    value: Buffer.from(JSON.stringify(r)),
    timestamp: String(Date.now()),
    attributes: 0,
    offset: String(offset),
    headers: {},
  }) as KafkaMessage;

function batchOf(messages: KafkaMessage[]): Batch {
  return {
    topic: topics.clean.name,
    partition: 3,
    highWatermark: String(Number(messages[messages.length - 1].offset) + 1),
    messages,
    isEmpty: () => messages.length === 0,
    firstOffset: () => messages[0].offset,
    lastOffset: () => messages[messages.length - 1].offset,
    offsetLag: () => '0',
    offsetLagLow: () => '0',
  };
}

const guardrail = () =>
  new errors.ResponseError(types.responseErrorCodes.invalid, "Guardrail column_value_size violated: Value of column 'tags' has size 5KiB");

/**
 * Refuses, like a guardrail, every request holding a row whose tags carry the poison marker (a
 * whole batch fails, as Cassandra fails it); `systemic` makes every request fail with `err`.
 */
class StrictSession implements CqlSession {
  readonly written: unknown[][] = [];
  requests = 0;
  systemic: unknown;
  transient = 0;

  async execute(query: string, params: unknown[]) {
    return this.request([{ query, params }]);
  }

  async batch(queries: { query: string; params: unknown[] }[]) {
    return this.request(queries);
  }

  private async request(statements: { query: string; params: unknown[] }[]) {
    this.requests++;
    await new Promise((r) => setImmediate(r));
    if (this.systemic) throw this.systemic;
    if (this.transient > 0) {
      this.transient--;
      throw new errors.ResponseError(types.responseErrorCodes.writeTimeout, 'Operation timed out');
    }
    if (statements.some((s) => JSON.stringify(s.params).includes(POISON))) throw guardrail();
    for (const s of statements) this.written.push(s.params);
    return undefined;
  }
}

class FakeDlq implements DeadLetterSink {
  readonly rejections: Rejection[] = [];
  async send(_: RecordSource, rejections: readonly Rejection[]) {
    this.rejections.push(...rejections);
  }
}

const ctx = (): BatchContext => runningBatchContext(createLogger('test', 'silent'), createMetrics('test'));

function setup() {
  const session = new StrictSession();
  const metrics = createMetrics('cassandra-sink-poison');
  const writeRetries = new Counter({ name: 'sdp_write_retries_total', help: 'x', labelNames: ['kind'], registers: [metrics.registry] });
  const dlq = new FakeDlq();
  const fatal: unknown[] = [];
  const handler = cassandraSinkHandler({
    routes: contractRoutes(
      { clean: topics.clean.name, aggregates: topics.aggregates.name },
      { readings: readingsWriter('ks'), aggregates: aggregatesWriter('ks') },
    ),
    writer: new CassandraWriter(session, { concurrency: 4, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2, maxRetryMs: 5_000 } }),
    deadLetters: dlq,
    gate: new PauseGate(),
    metrics: { ...metrics, writeRetries },
    logger: createLogger('test', 'silent'),
    onFatal: (err) => fatal.push(err),
  });
  return { session, dlq, fatal, handler, metrics };
}

/** Device ids of the rows written. */
const devices = (session: StrictSession) => session.written.map((params) => params[1]);

describe('cassandra sink: a record the store refuses', () => {
  test('goes to the DLQ with the table and the store’s error; the rows in its batch and behind it are written and committed', async () => {
    const { session, dlq, fatal, handler, metrics } = setup();
    // A first batch proves the statement works.
    expect(await handler(batchOf([message(0, reading('dev-a', 0))]), ctx())).toBe('1');
    // One device, one Cassandra partition: the poison row shares an UNLOGGED batch with 4 others.
    const rows = [1, 2, 3, 4, 5].map((i) => reading('dev-a', i, i === 3 ? { note: POISON } : undefined));
    const result = await handler(batchOf(rows.map((r, i) => message(1 + i, r))), ctx());
    expect(result).toBe('6');
    expect(fatal).toEqual([]);
    expect(devices(session)).toHaveLength(5);
    expect(session.written.map((p) => p[4])).toEqual([0, 1, 2, 4, 5]);
    expect(dlq.rejections).toEqual([
      {
        message: expect.objectContaining({ offset: '3' }),
        reason: 'store_rejected',
        detail: "readings_by_device_day: Guardrail column_value_size violated: Value of column 'tags' has size 5KiB",
        errorClass: 'ResponseError',
      },
    ]);
    expect(String(dlq.rejections[0].message.value)).toBe(JSON.stringify(rows[2]));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/sdp_records_out_total\{topic="readings_by_device_day"[^}]*\} 5$/m);
  });

  test('a transient error is retried, never dead-lettered', async () => {
    const { session, dlq, fatal, handler } = setup();
    await handler(batchOf([message(0, reading('dev-a', 0))]), ctx());
    session.transient = 2;
    expect(await handler(batchOf([message(1, reading('dev-a', 1)), message(2, reading('dev-a', 2))]), ctx())).toBe('3');
    expect(dlq.rejections).toEqual([]);
    expect(fatal).toEqual([]);
    expect(devices(session)).toHaveLength(3);
  });

  test('an error every row would get (the schema is wrong) stops the process instead of dead-lettering every record', async () => {
    const { session, dlq, fatal, handler } = setup();
    await handler(batchOf([message(0, reading('dev-a', 0))]), ctx());
    session.systemic = new errors.ResponseError(types.responseErrorCodes.invalid, 'Undefined column name tags');
    await expect(handler(batchOf([message(1, reading('dev-a', 1))]), ctx())).rejects.toThrow('Undefined column name');
    expect(dlq.rejections).toEqual([]);
    expect(fatal).toHaveLength(1);
  });

  test('before the statement ever succeeded, a refusal stops the process: it may be the statement, not the row', async () => {
    const { dlq, fatal, handler } = setup();
    await expect(handler(batchOf([message(0, reading('dev-a', 0, { note: POISON }))]), ctx())).rejects.toThrow('Guardrail');
    expect(dlq.rejections).toEqual([]);
    expect(fatal).toHaveLength(1);
  });

  test.each([
    ['a guardrail', guardrail(), true],
    ['a key over the limit', new errors.ResponseError(types.responseErrorCodes.invalid, 'Key length of 70000 is longer than maximum of 65535'), true],
    ['a value the driver cannot encode', new TypeError('Expected Number, obtained string'), true],
    ['an unknown column', new errors.ResponseError(types.responseErrorCodes.invalid, 'Undefined column name tags'), false],
    ['an unknown table', new errors.ResponseError(types.responseErrorCodes.invalid, 'unconfigured table readings_by_device_day'), false],
    ['a write timeout', new errors.ResponseError(types.responseErrorCodes.writeTimeout, 'timeout'), false],
    ['unavailable', new errors.ResponseError(types.responseErrorCodes.unavailableException, 'x'), false],
    ['no host', new errors.NoHostAvailableError({}), false],
    ['unauthorized', new errors.ResponseError(types.responseErrorCodes.unauthorized, 'x'), false],
  ])('isRowRejection(%s) is %s', (_, err, expected) => {
    expect(isRowRejection(err)).toBe(expected);
  });
});
