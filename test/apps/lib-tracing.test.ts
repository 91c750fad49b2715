import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Batch, KafkaMessage, TopicMessages } from 'kafkajs';
import pino from 'pino';
import { dlqHeaders, topics } from '../../apps/contracts/topics';
import { deadLetterMessage } from '../../apps/lib/dead-letter';
import { createMetrics } from '../../apps/lib/metrics';
import { samplerOf, startTracing, TRACEPARENT, traceparentOf, Tracing, upstreamContexts } from '../../apps/lib/tracing';
import { parseSpanLines } from '../../apps/lib/tracing-file';
import { Processor } from '../../apps/processor/processor';
import { runProducer } from '../../apps/producer/run';
import { runningBatchContext } from './batch-context';
import { fakeTransactions } from './fake-transactions';

const logger = pino({ level: 'silent' });

function memoryTracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracing = new Tracing(provider.getTracer('test'), provider);
  return {
    tracing,
    spans: async () => {
      await tracing.flush();
      return exporter.getFinishedSpans();
    },
  };
}

/** What a consumer receives for the records a producer sent: header values arrive as Buffers. */
function asBatch(sent: readonly TopicMessages[], topic: string): Batch {
  const messages: KafkaMessage[] = sent
    .flatMap((t) => t.messages)
    .map((m, i) => ({
      offset: String(i),
      key: m.key === undefined || m.key === null ? null : Buffer.from(String(m.key)),
      value: Buffer.from(String(m.value)),
      timestamp: String(Date.now()),
      attributes: 0,
      headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v))])),
    }));
  return {
    topic,
    partition: 0,
    highWatermark: String(messages.length),
    messages,
    isEmpty: () => messages.length === 0,
    firstOffset: () => messages[0].offset,
    lastOffset: () => messages[messages.length - 1].offset,
    offsetLag: () => '0',
    offsetLagLow: () => '0',
  } as Batch;
}

