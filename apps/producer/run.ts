/**
 * Drives the generator into Kafka: batched sends (several in flight) at a target rate, for
 * a number of events or a duration or until aborted, and reports exactly what the brokers
 * acknowledged, optionally as an NDJSON manifest that tests use to check exactly-once. Each send
 * is one trace's root span, and its records carry its `traceparent` (apps/lib/tracing.ts).
 */
import { createWriteStream, WriteStream } from 'node:fs';
import { SpanKind } from '@opentelemetry/api';
import type { IHeaders, Message, TopicMessages } from 'kafkajs';
import type { Logger } from 'pino';
import { topics } from '../contracts/topics';
import type { AppMetrics } from '../lib/metrics';
import { failed, messagingAttributes, TRACEPARENT, traceparentOf, Tracing } from '../lib/tracing';
import { GeneratedRecord, generateReadings, MALFORMED_KINDS, MalformedKind } from './generator';

export interface RunProducerOptions {
  /** Resolves once the messages were acknowledged (see `createSender` in apps/lib/kafka). */
  readonly send: (topicMessages: readonly TopicMessages[]) => Promise<void>;
  readonly devices: number;
  /** @default topics.raw.name */
  readonly topic?: string;
  /** Target events per second; 0 sends as fast as the brokers acknowledge. @default 0 */
  readonly rate?: number;
  /** Stop after this many events; 0 = no limit. @default 0 */
  readonly events?: number;
  /** Stop after this many seconds; 0 = no limit. @default 0 */
  readonly durationSeconds?: number;
  /** @default 0 */
  readonly malformedRatio?: number;
  /** Share of devices sending contract v2 readings. @default 0.5 */
  readonly v2Ratio?: number;
  /** @default 1 */
  readonly seed?: number;
  /** Event-time source. @default Date.now */
  readonly clock?: () => number;
  /** Records per send at full speed (smaller at low rates, to keep sends ~every 20 ms). @default 2000 */
  readonly batchSize?: number;
  /** Sends awaiting acknowledgement at once. @default 4 */
  readonly maxInFlight?: number;
  /** Write an NDJSON line per acknowledged record here. */
  readonly manifestPath?: string;
  /** Stops the run gracefully: in-flight sends complete and are reported. */
  readonly signal?: AbortSignal;
  readonly metrics?: AppMetrics;
  readonly logger?: Logger;
  /** @default Tracing.off */
  readonly tracing?: Tracing;
}

export interface ProducerReport {
  readonly topic: string;
  /** Acknowledged valid readings. */
  readonly valid: number;
  /** Acknowledged valid readings by the contract version they were sent as. */
  readonly validByVersion: Readonly<Record<number, number>>;
  /** Acknowledged malformed records, total and by kind. */
  readonly malformed: number;
  readonly malformedByKind: Readonly<Record<MalformedKind, number>>;
  readonly durationMs: number;
  readonly eventsPerSecond: number;
  readonly manifestPath?: string;
}

/** One manifest line: a valid reading's identity, or a malformed record's kind. */
export type ManifestEntry =
  | { readonly valid: true; readonly deviceId: string; readonly metric: string; readonly ts: number; readonly schemaVersion: number }
  | { readonly valid: false; readonly deviceId: string; readonly kind: MalformedKind };

