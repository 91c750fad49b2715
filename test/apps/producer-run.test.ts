import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TopicMessages } from 'kafkajs';
import { topics } from '../../apps/contracts/topics';
import { createMetrics } from '../../apps/lib/metrics';
import { parseManifest, runProducer } from '../../apps/producer/run';

function recorder(opts: { failAfter?: number } = {}) {
  const requests: TopicMessages[][] = [];
  let calls = 0;
  const send = jest.fn(async (tm: readonly TopicMessages[]) => {
    calls += 1;
    await new Promise((r) => setImmediate(r));
    if (opts.failAfter !== undefined && calls > opts.failAfter) throw new Error('not enough replicas');
    requests.push([...tm]);
  });
  return { send, requests, messages: () => requests.flat().flatMap((t) => t.messages) };
}

describe('runProducer', () => {
  test('sends exactly the requested events in batches and writes a matching manifest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'producer-'));
    const manifestPath = join(dir, 'manifest.ndjson');
    const r = recorder();
    const metrics = createMetrics('producer');
    const report = await runProducer({ send: r.send, devices: 25, events: 2_500, batchSize: 1_000, malformedRatio: 0.1, seed: 4, manifestPath, metrics });

    expect(r.send).toHaveBeenCalledTimes(3);
    expect(r.requests.flat().every((t) => t.topic === topics.raw.name)).toBe(true);
    expect(r.messages()).toHaveLength(2_500);
    expect(report.valid + report.malformed).toBe(2_500);
    expect(report.malformed).toBe(Object.values(report.malformedByKind).reduce((a, b) => a + b, 0));
    expect(report.malformed).toBeGreaterThan(150);

    const entries = parseManifest(readFileSync(manifestPath, 'utf8'));
    expect(entries).toHaveLength(2_500);
    expect(entries.filter((e) => e.valid)).toHaveLength(report.valid);
    const keys = new Set(entries.map((e) => (e.valid ? `${e.deviceId}|${e.metric}|${e.ts}` : '')));
    expect(keys.size - 1).toBe(report.valid); // unique (device, metric, ts), plus the '' of malformed
    expect(await metrics.registry.metrics()).toContain(`sdp_records_out_total{topic="${topics.raw.name}",app="producer"} 2500`);
  });

  test('paces to the target rate', async () => {
    const r = recorder();
    const report = await runProducer({ send: r.send, devices: 5, rate: 2_000, events: 600 });
    // 600 events at 2,000/s: the last batch is due at ~0.29 s.
    expect(report.durationMs).toBeGreaterThanOrEqual(250);
    expect(report.durationMs).toBeLessThan(2_000);
    expect(r.send.mock.calls.length).toBeGreaterThanOrEqual(10); // ~40 records per send, not one big burst
  });

  test('stops on abort and reports only acknowledged records', async () => {
    const r = recorder();
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    const report = await runProducer({ send: r.send, devices: 5, rate: 5_000, signal: stop.signal });
    expect(report.valid).toBe(r.messages().length);
    expect(report.valid).toBeGreaterThan(0);
  });

  test('a failed send stops the run and rejects, without counting the failed batch', async () => {
    const r = recorder({ failAfter: 2 });
    await expect(runProducer({ send: r.send, devices: 5, events: 10_000, batchSize: 100, maxInFlight: 1 })).rejects.toThrow('not enough replicas');
    expect(r.messages()).toHaveLength(200);
  });
});
