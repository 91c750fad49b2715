/**
 * Fault tests against the real local services: each scenario injects one fault while the
 * pipeline is demonstrably mid-run (some, not all, readings in the store), lets the apps recover,
 * and then requires every store to match the reference exactly: each valid reading once per
 * primary key in Cassandra and once in the lake, the DLQ holding exactly the malformed records,
 * and (where the fault touches them) the aggregates equal to a reference computation.
 */
import { apps, topics } from '../../apps/contracts';
import { restart, start, stop } from '../../scripts/local/local-services';
import { countReadings, readReadings } from './support/cassandra';
import { committedTotal, groupBacklog, resetGroupToEarliest, topicOffsets, withAdmin } from './support/kafka';
import { scrape, Scrape, total } from './support/metrics';
import { AppExit, AppName, appPorts } from './support/processes';
import { compareManifest, exactly, readingKey, Reference, referenceAggregates } from './support/reference';
import { Load, Scenario, Verification } from './support/scenario';
import { done, pending, sleep, waitFor } from './support/wait';

/** ~10 s of production at a rate the pipeline keeps up with, so a fault lands mid-run. */
const load: Load = { events: 40_000, rate: 4_000, devices: 200, malformedRatio: 0.02 };
const expectedValid = load.events * (1 - load.malformedRatio);
/** Inject the fault once the store holds between 20% and 60% of the readings. */
const midRun = [0.2 * expectedValid, 0.6 * expectedValid] as const;

const SCENARIO_TIMEOUT_MS = 300_000;

let run: Scenario | undefined;

afterEach(async () => {
  await run?.close();
  run = undefined;
});

/** Producer done, raw topic = manifest, all stores caught up, apps stopped (exit 0), stores compared. */
async function finish(scenario: Scenario, opts: { aggregates: boolean }): Promise<{ ref: Reference; verification: Verification }> {
  await scenario.waitProducer();
  const { ref, manifest } = await scenario.reference();
  expect(ref.rawRecords).toBe(load.events);
  expect(ref.rawDuplicates).toEqual([]);
  expect(compareManifest(ref, manifest).valid).toEqual(exactly(ref.readings.size));
  await scenario.waitComplete(ref, opts);
  expectCleanExits(await scenario.stopApps());
  return { ref, verification: await scenario.verify(ref, opts) };
}

/** Graceful shutdown worked for every app still running: exit 0 on SIGTERM. */
function expectCleanExits(exits: Partial<Record<AppName, AppExit>>): void {
  expect(Object.entries(exits).filter(([, e]) => e?.code !== 0)).toEqual([]);
}

function expectExactlyOnce(ref: Reference, verification: Verification, aggregates: boolean): void {
  expect(verification).toEqual({
    readings: exactly(ref.readings.size),
    lake: exactly(ref.readings.size),
    lakeLayout: [],
    deadLetters: exactly(ref.malformed.size),
    ...(aggregates ? { aggregates: exactly(referenceAggregates(ref).size) } : {}),
  });
}

