/**
 * What the fault suites share: the loads that put a fault mid-run, the time bounds, and the
 * end-of-scenario checks (every store equal to the reference, clean exits).
 */
import { apps, topics } from '../../../apps/contracts';
import { transactionalIdOf } from '../../../apps/contracts/apps';
import { AppExit } from './processes';
import { compareManifest, exactly, Reference, referenceAggregates } from './reference';
import { Load, Scenario, Verification } from './scenario';

/** ~10 s of production at a rate the pipeline keeps up with, so a fault lands mid-run. */
export const load: Load = { events: 40_000, rate: 4_000, devices: 200, malformedRatio: 0.02 };
export const expectedValid = load.events * (1 - load.malformedRatio);
/** Inject the fault once the store holds between 20% and 60% of the readings. */
export const midRun = [0.2 * expectedValid, 0.6 * expectedValid] as const;

/**
 * ~40 s of production, for faults that take a while to inject (scaling out and back in, an
 * outage held for 20 s) yet must still land while readings arrive.
 */
export const longLoad: Load = { ...load, events: 60_000, rate: 1_500 };

export const SCENARIO_TIMEOUT_MS = 300_000;
/** Scenarios that wait out a killed member's 30 s session or a broker outage. */
export const LONG_SCENARIO_TIMEOUT_MS = 480_000;

/**
 * The apps bound their own shutdown to 25 s (apps/lib/shutdown.ts); 30 s allows for a loaded
 * machine. Kubernetes waits terminationGracePeriodSeconds = 60 (constructs/stream-app.ts) before
 * it SIGKILLs a pod, so the bound fits well inside the grace period.
 */
export const SHUTDOWN_BOUND_MS = 30_000;

/** The processor's transactional ids, one per raw partition (apps/lib/transactions.ts). */
export const processorTransactionalIds = Array.from({ length: topics.raw.partitions }, (_, p) =>
  transactionalIdOf(apps.processor.consumerGroup, topics.raw.name, p),
);

/** Producer done, raw topic = manifest, all stores caught up, apps stopped (exit 0), stores compared. */
export async function finish(
  scenario: Scenario,
  opts: { aggregates: boolean },
  produced: Load = load,
): Promise<{ ref: Reference; verification: Verification }> {
  await scenario.waitProducer();
  const { ref, manifest } = await scenario.reference();
  expect(ref.rawRecords).toBe(produced.events);
  expect(ref.rawDuplicates).toEqual([]);
  expect(compareManifest(ref, manifest).valid).toEqual(exactly(ref.readings.size));
  await scenario.waitComplete(ref, opts);
  expectCleanExits(await scenario.stopApps());
  return { ref, verification: await scenario.verify(ref, opts) };
}

/** Graceful shutdown worked for every app still running: exit 0 on SIGTERM. */
export function expectCleanExits(exits: Readonly<Record<string, AppExit>>): void {
  expect(Object.entries(exits).filter(([, e]) => e?.code !== 0)).toEqual([]);
}

export function expectExactlyOnce(ref: Reference, verification: Verification, aggregates: boolean): void {
  expect(verification).toEqual({
    readings: exactly(ref.readings.size),
    lake: exactly(ref.readings.size),
    lakeLayout: [],
    deadLetters: exactly(ref.malformed.size),
    ...(aggregates ? { aggregates: exactly(referenceAggregates(ref).size) } : {}),
  });
}