const headerOf = (m: { headers?: Record<string, unknown> }, key: string) => {
  const v = m.headers?.[key];
  return v === undefined ? undefined : String(v);
};
const named = (spans: readonly ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe('tracing: producer -> processor', () => {
  test('a trace per producer batch; the processor chunk continues the first, links the rest, and its outputs carry their send spans', async () => {
    const { tracing, spans } = memoryTracing();
    const sent: TopicMessages[] = [];
    await runProducer({ send: async (tm) => void sent.push(...tm), devices: 5, events: 200, batchSize: 100, malformedRatio: 0.2, seed: 3, tracing });

    const sends = named(await spans(), `send ${topics.raw.name}`);
    expect(sends).toHaveLength(2);
    expect(sends.every((s) => s.kind === SpanKind.PRODUCER && s.parentSpanContext === undefined)).toBe(true);
    expect(new Set(sends.map((s) => s.spanContext().traceId)).size).toBe(2);
    // Every record of a batch carries that batch's span.
    for (const [i, t] of sent.entries()) {
      expect(new Set(t.messages.map((m) => headerOf(m, TRACEPARENT)))).toEqual(new Set([traceparentOf(trace.wrapSpanContext(sends[i].spanContext()))]));
    }

    const txns = fakeTransactions();
    const metrics = createMetrics('processor');
    const processor = new Processor({
      begin: txns.begin,
      topics: { raw: topics.raw.name, clean: topics.clean.name, aggregates: topics.aggregates.name, deadLetter: topics.deadLetter.name },
      logger,
      metrics,
      tracing,
    });
    processor.assign(new Map([[0, undefined]]));
    await processor.handleBatch(asBatch(sent, topics.raw.name), runningBatchContext(logger, metrics));

    const [chunk] = named(await spans(), `process ${topics.raw.name}`);
    expect(chunk.kind).toBe(SpanKind.CONSUMER);
    expect(chunk.parentSpanContext?.spanId).toBe(sends[0].spanContext().spanId);
    expect(chunk.spanContext().traceId).toBe(sends[0].spanContext().traceId);
    expect(chunk.links.map((l) => l.context.spanId)).toEqual([sends[1].spanContext().spanId]);
    expect(chunk.attributes['messaging.batch.message_count']).toBe(200);

    const clean = txns.visible.filter((t) => t.topic === topics.clean.name).flatMap((t) => t.messages);
    const dead = txns.visible.filter((t) => t.topic === topics.deadLetter.name).flatMap((t) => t.messages);
    expect(clean.length).toBeGreaterThan(0);
    expect(dead.length).toBeGreaterThan(0);
    for (const [topic, records] of [
      [topics.clean.name, clean],
      [topics.deadLetter.name, dead],
    ] as const) {
      const [send] = named(await spans(), `send ${topic}`);
      expect(send.parentSpanContext?.spanId).toBe(chunk.spanContext().spanId);
      expect(send.attributes['messaging.batch.message_count']).toBe(records.length);
      expect(new Set(records.map((m) => headerOf(m, TRACEPARENT)))).toEqual(new Set([traceparentOf(trace.wrapSpanContext(send.spanContext()))]));
    }
    // A rejected record leads to the trace that rejected it.
    expect(new Set(dead.map((m) => headerOf(m, dlqHeaders.traceId)))).toEqual(new Set([chunk.spanContext().traceId]));
  });

  test('tracing off: no spans and no headers, whatever exporter is configured', async () => {
    const sent: TopicMessages[] = [];
    await runProducer({ send: async (tm) => void sent.push(...tm), devices: 5, events: 50, batchSize: 50, tracing: Tracing.off });
    expect(sent.flatMap((t) => t.messages).every((m) => m.headers === undefined)).toBe(true);
    expect(startTracing({ env: { OTEL_TRACES_SAMPLER: 'always_off', SDP_TRACES_FILE: '/nonexistent/x.jsonl' }, serviceName: 'x' }).tracing.enabled).toBe(false);
    expect(startTracing({ env: { OTEL_TRACES_SAMPLER: 'parentbased_always_on' }, serviceName: 'x' }).tracing.enabled).toBe(false);
  });
});

describe('upstreamContexts', () => {
  test('distinct valid contexts in order, each header parsed once, capped', () => {
    const a = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const b = '00-0af7651916cd43dd8448eb211c80319d-b7ad6b7169203332-00';
    const m = (v?: string) => ({ headers: v === undefined ? {} : { traceparent: Buffer.from(v) } });
    const got = upstreamContexts([m(a), m(a), m(), m('garbage'), m(b), m(a), m(b)]);
    expect(got.map((c) => [c.traceId, c.spanId, c.traceFlags, c.isRemote])).toEqual([
      ['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', 1, true],
      ['0af7651916cd43dd8448eb211c80319d', 'b7ad6b7169203332', 0, true],
    ]);
    expect(upstreamContexts([m(a), m(b)], 1)).toHaveLength(1);
  });
});

describe('samplerOf', () => {
  test('maps the OTel sampler names', () => {
    expect(samplerOf({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: 0.01 }).toString()).toMatch(
      /ParentBased.*TraceIdRatioBased\{0\.01\}/,
    );
    expect(samplerOf({ OTEL_TRACES_SAMPLER: 'always_off' }).toString()).toBe('AlwaysOffSampler');
  });
});

describe('deadLetterMessage keeps the trace id', () => {
  const rejection = {
    message: {
      key: null,
      value: Buffer.from('x'),
      offset: '7',
      timestamp: '1',
      headers: { traceparent: Buffer.from('00-11111111111111111111111111111111-2222222222222222-01') },
    },
    reason: 'invalid_json' as const,
    detail: 'bad',
    errorClass: 'SyntaxError',
  };
  test("without a span of the rejecting stage, the record's own trace", () => {
    const m = deadLetterMessage({ topic: 't', partition: 0 }, rejection, 5);
    expect(String(m.headers?.[dlqHeaders.traceId])).toBe('11111111111111111111111111111111');
    expect(String(m.headers?.[TRACEPARENT])).toBe('00-11111111111111111111111111111111-2222222222222222-01');
  });
  test("with one, the rejecting stage's trace and span", () => {
    const tp = '00-33333333333333333333333333333333-4444444444444444-01';
    const m = deadLetterMessage({ topic: 't', partition: 0 }, rejection, 5, tp);
    expect(m.headers?.[dlqHeaders.traceId]).toBe('33333333333333333333333333333333');
    expect(m.headers?.[TRACEPARENT]).toBe(tp);
  });
  test('no trace id header for a record without a valid traceparent', () => {
    const m = deadLetterMessage({ topic: 't', partition: 0 }, { ...rejection, message: { ...rejection.message, headers: { traceparent: 'abc' } } }, 5);
    expect(m.headers?.[dlqHeaders.traceId]).toBeUndefined();
  });
});

describe('FileSpanExporter', () => {
  test('writes one JSON line per span, with parent, links and service, read back by parseSpanLines', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'traces-')), 'nested', 'app.jsonl');
    const { tracing } = startTracing({
      env: { OTEL_TRACES_SAMPLER: 'always_on', SDP_TRACES_FILE: file, OTEL_BSP_SCHEDULE_DELAY: 10 },
      serviceName: 'processor',
    });
    const root = tracing.batchSpan('send a', SpanKind.PRODUCER, []);
    const other = tracing.batchSpan('send b', SpanKind.PRODUCER, []);
    const child = tracing.batchSpan('process a', SpanKind.CONSUMER, [root.spanContext(), other.spanContext()], { n: 3 });
    for (const s of [root, other, child]) s.end();
    await tracing.shutdown();

    const lines = parseSpanLines(`${readFileSync(file, 'utf8')}{"torn`);
    expect(lines.map((l) => l.name).sort()).toEqual(['process a', 'send a', 'send b']);
    const p = lines.find((l) => l.name === 'process a')!;
    expect(p).toMatchObject({
      service: 'processor',
      kind: 'CONSUMER',
      parentSpanId: root.spanContext().spanId,
      traceId: root.spanContext().traceId,
      attributes: { n: 3 },
    });
    expect(p.links).toEqual([{ traceId: other.spanContext().traceId, spanId: other.spanContext().spanId }]);
    expect(p.durationMs).toBeGreaterThanOrEqual(0);
    expect(p.startMs).toBeGreaterThan(Date.UTC(2020, 0, 1));
  });
});
