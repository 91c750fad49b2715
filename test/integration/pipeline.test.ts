/**
 * The whole pipeline against the real local Kafka, Cassandra and MinIO, without faults: the four
 * apps run as separate processes, the producer writes a known load with malformed records mixed
 * in, and every store is compared with a reference computed from the raw topic (cross-checked
 * with the producer's manifest of acknowledged records). Also scrapes each app's /metrics.
 */
import { topics } from '../../apps/contracts';
import type { ManifestEntry } from '../../apps/producer/run';
import { probeStatus, samplesOf, scrape, Scrape, total } from './support/metrics';
import { AppExit, AppName, appPorts } from './support/processes';
import { compareManifest, exactly, Reference, referenceAggregates } from './support/reference';
import { consumerApps, Load, Scenario, Verification } from './support/scenario';
import { done, pending, waitFor } from './support/wait';

const load: Load = { events: 60_000, rate: 20_000, devices: 200, malformedRatio: 0.02 };

/** Every app registers these (apps/lib/metrics.ts), whether or not it has recorded a sample yet. */
const sdpFamilies = {
  sdp_records_in_total: 'counter',
  sdp_records_out_total: 'counter',
  sdp_errors_total: 'counter',
  sdp_dlq_records_total: 'counter',
  sdp_batch_duration_seconds: 'histogram',
  sdp_consumer_lag: 'gauge',
  sdp_end_to_end_latency_seconds: 'histogram',
};