export async function runProducer(opts: RunProducerOptions): Promise<ProducerReport> {
  const topic = opts.topic ?? topics.raw.name;
  const rate = opts.rate ?? 0;
  const limit = opts.events ?? 0;
  const deadline = (opts.durationSeconds ?? 0) > 0 ? performance.now() + (opts.durationSeconds as number) * 1000 : Infinity;
  const maxInFlight = opts.maxInFlight ?? 4;
  const tracing = opts.tracing ?? Tracing.off;
  const batchSize = rate > 0 ? Math.max(1, Math.min(opts.batchSize ?? 2000, Math.ceil(rate / 50))) : (opts.batchSize ?? 2000);
  if (rate < 0 || limit < 0 || batchSize < 1 || maxInFlight < 1) throw new RangeError('rate, events, batchSize and maxInFlight must be positive');

  const records = generateReadings({
    devices: opts.devices,
    malformedRatio: opts.malformedRatio,
    v2Ratio: opts.v2Ratio,
    seed: opts.seed,
    clock: opts.clock,
  });
  const manifest = opts.manifestPath ? createWriteStream(opts.manifestPath, { encoding: 'utf8' }) : undefined;
  const byKind = Object.fromEntries(MALFORMED_KINDS.map((k) => [k, 0])) as Record<MalformedKind, number>;
  let valid = 0;
  const validByVersion: Record<number, number> = {};
  let malformed = 0;
  let generated = 0;
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  const acknowledged = (batch: GeneratedRecord[]) => {
    const lines: string[] = [];
    for (const r of batch) {
      if (r.valid) {
        valid += 1;
        const { deviceId, metric, ts, schemaVersion } = r.reading;
        validByVersion[schemaVersion] = (validByVersion[schemaVersion] ?? 0) + 1;
        if (manifest) lines.push(JSON.stringify({ valid: true, deviceId, metric, ts, schemaVersion }));
      } else {
        malformed += 1;
        byKind[r.kind] += 1;
        if (manifest) lines.push(JSON.stringify({ valid: false, deviceId: r.key, kind: r.kind }));
      }
    }
    if (manifest && lines.length > 0) manifest.write(`${lines.join('\n')}\n`);
    opts.metrics?.recordsOut.inc({ topic }, batch.length);
  };

  while (failure === undefined && !opts.signal?.aborted && (limit === 0 || generated < limit) && performance.now() < deadline) {
    if (rate > 0) {
      const due = started + (generated / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 1) await sleep(Math.min(wait, deadline - performance.now()), opts.signal);
      if (opts.signal?.aborted || performance.now() >= deadline) break;
    }
    const n = limit === 0 ? batchSize : Math.min(batchSize, limit - generated);
    const span = tracing.batchSpan(`send ${topic}`, SpanKind.PRODUCER, [], messagingAttributes('send', topic, n));
    const traceparent = traceparentOf(span);
    // One headers object for the whole batch: kafkajs only reads it.
    const headers: IHeaders | undefined = traceparent !== undefined ? { [TRACEPARENT]: traceparent } : undefined;
    const batch: GeneratedRecord[] = new Array(n);
    const messages: Message[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const r = records.next().value;
      batch[i] = r;
      messages[i] = headers ? { key: r.key, value: r.value, headers } : { key: r.key, value: r.value };
    }
    generated += n;
    const send: Promise<void> = opts.send([{ topic, messages }]).then(
      () => {
        inFlight.delete(send);
        span.end();
        acknowledged(batch);
      },
      (err: unknown) => {
        inFlight.delete(send);
        failed(span, err);
        span.end();
        opts.metrics?.errors.inc({ kind: 'send' });
        failure ??= err;
      },
    );
    inFlight.add(send);
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (manifest) await closeStream(manifest);

  const durationMs = performance.now() - started;
  const report: ProducerReport = {
    topic,
    valid,
    validByVersion,
    malformed,
    malformedByKind: byKind,
    durationMs: Math.round(durationMs),
    eventsPerSecond: Math.round(((valid + malformed) / Math.max(durationMs, 1)) * 1000),
    ...(opts.manifestPath ? { manifestPath: opts.manifestPath } : {}),
  };
  if (failure !== undefined) {
    opts.logger?.error({ err: failure, report }, 'send failed; stopped producing');
    throw failure;
  }
  return report;
}

/** Reads a manifest back (tests, benchmarks). */
export function parseManifest(ndjson: string): ManifestEntry[] {
  return ndjson
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as ManifestEntry);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}
