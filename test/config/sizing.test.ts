import * as fs from 'fs';
import { dev, EnvironmentConfigInput, prod, staging } from '../../config';
import { configIssues } from './config-issues';
import { keyspacesRequestsPerSec, measured, minimumReplicas, plannedReplicas, sinkPoolCapacity, sizeFor, sizingTables } from '../../config/sizing';
import { docTables, SIZING_DOC, withTables } from '../../scripts/sizing/sizing';

const issuesOf = configIssues;
const withPeak = (base: EnvironmentConfigInput, peakEventsPerSecond: number, apps: Record<string, unknown> = {}): EnvironmentConfigInput => {
  const c = structuredClone(base) as any;
  c.sizing = { peakEventsPerSecond };
  for (const [k, v] of Object.entries(apps)) c.apps[k] = { ...c.apps[k], ...(v as object) };
  return c;
};

describe('the sizing model', () => {
  test('replicas: the refusal bound uses the cheapest measured cost, the plan the dearest (x the day-to-day spread)', () => {
    // processor: 2 cores x 70% / its measured µs per reading, at best.
    const best = Math.floor((2e6 * 0.7) / measured.cpuMicrosPerEvent.processor);
    expect(minimumReplicas('processor', best)).toBe(1);
    expect(minimumReplicas('processor', best + 1)).toBe(2);
    expect(plannedReplicas('processor', 100_000)).toBe(Math.ceil(100_000 / ((2e6 * 0.7) / (measured.cpuMicrosPerEvent.processor * measured.dayToDaySpread))));
    expect(plannedReplicas('processor', 100_000)).toBeGreaterThan(minimumReplicas('processor', 100_000));
  });

  test('scales every figure with the load, and keeps each within its published limit', () => {
    const [a, b, c] = [10_000, 100_000, 1_000_000].map((l) => sizeFor(l));
    expect(b.keyspaces.writesPerSec).toBe(10 * a.keyspaces.writesPerSec);
    expect(c.replicas.processor.planned).toBeGreaterThan(b.replicas.processor.planned);
    for (const r of [a, b, c]) {
      for (const app of Object.values(r.replicas)) expect(app.max).toBeLessThanOrEqual(r.partitions);
      expect(r.msk.storageGiBPerBroker).toBeLessThanOrEqual(16_384);
      expect(r.msk.connectionsPerBroker).toBeLessThanOrEqual(3_000);
      expect(r.msk.brokers % 3).toBe(0);
      expect(r.keyspaces.connections * 3_000 * 0.8).toBeGreaterThanOrEqual(r.keyspaces.writesPerSec);
    }
    // A week of retention at 1M/s needs more volume than 3 brokers can hold: storage sets the count.
    expect(c.msk.brokers).toBeGreaterThan(30);
  });

  test('docs/sizing.md holds exactly the tables the model prints (npm run sizing -- --write)', () => {
    expect(docTables(fs.readFileSync(SIZING_DOC, 'utf8'))).toBe(sizingTables());
    expect(withTables('a\n<!-- sizing:begin (npm run sizing -- --write) -->\nold\n<!-- sizing:end -->\nb', 'new')).toBe(
      'a\n<!-- sizing:begin (npm run sizing -- --write) -->\n\nnew\n\n<!-- sizing:end -->\nb',
    );
    expect(() => docTables('no markers')).toThrow(/markers/);
  });
});

describe('config validation against the model', () => {
  test('the shipped environments carry their declared peaks', () => {
    for (const env of [dev, staging, prod]) expect(issuesOf(env)).toEqual([]);
  });

  test('refuses a maxReplicas that cannot carry the peak even at the cheapest cost, and says when partitions are the limit', () => {
    // cassandra-sink: 1 core x 70% / its measured µs per reading, at best; one reading/s more than 4 replicas carry.
    const perReplica = (1e6 * 0.7) / measured.cpuMicrosPerEvent.cassandraSink;
    const peak = Math.floor(4 * perReplica) + 1;
    expect(issuesOf(withPeak(staging, peak, { cassandraSink: { maxReplicas: 4 } })).filter((i) => i.startsWith('apps.cassandraSink.maxReplicas'))).toEqual([
      expect.stringMatching(
        /^apps\.cassandraSink\.maxReplicas: 4 replicas cannot carry sizing\.peakEventsPerSecond \([\d,]+\/s\): .* at least 5 are needed; see docs\/sizing\.md$/,
      ),
    ]);
    expect(issuesOf(withPeak(staging, peak - 1, { cassandraSink: { maxReplicas: 4 } })).filter((i) => i.startsWith('apps.cassandraSink.maxReplicas'))).toEqual(
      [],
    );
    const tooBig = issuesOf(withPeak(prod, 1_000_000));
    expect(tooBig.find((i) => i.startsWith('apps.processor.maxReplicas'))).toMatch(/more than the 12 partitions of telemetry\.raw\.v1 allow: add partitions/);
    expect(issuesOf(withPeak(prod, 100_000))).toEqual([]);
  });

  test("refuses a cassandra-sink pool below the peak's Cassandra requests at 80% of Keyspaces' per-connection quota", () => {
    // staging: 3 AZs, 6 replicas at most: 1 connection per host carries 6 x 3 x 2,400 = 43,200 requests/s.
    expect(sinkPoolCapacity(1, 3) * 6).toBe(43_200);
    const peak = 43_000; // 43,860 requests/s with the aggregates
    expect(keyspacesRequestsPerSec(peak)).toBeGreaterThan(43_200);
    const issues = issuesOf(withPeak(staging, peak, { cassandraSink: { connectionsPerHost: 1, maxReplicas: 6 } }));
    expect(issues).toContainEqual(
      expect.stringMatching(
        /^apps\.cassandraSink\.connectionsPerHost: 1 connection\(s\) per host x 3 Keyspaces hosts .* x 6 replicas carry 43,200 requests\/s/,
      ),
    );
    expect(
      issuesOf(withPeak(staging, peak, { cassandraSink: { connectionsPerHost: 2, maxReplicas: 6 } })).filter((i) => i.includes('connectionsPerHost')),
    ).toEqual([]);
  });

  test("refuses provisioned Keyspaces write capacity below the peak's row writes per second", () => {
    const provisioned = (peak: number, writeCapacityUnits: number) => {
      const c = withPeak(staging, peak) as any;
      c.keyspaces = { ...c.keyspaces, capacityMode: 'PROVISIONED', readCapacityUnits: 100, writeCapacityUnits };
      return issuesOf(c).filter((i) => i.startsWith('keyspaces.'));
    };
    const needed = Math.ceil(keyspacesRequestsPerSec(10_000)); // 10,200 with the aggregates
    expect(provisioned(10_000, needed - 1)).toEqual([
      expect.stringMatching(/^keyspaces\.writeCapacityUnits: 10,199 WCUs are below the 10,200 row writes\/s .*peakEventsPerSecond \(10,000\/s\)/),
    ]);
    expect(provisioned(10_000, needed)).toEqual([]);
  });
});

test('a catalog setting keeps the bound of the app that reads it: the sink accepts at most 64 connections per host', () => {
  const c = structuredClone(staging) as any;
  c.apps.cassandraSink = { ...c.apps.cassandraSink, connectionsPerHost: 65 };
  expect(issuesOf(c)).toEqual([expect.stringMatching(/^apps\.cassandraSink\.connectionsPerHost: Too big: expected number to be <=64/)]);
});
