/**
 * The Cassandra sink's batch handler: decode, dead-letter what does not validate, upsert the
 * rest, and only then hand back the offset to commit. A batch whose writes cannot complete is
 * never committed: it is abandoned on shutdown/rebalance, or fails the process. Each batch is a
 * `process` span (continuing its first upstream batch's trace, linking the others) with a `write`
 * child span for the table's writes.
 */
import { SpanKind } from '@opentelemetry/api';
import type { Counter } from 'prom-client';
import type { TelemetryAggregate, TelemetryReading } from '../contracts/telemetry';
import { telemetryAggregateContract, telemetryReadingContract } from '../contracts/telemetry';
import type { AnyContract, LatestEvent } from '../contracts/versions';
import type { Batch, BatchContext, BatchResult } from '../lib/consumer';
import type { DeadLetterSink, Rejection } from '../lib/dead-letter';
import type { PauseGate } from '../lib/flow-control';
import type { Logger } from '../lib/logger';
import type { AppMetrics } from '../lib/metrics';
import { contractDecoder, decodeAll, Decoder } from '../lib/records';
import { settleSinkFailure } from '../lib/retry';
import { failed, messagingAttributes, traceparentOf, Tracing, upstreamContexts } from '../lib/tracing';
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

/** Every version of the contract is read, as its latest (a rollout's older processor may still write older ones). */
export function route<C extends AnyContract>(contract: C, writer: RowWriter<LatestEvent<C>>): SinkRoute {
  const decode = contractDecoder(contract);
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
    [topics.clean, route(telemetryReadingContract, writers.readings)],
    [topics.aggregates, route(telemetryAggregateContract, writers.aggregates)],
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
  /** @default Tracing.off */
  readonly tracing?: Tracing;
}

export function cassandraSinkHandler(deps: CassandraSinkDeps): (batch: Batch, ctx: BatchContext) => Promise<BatchResult> {
  const { metrics, logger } = deps;
  const tracing = deps.tracing ?? Tracing.off;
  return async (batch, ctx) => {
    const target = deps.routes.get(batch.topic);
    if (!target) throw new Error(`No table is mapped for topic ${batch.topic}`);
    deps.gate.attach(ctx);

    const span = tracing.batchSpan(
      `process ${batch.topic}`,
      SpanKind.CONSUMER,
      tracing.enabled ? upstreamContexts(batch.messages) : [],
      messagingAttributes('process', batch.topic, batch.messages.length, batch.partition),
    );
    const { accepted, rejections } = decodeAll(batch.messages, target.decode);
    const rows = accepted.map((a) => ({ ...a.value, origin: a.message }));
    const source = { topic: batch.topic, partition: batch.partition };

    const write = tracing.childSpan(span, `write ${target.table}`, SpanKind.CLIENT, {
      'db.system.name': 'cassandra',
      'db.collection.name': target.table,
      'db.operation.batch.size': rows.length,
    });
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
        deps.deadLetters.send(source, rejections, traceparentOf(span)),
      ]);
      refused = storeRejected.map(({ statement, error }) => storeRejection(target.table, statement.origin as Rejection['message'], error));
      for (const r of refused)
        logger.warn({ topic: batch.topic, partition: batch.partition, offset: r.message.offset, reason: r.detail }, 'store refused a record; dead-lettered');
      await deps.deadLetters.send(source, refused, traceparentOf(span));
    } catch (err) {
      failed(write, err);
      failed(span, err);
      return settleSinkFailure(err, {
        logger,
        errors: metrics.errors,
        kind: 'write',
        onFatal: deps.onFatal,
        context: { topic: batch.topic, partition: batch.partition },
      });
    } finally {
      endWrite();
      write.end();
      span.end();
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
