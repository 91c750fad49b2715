/**
 * The Cassandra sink's batch handler: decode, dead-letter what does not validate, upsert the
 * rest, and only then hand back the offset to commit. A batch whose writes cannot complete is
 * never committed: it is abandoned on shutdown/rebalance, or fails the process.
 */
import type { Counter } from 'prom-client';
import type { z } from 'zod';
import type { TelemetryAggregate, TelemetryReading } from '../contracts/telemetry';
import { telemetryAggregateSchema, telemetryReadingSchema } from '../contracts/telemetry';
import type { Batch, BatchContext, BatchResult } from '../lib/consumer';
import type { DeadLetterSink, Rejection } from '../lib/dead-letter';
import type { PauseGate } from '../lib/flow-control';
import type { Logger } from '../lib/logger';
import type { AppMetrics } from '../lib/metrics';
import { decodeAll, Decoder, jsonDecoder } from '../lib/records';
import { settleSinkFailure } from '../lib/retry';
import { PendingRow, planWrites } from './batching';
import type { RowWriter } from './statements';
import { errorKind } from './write-errors';
import type { CassandraWriter } from './writer';

/** How one source topic's records are validated and written. */
export interface SinkRoute {
  readonly table: string;
  /** Bound values for the route's INSERT, or why the record was rejected. */
  readonly decode: Decoder<PendingRow>;
}

export function route<S extends z.ZodType>(schema: S, writer: RowWriter<z.output<S>>): SinkRoute {
  const decode = jsonDecoder(schema);
  return {
    table: writer.table.name,
    decode: (value) => {
      const decoded = decode(value);
      return decoded.ok ? { ok: true, value: { writer, params: writer.params(decoded.value) } } : decoded;
    },
  };
}

/** The topics this sink consumes, each to its table, all from the contracts (names from the catalog). */
export function contractRoutes(
  topics: { readonly clean: string; readonly aggregates: string },
  writers: {
    readonly readings: RowWriter<TelemetryReading>;
    readonly aggregates: RowWriter<TelemetryAggregate>;
  },
): ReadonlyMap<string, SinkRoute> {
  return new Map([
    [topics.clean, route(telemetryReadingSchema, writers.readings)],
    [topics.aggregates, route(telemetryAggregateSchema, writers.aggregates)],
  ]);
}

export interface CassandraSinkDeps {
  readonly routes: ReadonlyMap<string, SinkRoute>;
  readonly writer: Pick<CassandraWriter, 'write'>;
  readonly deadLetters: DeadLetterSink;
  readonly gate: PauseGate;
  readonly metrics: AppMetrics & { readonly writeRetries: Counter<'kind'> };
  readonly logger: Logger;
  /** Called once writes are given up for good (retries exhausted or a fatal error): exit non-zero. */
  readonly onFatal: (err: unknown) => void;
}

export function cassandraSinkHandler(deps: CassandraSinkDeps): (batch: Batch, ctx: BatchContext) => Promise<BatchResult> {
  const { metrics, logger } = deps;
  return async (batch, ctx) => {
    const target = deps.routes.get(batch.topic);
    if (!target) throw new Error(`No table is mapped for topic ${batch.topic}`);
    deps.gate.attach(ctx);

    const { accepted, rejections } = decodeAll(batch.messages, target.decode);
    const rows = accepted.map((a) => ({ ...a.value, origin: a.message }));
    const source = { topic: batch.topic, partition: batch.partition };

    const endWrite = metrics.batchDuration.startTimer({ stage: 'write' });
    let refused: Rejection[];
    try {
      const [storeRejected] = await Promise.all([
        deps.writer.write(planWrites(rows), {
          shouldContinue: () => ctx.isRunning() && !ctx.isStale(),
          heartbeat: () => ctx.heartbeat(),
          onRetry: (err, attempt, delayMs) => {
            const kind = errorKind(err);
            metrics.writeRetries.inc({ kind });
            // One line per retry, not per record: retries are per write unit and backed off.
            logger.warn({ err, kind, attempt, delayMs, topic: batch.topic, partition: batch.partition }, 'cassandra write failed; retrying');
          },
          onDegradedChange: (degraded) => (degraded ? deps.gate.hold('store_failing') : deps.gate.release('store_failing')),
        }),
        deps.deadLetters.send(source, rejections),
      ]);
      refused = storeRejected.map(({ statement, error }) => storeRejection(target.table, statement.origin as Rejection['message'], error));
      for (const r of refused)
        logger.warn({ topic: batch.topic, partition: batch.partition, offset: r.message.offset, reason: r.detail }, 'store refused a record; dead-lettered');
      await deps.deadLetters.send(source, refused);
    } catch (err) {
      return settleSinkFailure(err, {
        logger,
        errors: metrics.errors,
        kind: 'write',
        onFatal: deps.onFatal,
        context: { topic: batch.topic, partition: batch.partition },
      });
    } finally {
      endWrite();
    }

    metrics.recordsOut.inc({ topic: target.table }, rows.length - refused.length);
    const now = Date.now();
    for (const { message } of accepted) metrics.endToEndLatency.observe((now - Number(message.timestamp)) / 1000);
    return (BigInt(batch.lastOffset()) + 1n).toString();
  };
}

/** A record the store refused for its values: the DLQ reason carries the table and the store's own error. */
function storeRejection(table: string, message: Rejection['message'], error: unknown): Rejection {
  const err = error instanceof Error ? error : new Error(String(error));
  return { message, reason: 'store_rejected', detail: `${table}: ${err.message}`, errorClass: err.constructor.name };
}
