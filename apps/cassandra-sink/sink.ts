/**
 * The Cassandra sink's batch handler: decode, dead-letter what does not validate, upsert the
 * rest, and only then hand back the offset to commit. A batch whose writes cannot complete is
 * never committed: it is abandoned on shutdown/rebalance, or fails the process.
 */
import type { Counter } from 'prom-client';
import type { z } from 'zod';
import { TelemetryAggregate, telemetryAggregateSchema, TelemetryReading, telemetryReadingSchema, topics } from '../contracts';
import type { AppMetrics, Batch, BatchContext, BatchResult, Logger } from '../lib';
import { PendingRow, planWrites } from './batching';
import type { DeadLetterSink, Rejection } from './dead-letter';
import type { PauseGate } from './flow-control';
import { Decoded, decodeJson } from './records';
import { AbandonedError, errorKind, HeartbeatFailedError } from './retry';
import type { RowWriter } from './statements';
import type { CassandraWriter } from './writer';

/** How one source topic's records are validated and written. */
export interface SinkRoute {
  readonly table: string;
  /** Bound values for the route's INSERT, or why the record was rejected. */
  decode(value: Buffer | null): Decoded<PendingRow>;
}

export function route<T>(schema: z.ZodType<T>, writer: RowWriter<T>): SinkRoute {
  return {
    table: writer.table.name,
    decode: (value) => {
      const decoded = decodeJson(schema, value);
      return decoded.ok ? { ok: true, value: { writer, params: writer.params(decoded.value) } } : decoded;
    },
  };
}

/** The two topics this sink consumes, each to its table, all from the contracts. */
export function contractRoutes(writers: {
  readonly readings: RowWriter<TelemetryReading>;
  readonly aggregates: RowWriter<TelemetryAggregate>;
}): ReadonlyMap<string, SinkRoute> {
  return new Map([
    [topics.clean.name, route(telemetryReadingSchema, writers.readings)],
    [topics.aggregates.name, route(telemetryAggregateSchema, writers.aggregates)],
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

    const rows: PendingRow[] = [];
    const timestamps: number[] = [];
    const rejections: Rejection[] = [];
    for (const message of batch.messages) {
      const decoded = target.decode(message.value);
      if (decoded.ok) {
        rows.push(decoded.value);
        timestamps.push(Number(message.timestamp));
      } else {
        rejections.push({ message, reason: decoded.reason, detail: decoded.detail, errorClass: decoded.errorClass });
      }
    }

    const endWrite = metrics.batchDuration.startTimer({ stage: 'write' });
    try {
      await Promise.all([
        deps.writer.write(planWrites(rows), {
          shouldContinue: () => ctx.isRunning() && !ctx.isStale(),
          heartbeat: () => ctx.heartbeat(),
          onRetry: (err, attempt, delayMs) => {
            const kind = errorKind(err);
            metrics.writeRetries.inc({ kind });
            // One line per retry, not per record: retries are per write unit and backed off.
            logger.warn(
              { err, kind, attempt, delayMs, topic: batch.topic, partition: batch.partition },
              'cassandra write failed; retrying',
            );
          },
          onDegradedChange: (degraded) => (degraded ? deps.gate.hold('store_failing') : deps.gate.release('store_failing')),
        }),
        deps.deadLetters.send({ topic: batch.topic, partition: batch.partition }, rejections),
      ]);
    } catch (err) {
      if (err instanceof AbandonedError) {
        logger.info({ topic: batch.topic, partition: batch.partition }, 'batch abandoned without commit');
        return undefined;
      }
      if (err instanceof HeartbeatFailedError) throw err;
      metrics.errors.inc({ kind: 'write' });
      deps.onFatal(err);
      throw err;
    } finally {
      endWrite();
    }

    metrics.recordsOut.inc({ topic: target.table }, rows.length);
    const now = Date.now();
    for (const ts of timestamps) metrics.endToEndLatency.observe((now - ts) / 1000);
    return (BigInt(batch.lastOffset()) + 1n).toString();
  };
}
