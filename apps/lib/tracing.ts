/**
 * OpenTelemetry tracing for the stream apps: one span per batch (never per record, which would
 * cost more than the processing), W3C `traceparent` in the Kafka record headers, and span links
 * where batches fan in. A stage's batch span continues the trace of its first upstream batch and
 * links the others; its output sends are child spans, and every record it writes carries its send
 * span's `traceparent`, so the next stage continues from there.
 *
 * Configured by the standard variables: OTEL_TRACES_SAMPLER (+ _ARG), OTEL_SERVICE_NAME,
 * OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP, the collector in the cluster), OTEL_BSP_SCHEDULE_DELAY;
 * SDP_TRACES_FILE writes JSON lines instead (local runs: no collector can be installed here).
 * With no exporter, or OTEL_TRACES_SAMPLER=always_off, nothing is recorded or propagated and the
 * apps skip reading headers at all, so tracing off costs nothing measurable.
 */
import { Attributes, INVALID_SPAN_CONTEXT, Link, ROOT_CONTEXT, Span, SpanContext, SpanKind, SpanStatusCode, trace, Tracer } from '@opentelemetry/api';
import { parseTraceParent, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  Sampler,
  SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { IHeaders } from 'kafkajs';
import { z } from 'zod';
import { envInt, envNumber } from './config';
import { FileSpanExporter } from './tracing-file';

/** The W3C header, as OTel's propagator writes it. */
export const TRACEPARENT = 'traceparent';
/** Upstream batches linked from one span at most (OTel's default link limit is 128). */
export const MAX_LINKS = 32;

export const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

export const tracingEnv = z.object({
  /** OTel's sampler names. @default parentbased_always_on (the OTel default) */
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS).default('parentbased_always_on'),
  /** The ratio of the *traceidratio samplers, 0..1. @default 1 */
  OTEL_TRACES_SAMPLER_ARG: envNumber(0, 1).optional(),
  /** @default the app's name */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  /** OTLP/HTTP base URL (spans go to `<it>/v1/traces`), e.g. the cluster's collector. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** Longest a finished span waits before it is exported, in ms. @default 5000 */
  OTEL_BSP_SCHEDULE_DELAY: envInt(1, 600_000).optional(),
  /** Write spans as JSON lines to this file (when no OTLP endpoint is set). */
  SDP_TRACES_FILE: z.string().min(1).optional(),
});
export type TracingEnv = z.output<typeof tracingEnv>;

export function samplerOf(env: Pick<TracingEnv, 'OTEL_TRACES_SAMPLER' | 'OTEL_TRACES_SAMPLER_ARG'>): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(env.OTEL_TRACES_SAMPLER_ARG ?? 1);
  switch (env.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
  }
}

const propagator = new W3CTraceContextPropagator();
const headerSetter = { set: (carrier: Record<string, string>, key: string, value: string) => (carrier[key] = value) };
const offSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** The `traceparent` header of a span's context; undefined when it has none (tracing off). */
export function traceparentOf(span: Span): string | undefined {
  if (!trace.isSpanContextValid(span.spanContext())) return undefined;
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, headerSetter);
  return carrier[TRACEPARENT];
}

function headerValue(headers: IHeaders | undefined, key: string): string | undefined {
  const raw = headers?.[key];
  const v = Array.isArray(raw) ? raw[0] : raw;
  return v === undefined ? undefined : v.toString();
}

/** The trace id in a record's `traceparent` header, if it has a valid one. */
export function traceIdOf(headers: IHeaders | undefined): string | undefined {
  const v = headerValue(headers, TRACEPARENT);
  return v === undefined ? undefined : (parseTraceParent(v)?.traceId ?? undefined);
}

/**
 * The distinct upstream contexts of a batch, in order, from the records' `traceparent` headers.
 * Records of one upstream batch share a header and sit next to each other in a partition, so
 * each record costs one byte comparison with its predecessor; only a new value is parsed.
 */
export function upstreamContexts(messages: readonly { readonly headers?: IHeaders }[], max = MAX_LINKS): SpanContext[] {
  const out: SpanContext[] = [];
  const seen = new Set<string>();
  let last: Buffer | string | undefined;
  for (const m of messages) {
    const raw = m.headers?.[TRACEPARENT];
    const v = Array.isArray(raw) ? raw[0] : raw;
    if (v === undefined || v === last || (Buffer.isBuffer(v) && Buffer.isBuffer(last) && v.equals(last))) continue;
    last = v;
    const s = v.toString();
    if (seen.has(s)) continue;
    seen.add(s);
    const parsed = parseTraceParent(s);
    if (parsed === null) continue;
    out.push({ ...parsed, isRemote: true });
    if (out.length >= max) break;
  }
  return out;
}

