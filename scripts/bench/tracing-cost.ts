/**
 * `npx tsx scripts/bench/tracing-cost.ts [events]`: the CPU cost of tracing in the two hot paths,
 * in one process and without services, so it runs while the local services are busy: the
 * producer building and "sending" batches (a send that only resolves) and the processor
 * validating, windowing and sending them into in-memory transactions. Each is run with tracing
 * off, with 1% parent-based sampling and with every batch sampled (spans written to a file), in
 * rounds that rotate the order of the settings after a discarded warm-up round (with
 * `node --expose-gc`, a full GC before each run), and reported as the median CPU microseconds per
 * event and as a ratio to tracing off in the same run. Prints figures, asserts nothing; the last
 * line is JSON. Run: `node --expose-gc --import tsx scripts/bench/tracing-cost.ts 100000`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Batch, KafkaMessage, TopicMessages } from 'kafkajs';
import pino from 'pino';
import { topics } from '../../apps/contracts/topics';
import { createMetrics } from '../../apps/lib/metrics';
import { startTracing, Tracing } from '../../apps/lib/tracing';
import type { BeginTransaction } from '../../apps/lib/transactions';
import { Processor } from '../../apps/processor/processor';
import { runProducer } from '../../apps/producer/run';

const events = Number(process.argv[2] ?? 200_000);
const ROUNDS = 5;
const logger = pino({ level: 'silent' });
const dir = mkdtempSync(path.join(tmpdir(), 'sdp-tracing-cost-'));

type Setting = 'off' | 'ratio-1%' | 'always_on';
const SETTINGS: readonly Setting[] = ['off', 'ratio-1%', 'always_on'];

function tracingFor(setting: Setting, round: number): Tracing {
  if (setting === 'off') return Tracing.off;
  return startTracing({
    env:
      setting === 'always_on'
        ? { OTEL_TRACES_SAMPLER: 'always_on', SDP_TRACES_FILE: path.join(dir, `on-${round}.jsonl`) }
        : { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: 0.01, SDP_TRACES_FILE: path.join(dir, `ratio-${round}.jsonl`) },
    serviceName: 'bench',
  }).tracing;
}

const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** The producer's batches as a consumer receives them (headers as Buffers), 12 partitions round-robin by batch. */
function asBatches(sent: readonly TopicMessages[]): Batch[] {
  const offsets = new Array<number>(12).fill(0);
  return sent.map((t, i) => {
    const partition = i % 12;
    const messages: KafkaMessage[] = t.messages.map((m) => ({
      offset: String(offsets[partition]++),
      key: Buffer.from(String(m.key)),
      value: Buffer.from(String(m.value)),
      timestamp: String(Date.now()),
      attributes: 0,
      headers: m.headers ? Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, Buffer.from(String(v))])) : {},
    }));
    return {
      topic: topics.raw.name,
      partition,
      highWatermark: String(offsets[partition]),
      messages,
      isEmpty: () => messages.length === 0,
      firstOffset: () => messages[0].offset,
      lastOffset: () => messages[messages.length - 1].offset,
      offsetLag: () => '0',
      offsetLagLow: () => '0',
    } as Batch;
  });
}

const begin: BeginTransaction = async () => ({ send: async () => undefined, commit: async () => undefined, abort: async () => undefined });

async function producerRun(tracing: Tracing): Promise<{ micros: number; sent: TopicMessages[] }> {
  const sent: TopicMessages[] = [];
  const before = cpuMicros();
  await runProducer({ send: async (tm) => void sent.push(...tm), devices: 1_000, events, batchSize: 2_000, malformedRatio: 0.01, seed: 1, tracing });
  return { micros: cpuMicros() - before, sent };
}

async function processorRun(tracing: Tracing, batches: readonly Batch[]): Promise<number> {
  const metrics = createMetrics('processor');
  const processor = new Processor({
    begin,
    topics: { raw: topics.raw.name, clean: topics.clean.name, aggregates: topics.aggregates.name, deadLetter: topics.deadLetter.name },
    logger,
    metrics,
    tracing,
  });
  processor.assign(new Map(Array.from({ length: 12 }, (_, p) => [p, undefined])));
  const ctx = {
    logger,
    metrics,
    generation: 1,
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
    pause: () => undefined,
    resume: () => undefined,
  };
  const before = cpuMicros();
  for (const b of batches) await processor.handleBatch(b, ctx);
  return cpuMicros() - before;
}

async function main(): Promise<void> {
  const totals: Record<string, Record<Setting, number[]>> = {
    producer: { off: [], 'ratio-1%': [], always_on: [] },
    processor: { off: [], 'ratio-1%': [], always_on: [] },
  };
  process.stderr.write(`[tracing-cost] ${events.toLocaleString('en-US')} events per run, ${ROUNDS} rounds of ${SETTINGS.join(', ')}\n`);
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let round = -1; round < ROUNDS; round++) {
    const order = SETTINGS.map((_, i) => SETTINGS[(i + Math.max(0, round)) % SETTINGS.length]);
    for (const setting of order) {
      const tracing = tracingFor(setting, round + 1);
      gc?.();
      const produced = await producerRun(tracing);
      const batches = asBatches(produced.sent);
      gc?.();
      // The processor reads what a producer with the same setting wrote (headers or none).
      const processed = await processorRun(tracing, batches);
      await tracing.shutdown();
      if (round < 0) continue; // warm-up: the JIT is still compiling
      totals.producer[setting].push(produced.micros / events);
      totals.processor[setting].push(processed / events);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result: Record<string, Record<string, { microsPerEvent: number; ratioToOff: number }>> = {};
  for (const [stage, bySetting] of Object.entries(totals)) {
    const off = median(bySetting.off);
    result[stage] = Object.fromEntries(
      SETTINGS.map((s) => [
        s,
        { microsPerEvent: Math.round(median(bySetting[s]) * 100) / 100, ratioToOff: Math.round((median(bySetting[s]) / off) * 1000) / 1000 },
      ]),
    );
    for (const s of SETTINGS)
      process.stderr.write(
        `[tracing-cost] ${stage.padEnd(10)} ${s.padEnd(10)} ${result[stage][s].microsPerEvent.toFixed(2)} µs CPU/event, ${result[stage][s].ratioToOff}x off\n`,
      );
  }
  process.stdout.write(`${JSON.stringify({ events, rounds: ROUNDS, statistic: 'median of rounds', cpuMicrosPerEvent: result, node: process.version })}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
