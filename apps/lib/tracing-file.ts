/**
 * A span exporter that appends JSON lines to a file: how a local run keeps its traces, since no
 * collector or Jaeger can be installed on this machine. One line per span (`SpanLine`), written
 * asynchronously by the batch span processor; `npm start` reads them back (scripts/local/start/traces.ts).
 */
import { appendFile, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { ExportResult, ExportResultCode, hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

/** One exported span. Times are epoch milliseconds (fractional). */
export interface SpanLine {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: string;
  readonly service: string;
  readonly startMs: number;
  readonly durationMs: number;
  readonly error?: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
}

export function spanLine(span: ReadableSpan): SpanLine {
  const ctx = span.spanContext();
  const service = span.resource.attributes['service.name'];
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    ...(span.parentSpanContext ? { parentSpanId: span.parentSpanContext.spanId } : {}),
    name: span.name,
    kind: SpanKind[span.kind],
    service: typeof service === 'string' ? service : 'unknown',
    startMs: hrTimeToMilliseconds(span.startTime),
    durationMs: hrTimeToMilliseconds(span.duration),
    ...(span.status.code === 2 ? { error: span.status.message ?? 'error' } : {}),
    attributes: span.attributes,
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
  };
}

export class FileSpanExporter implements SpanExporter {
  private pending: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly onError?: (err: unknown) => void,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const text = spans.map((s) => `${JSON.stringify(spanLine(s))}\n`).join('');
    this.pending = new Promise<void>((resolve) =>
      appendFile(this.file, text, (err) => {
        if (err) {
          this.onError?.(err);
          resultCallback({ code: ExportResultCode.FAILED, error: err });
        } else resultCallback({ code: ExportResultCode.SUCCESS });
        resolve();
      }),
    );
  }

  async forceFlush(): Promise<void> {
    await this.pending;
  }

  async shutdown(): Promise<void> {
    await this.pending;
  }
}

/** Parses a traces file; a torn last line (a process killed mid-write) is skipped. */
export function parseSpanLines(text: string): SpanLine[] {
  const out: SpanLine[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    try {
      out.push(JSON.parse(line) as SpanLine);
    } catch {
      // only the last line of a killed process can be incomplete
    }
  }
  return out;
}