/** Messaging attributes after the OTel semantic conventions for Kafka. */
export function messagingAttributes(operation: 'send' | 'process', topic: string, count: number, partition?: number): Attributes {
  return {
    'messaging.system': 'kafka',
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
    'messaging.destination.name': topic,
    'messaging.batch.message_count': count,
    ...(partition !== undefined ? { 'messaging.destination.partition.id': String(partition) } : {}),
  };
}

/** The apps' one handle on tracing; `Tracing.off` when nothing is exported. */
export class Tracing {
  static readonly off = new Tracing(undefined);

  /** False when spans are neither recorded nor propagated: callers skip the header work. */
  readonly enabled: boolean;

  constructor(
    private readonly tracer: Tracer | undefined,
    private readonly provider?: Pick<TracerProvider, 'shutdown' | 'forceFlush'>,
  ) {
    this.enabled = tracer !== undefined;
  }

  /**
   * A span for a batch: continues the trace of the first upstream context (a new trace when
   * there is none) and links every other one.
   */
  batchSpan(name: string, kind: SpanKind, upstream: readonly SpanContext[], attributes: Attributes = {}): Span {
    if (!this.tracer) return offSpan;
    const [parent, ...rest] = upstream;
    const links: Link[] = rest.map((c) => ({ context: c }));
    const ctx = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    return this.tracer.startSpan(name, { kind, attributes, links, root: parent === undefined }, ctx);
  }

  /** A span inside `parent` (an output send, a store write). */
  childSpan(parent: Span, name: string, kind: SpanKind, attributes: Attributes = {}): Span {
    if (!this.tracer) return offSpan;
    return this.tracer.startSpan(name, { kind, attributes }, trace.setSpan(ROOT_CONTEXT, parent));
  }

  /** Flushes what is buffered and stops exporting (on shutdown). */
  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }

  async flush(): Promise<void> {
    await this.provider?.forceFlush();
  }
}

/** Ends a span with the outcome of `work`. */
export async function inSpan<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    failed(span, err);
    throw err;
  } finally {
    span.end();
  }
}

export function failed(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/**
 * The send spans of one batch's output, one per topic, children of the batch span: the batch
 * fans out into clean readings, aggregates and dead letters, each with its own span and header.
 */
export class OutputSpans {
  private readonly spans = new Map<string, { span: Span; traceparent?: string; headers?: IHeaders }>();

  constructor(
    private readonly tracing: Tracing,
    private readonly parent: Span,
  ) {}

  /** The `traceparent` for records sent to `topic`; starts its send span on first use. */
  traceparent(topic: string): string | undefined {
    return this.of(topic).traceparent;
  }

  /** A headers object to share by every record sent to `topic` (kafkajs only reads it). */
  headers(topic: string): IHeaders | undefined {
    return this.of(topic).headers;
  }

  /** Ends every send span with the number of records sent to its topic, and the error if the send failed. */
  end(counts: ReadonlyMap<string, number>, err?: unknown): void {
    for (const [topic, { span }] of this.spans) {
      span.setAttribute('messaging.batch.message_count', counts.get(topic) ?? 0);
      if (err !== undefined) failed(span, err);
      span.end();
    }
  }

  private of(topic: string) {
    let entry = this.spans.get(topic);
    if (!entry) {
      const span = this.tracing.childSpan(this.parent, `send ${topic}`, SpanKind.PRODUCER, messagingAttributes('send', topic, 0));
      const traceparent = traceparentOf(span);
      entry = { span, traceparent, headers: traceparent !== undefined ? { [TRACEPARENT]: traceparent } : undefined };
      this.spans.set(topic, entry);
    }
    return entry;
  }
}

export interface StartTracingOptions {
  readonly env: TracingEnv;
  /** The app's name: the default `service.name`. */
  readonly serviceName: string;
  /** Where a failed export is reported (the span buffer drops what it cannot send). */
  readonly onExportError?: (err: unknown) => void;
}

/** Builds the exporter and tracer the environment asks for; `Tracing.off` when it asks for none. */
export function startTracing(opts: StartTracingOptions): { tracing: Tracing; exportsTo?: string } {
  const { env } = opts;
  if (env.OTEL_TRACES_SAMPLER === 'always_off') return { tracing: Tracing.off };
  let exporter: SpanExporter;
  let exportsTo: string;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined) {
    exportsTo = `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
    exporter = new OTLPTraceExporter({ url: exportsTo });
  } else if (env.SDP_TRACES_FILE !== undefined) {
    exportsTo = env.SDP_TRACES_FILE;
    exporter = new FileSpanExporter(env.SDP_TRACES_FILE, opts.onExportError);
  } else {
    return { tracing: Tracing.off };
  }
  const provider = new TracerProvider({
    sampler: samplerOf(env),
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? opts.serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: env.OTEL_BSP_SCHEDULE_DELAY ?? 5_000 })],
  });
  return { tracing: new Tracing(provider.getTracer('sdp'), provider), exportsTo };
}