describe('pipeline end to end (no faults)', () => {
  let run: Scenario;
  let ref: Reference;
  let manifest: ManifestEntry[];
  let verification: Verification;
  let exits: Partial<Record<AppName, AppExit>>;
  const scrapes: Partial<Record<AppName, Scrape>> = {};
  const probes: Partial<Record<AppName, { healthz: number; readyz: number }>> = {};
  const probeAll = async (name: AppName) => {
    probes[name] = { healthz: await probeStatus(appPorts[name], '/healthz'), readyz: await probeStatus(appPorts[name], '/readyz') };
  };

  beforeAll(async () => {
    run = await Scenario.fresh('pipeline');
    await run.startConsumers();
    const began = Date.now();
    run.startProducer(load);
    // The producer exits once its events are sent: scrape it while it runs.
    scrapes.producer = await waitFor(
      'the producer to report records out',
      async () => {
        const s = await scrape(appPorts.producer);
        return total(s, 'sdp_records_out_total') > 0 ? done(s) : pending('no records out yet');
      },
      { timeoutMs: 60_000, intervalMs: 100, guard: run.guard },
    );
    await probeAll('producer');
    await run.waitProducer();
    ({ ref, manifest } = await run.reference());
    await run.waitComplete(ref, { aggregates: true });
    // Includes waiting for the wall clock to pass the last window's end (up to 60 s).
    process.stdout.write(`pipeline: ${ref.rawRecords} records through every store and window in ${((Date.now() - began) / 1000).toFixed(1)} s\n`);
    for (const name of consumerApps) {
      scrapes[name] = await scrape(appPorts[name]);
      await probeAll(name);
    }
    exits = await run.stopApps();
    verification = await run.verify(ref, { aggregates: true });
  }, 480_000);

  afterAll(async () => {
    await run?.close();
  });

  it('keeps every acknowledged record in the raw topic, once', () => {
    expect(ref.rawRecords).toBe(load.events);
    expect(ref.rawDuplicates).toEqual([]);
    const m = compareManifest(ref, manifest);
    expect(m.valid).toEqual(exactly(ref.readings.size));
    expect(m.malformedInTopicByKind).toEqual(m.malformedByKind);
    // The load really contains bad records of every kind the processor must reject.
    expect(Object.keys(m.malformedByKind).sort()).toEqual(['bad_metric', 'extra_field', 'invalid_json', 'missing_field', 'ts_out_of_range', 'wrong_type']);
  });

  it('writes every valid reading to Cassandra exactly once, with its values', () => {
    expect(verification.readings).toEqual(exactly(ref.readings.size));
  });

  it('carries readings sent as v1 and as v2 (the producer default mix), each stored as v2 with its unit or none', () => {
    const expected = [...ref.readings.values()];
    const v2 = expected.filter((r) => r.sentAs === 2);
    expect(v2.length).toBeGreaterThan(0);
    expect(expected.length - v2.length).toBeGreaterThan(0);
    expect(expected.every((r) => r.schemaVersion === 2 && (r.unit !== null) === (r.sentAs === 2))).toBe(true);
  });

  it('writes every valid reading to the lake exactly once, in its event-hour partition', () => {
    expect(verification.lake).toEqual(exactly(ref.readings.size));
    expect(verification.lakeLayout).toEqual([]);
  });

  it('dead-letters exactly the malformed records, with the reason and source coordinates', () => {
    expect(ref.malformed.size).toBeGreaterThan(0);
    expect(verification.deadLetters).toEqual(exactly(ref.malformed.size));
  });

  it('writes 1-minute aggregates equal to a reference computation from the raw topic', () => {
    const expected = referenceAggregates(ref);
    // Several readings per window, or min/max/avg would not be tested.
    expect(ref.readings.size / expected.size).toBeGreaterThan(20);
    expect(verification.aggregates).toEqual(exactly(expected.size));
  });

  it('serves /healthz and /readyz while running and exits 0 on SIGTERM', () => {
    for (const name of [...consumerApps, 'producer'] as AppName[]) expect([name, probes[name]]).toEqual([name, { healthz: 200, readyz: 200 }]);
    expect(exits).toEqual(Object.fromEntries(consumerApps.map((n) => [n, { code: 0, signal: null }])));
  });

  describe('metrics', () => {
    it.each([...consumerApps, 'producer'] as AppName[])('%s exposes every sdp_* metric family', (name) => {
      const families = scrapes[name]?.families ?? new Map();
      expect(Object.fromEntries(Object.keys(sdpFamilies).map((f) => [f, families.get(f)]))).toEqual(sdpFamilies);
      expect(total(scrapes[name] as Scrape, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    });

    it('producer counts the records it sent', () => {
      const s = scrapes.producer as Scrape;
      expect(total(s, 'sdp_records_out_total', { app: 'producer', topic: topics.raw.name })).toBeGreaterThan(0);
      expect(total(s, 'sdp_errors_total')).toBe(0);
    });

    it('processor counts records in and out, dead letters by reason, batch latency and lag', () => {
      const s = scrapes.processor as Scrape;
      const aggregates = referenceAggregates(ref).size;
      expect(total(s, 'sdp_records_in_total', { topic: topics.raw.name })).toBeGreaterThanOrEqual(ref.rawRecords);
      expect(total(s, 'sdp_records_out_total', { topic: topics.clean.name })).toBe(ref.readings.size);
      expect(total(s, 'sdp_records_out_total', { topic: topics.deadLetter.name })).toBe(ref.malformed.size);
      expect(total(s, 'sdp_records_out_total', { topic: topics.aggregates.name })).toBe(aggregates);
      expect(total(s, 'sdp_dlq_records_total')).toBe(ref.malformed.size);
      expect(new Set(samplesOf(s, 'sdp_dlq_records_total').map((x) => x.labels.reason))).toEqual(new Set(['invalid_json', 'schema_violation']));
      expect(total(s, 'sdp_batch_duration_seconds_count', { stage: 'batch' })).toBeGreaterThan(0);
      expect(total(s, 'sdp_errors_total')).toBe(0);
      expectCaughtUpLag(s, topics.raw.name, topics.raw.partitions);
    });

    it('cassandra-sink counts rows written per table, end-to-end latency and lag', () => {
      const s = scrapes['cassandra-sink'] as Scrape;
      const aggregates = referenceAggregates(ref).size;
      expect(total(s, 'sdp_records_in_total', { topic: topics.clean.name })).toBeGreaterThanOrEqual(ref.readings.size);
      expect(total(s, 'sdp_records_in_total', { topic: topics.aggregates.name })).toBeGreaterThanOrEqual(aggregates);
      expect(total(s, 'sdp_records_out_total', { topic: 'readings_by_device_day' })).toBeGreaterThanOrEqual(ref.readings.size);
      expect(total(s, 'sdp_records_out_total', { topic: 'aggregates_by_device_minute' })).toBeGreaterThanOrEqual(aggregates);
      expect(total(s, 'sdp_end_to_end_latency_seconds_count')).toBeGreaterThanOrEqual(ref.readings.size + aggregates);
      expect(total(s, 'sdp_batch_duration_seconds_count', { stage: 'write' })).toBeGreaterThan(0);
      expect(total(s, 'sdp_errors_total')).toBe(0);
      expect(total(s, 'sdp_dlq_records_total')).toBe(0);
      expectCaughtUpLag(s, topics.clean.name, topics.clean.partitions);
      expectCaughtUpLag(s, topics.aggregates.name, topics.aggregates.partitions);
    });

    it('lake-sink counts readings landed in the lake, end-to-end latency and lag', () => {
      const s = scrapes['lake-sink'] as Scrape;
      expect(total(s, 'sdp_records_in_total', { topic: topics.clean.name })).toBeGreaterThanOrEqual(ref.readings.size);
      expect(total(s, 'sdp_records_out_total', { topic: topics.clean.name })).toBe(ref.readings.size);
      expect(total(s, 'sdp_end_to_end_latency_seconds_count')).toBe(ref.readings.size);
      expect(total(s, 'sdp_batch_duration_seconds_count', { stage: 'upload' })).toBeGreaterThan(0);
      expect(total(s, 'sdp_errors_total')).toBe(0);
      expectCaughtUpLag(s, topics.clean.name, topics.clean.partitions);
    });
  });
});

/** One lag sample per partition of the topic, all zero once the consumer has caught up. */
function expectCaughtUpLag(s: Scrape, topic: string, partitions: number): void {
  const lag = samplesOf(s, 'sdp_consumer_lag').filter((x) => x.labels.topic === topic);
  expect(lag.map((x) => Number(x.labels.partition)).sort((a, b) => a - b)).toEqual([...Array(partitions).keys()]);
  expect(lag.filter((x) => x.value !== 0)).toEqual([]);
}