describe('fault tolerance: nothing lost, nothing duplicated', () => {
  it(
    'survives kill -9 of the cassandra-sink mid-run',
    async () => {
      run = await Scenario.fresh('kill-cassandra-sink');
      await run.startConsumers();
      run.startProducer(load);
      const atKill = await run.waitMidRun('readings in Cassandra', countReadings, ...midRun);
      await run.kill9('cassandra-sink');
      run.start('cassandra-sink');

      const { ref, verification } = await finish(run, { aggregates: true });
      expect(atKill).toBeLessThan(ref.readings.size);
      expectExactlyOnce(ref, verification, true);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'survives kill -9 of the lake-sink mid-run',
    async () => {
      run = await Scenario.fresh('kill-lake-sink');
      await run.startConsumers();
      run.startProducer(load);
      const scenario = run;
      const atKill = await run.waitMidRun('readings in the lake', () => scenario.lakeReadings(), ...midRun);
      await run.kill9('lake-sink');
      // What the killed sink left behind: files it had uploaded, some not final yet.
      const leftBehind = await run.lakeObjects();
      run.start('lake-sink');

      const { ref, verification } = await finish(run, { aggregates: false });
      expect(atKill).toBeLessThan(ref.readings.size);
      expect(leftBehind.length).toBeGreaterThan(0);
      expectExactlyOnce(ref, verification, false);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'holds writes while Cassandra is stopped for 20 s mid-run, then completes them',
    async () => {
      run = await Scenario.fresh('cassandra-outage');
      await run.startConsumers();
      run.startProducer(load);
      const atStop = await run.waitMidRun('readings in Cassandra', countReadings, ...midRun);
      const sinkTopics = [topics.clean.name, topics.aggregates.name];
      let committedWhenDown: number;
      let committedBeforeUp: number;
      let backlogBeforeUp: number;
      let duringOutage: Scrape;
      await stop(['cassandra']);
      try {
        committedWhenDown = await withAdmin((admin) => committedTotal(admin, apps.cassandraSink.consumerGroup, sinkTopics));
        await sleep(20_000);
        [committedBeforeUp, backlogBeforeUp] = await withAdmin(async (admin) => [
          await committedTotal(admin, apps.cassandraSink.consumerGroup, sinkTopics),
          await groupBacklog(admin, apps.cassandraSink.consumerGroup, topics.clean.name, await topicOffsets(admin, topics.clean.name)),
        ]);
        duringOutage = await scrape(appPorts['cassandra-sink']);
      } finally {
        // Whatever happened, the next scenarios need Cassandra back.
        await start(['cassandra']);
      }

      // Retrying, not skipping: records were waiting, yet nothing was committed while the store was down.
      expect({
        committedWhileDown: committedBeforeUp - committedWhenDown,
        recordsWaiting: backlogBeforeUp > 0,
        retrying: total(duringOutage, 'sdp_write_retries_total') > 0,
        sinkAlive: run.app('cassandra-sink').running,
      }).toEqual({ committedWhileDown: 0, recordsWaiting: true, retrying: true, sinkAlive: true });

      const { ref, verification } = await finish(run, { aggregates: true });
      expect(atStop).toBeLessThan(ref.readings.size);
      expectExactlyOnce(ref, verification, true);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'recovers every app from a Kafka broker restart mid-run',
    async () => {
      run = await Scenario.fresh('kafka-restart');
      await run.startConsumers();
      run.startProducer(load);
      const atRestart = await run.waitMidRun('readings in Cassandra', countReadings, ...midRun);
      await restart('kafka');

      const { ref, verification } = await finish(run, { aggregates: true });
      expect(atRestart).toBeLessThan(ref.readings.size);
      expectExactlyOnce(ref, verification, true);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'replays both sinks from the earliest offset without duplicating anything',
    async () => {
      run = await Scenario.fresh('replay');
      await run.startConsumers();
      run.startProducer({ ...load, rate: 0 });
      await run.waitProducer();
      const { ref } = await run.reference();
      await run.waitComplete(ref, { aggregates: true });
      await run.stop('cassandra-sink');
      await run.stop('lake-sink');
      const firstPass = await run.lakeObjects();

      await withAdmin(async (admin) => {
        await resetGroupToEarliest(admin, apps.cassandraSink.consumerGroup, [topics.clean.name, topics.aggregates.name]);
        await resetGroupToEarliest(admin, apps.lakeSink.consumerGroup, [topics.clean.name]);
        // Really rewound: the whole clean topic is behind each sink's commit again.
        const clean = await topicOffsets(admin, topics.clean.name);
        expect(await groupBacklog(admin, apps.lakeSink.consumerGroup, topics.clean.name, clean)).toBeGreaterThanOrEqual(ref.readings.size);
        expect(await groupBacklog(admin, apps.cassandraSink.consumerGroup, topics.clean.name, clean)).toBeGreaterThanOrEqual(ref.readings.size);
      });
      // Object timestamps have 1 s resolution: anything written from here on is the replay's.
      await sleep(1_100);
      const replayFrom = Date.now();
      run.start('cassandra-sink');
      run.start('lake-sink');

      // Done when the objects written since the replay began hold every reading again.
      const replayed = await waitFor(
        'the replay to land every reading in the lake again',
        async () => {
          const objects = await run!.lakeObjects();
          const fresh = objects.filter((o) => o.lastModified >= Math.floor(replayFrom / 1000) * 1000);
          const readings = new Set(fresh.flatMap((o) => o.rows.map(readingKey))).size;
          return readings >= ref.readings.size ? done(objects) : pending(`${readings} readings in ${fresh.length} rewritten objects`);
        },
        { timeoutMs: 120_000, intervalMs: 1_000, guard: run.guard },
      );
      await run.waitComplete(ref, { aggregates: true });
      const rows = await readReadings();
      expectCleanExits(await run.stopApps());

      // Deterministic keys: the replay overwrote the same objects, every one of them, with byte-identical files (same ETag).
      expect(Object.fromEntries(replayed.map((o) => [o.key, o.etag]))).toEqual(Object.fromEntries(firstPass.map((o) => [o.key, o.etag])));
      expect(replayed.filter((o) => o.lastModified < Math.floor(replayFrom / 1000) * 1000).map((o) => o.key)).toEqual([]);
      // Cassandra: every row was upserted again by the replay, none added.
      expect(rows.length).toBe(ref.readings.size);
      expect(rows.filter((r) => r.writtenAtUs < replayFrom * 1000).length).toBe(0);
      expectExactlyOnce(ref, await run.verify(ref, { aggregates: true }), true);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
