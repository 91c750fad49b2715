/**
 * Fault tests against the real local services: each scenario injects one fault while the
 * pipeline is demonstrably mid-run (some, not all, readings in the store), lets the apps recover,
 * and then requires every store to match the reference exactly: each valid reading once per
 * primary key in Cassandra and once in the lake, the DLQ holding exactly the malformed records,
 * and (where the fault touches them) the aggregates equal to a reference computation.
 *
 * Bounds are generous on purpose (the suite must pass beside two CPU burners); waits are for
 * conditions, and the only fixed durations are deliberate outages.
 */
import { apps, topics } from '../../apps/contracts';
import { restart, start, stop } from '../../scripts/local/local-services';
import { countReadings, readReadings } from './support/cassandra';
import { committedTotal, groupBacklog, resetGroupToEarliest, topicOffsets, transactionStates, withAdmin } from './support/kafka';
import { probeStatus, scrape, Scrape, total } from './support/metrics';
import { AppExit, AppName, appPorts } from './support/processes';
import {
  expectCleanExits,
  expectExactlyOnce,
  finish,
  load,
  longLoad,
  LONG_SCENARIO_TIMEOUT_MS,
  midRun,
  processorTransactionalIds,
  SCENARIO_TIMEOUT_MS,
  SHUTDOWN_BOUND_MS,
} from './support/faults';
import { compareManifest, readingKey } from './support/reference';
import { consumerApps, Scenario } from './support/scenario';
import { done, pending, sleep, waitFor } from './support/wait';

let run: Scenario | undefined;

afterEach(async () => {
  await run?.close();
  run = undefined;
});

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
    'holds writes while Cassandra is stopped for 20 s mid-run, stops within the bound on SIGTERM, then completes them',
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
      let sinkAlive: boolean;
      let sigterm: { exit: AppExit; ms: number };
      await stop(['cassandra']);
      try {
        committedWhenDown = await withAdmin((admin) => committedTotal(admin, apps.cassandraSink.consumerGroup, sinkTopics));
        await sleep(20_000);
        [committedBeforeUp, backlogBeforeUp] = await withAdmin(async (admin) => [
          await committedTotal(admin, apps.cassandraSink.consumerGroup, sinkTopics),
          await groupBacklog(admin, apps.cassandraSink.consumerGroup, topics.clean.name, await topicOffsets(admin, topics.clean.name)),
        ]);
        duringOutage = await scrape(appPorts['cassandra-sink']);
        sinkAlive = run.app('cassandra-sink').running;
        // Bounded shutdown with the store down: SIGTERM while its writes are retrying (SIGKILL only past twice the bound, so an overrun is measured).
        const began = Date.now();
        sigterm = { exit: await run.stop('cassandra-sink', 1, 2 * SHUTDOWN_BOUND_MS), ms: Date.now() - began };
      } finally {
        // Whatever happened, the next scenarios need Cassandra back.
        await start(['cassandra']);
      }

      // Retrying, not skipping: records were waiting, yet nothing was committed while the store was down.
      expect({
        committedWhileDown: committedBeforeUp - committedWhenDown,
        recordsWaiting: backlogBeforeUp > 0,
        retrying: total(duringOutage, 'sdp_write_retries_total') > 0,
        sinkAlive,
      }).toEqual({ committedWhileDown: 0, recordsWaiting: true, retrying: true, sinkAlive: true });
      process.stdout.write(
        `shutdown with Cassandra down: cassandra-sink exit ${sigterm.exit.code ?? sigterm.exit.signal} after ${(sigterm.ms / 1000).toFixed(1)} s\n`,
      );
      // It ended itself within the bound, and its shutdown committed nothing it had not written.
      expect({ signal: sigterm.exit.signal, withinBound: sigterm.ms < SHUTDOWN_BOUND_MS }).toEqual({ signal: null, withinBound: true });
      expect(await withAdmin((admin) => committedTotal(admin, apps.cassandraSink.consumerGroup, sinkTopics))).toBe(committedBeforeUp);

      run.start('cassandra-sink');
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
      // The load generator rides out the restart, as in the outage scenario below: on a busy
      // machine Kafka is down for 25 s or more, longer than kafkajs' connection retries, and the
      // producer (not under test here) would exit with its readings unsent.
      run.startProducer(load, { KAFKA_RETRIES: '100', KAFKA_MAX_RETRY_TIME_MS: '2000' });
      const atRestart = await run.waitMidRun('readings in Cassandra', countReadings, ...midRun);
      await restart('kafka');

      const { ref, verification } = await finish(run, { aggregates: true });
      expect(atRestart).toBeLessThan(ref.readings.size);
      expectExactlyOnce(ref, verification, true);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'rebalances the processor and each sink from 1 to 2 to 1 instances mid-run',
    async () => {
      run = await Scenario.fresh('rebalance');
      const scenario = run;
      await run.startConsumers();
      run.startProducer(longLoad);
      const valid = longLoad.events * (1 - longLoad.malformedRatio);
      const atScaleOut = await run.waitMidRun('readings in Cassandra', countReadings, 0.1 * valid, 0.5 * valid);
      const scaled: readonly AppName[] = ['processor', 'cassandra-sink', 'lake-sink'];
      await Promise.all(scaled.map((name) => scenario.scaleTo(name, 2)));
      // The group really moved work: every second instance was assigned partitions and consumed from them.
      await waitFor(
        'every second instance to consume records',
        async () => {
          const counts = await Promise.all(scaled.map(async (name) => total(await scrape(scenario.app(name, 2).port), 'sdp_records_in_total')));
          return counts.every((n) => n > 0) ? done(undefined) : pending(scaled.map((name, i) => `${name}-2: ${counts[i]}`).join(', '));
        },
        { timeoutMs: 120_000, intervalMs: 500, guard: run.guard },
      );
      const atScaleIn = await countReadings();
      // Scale in with SIGTERM, as Kubernetes does: the leaving instance commits what it wrote and leaves the group.
      const exits = (await Promise.all(scaled.map((name) => scenario.scaleTo(name, 1)))).flat();
      expect(exits).toEqual(scaled.map(() => ({ code: 0, signal: null })));

      const { ref, verification } = await finish(run, { aggregates: true }, longLoad);
      expect({ scaledOutMidRun: atScaleOut < ref.readings.size, scaledInMidRun: atScaleIn < ref.readings.size }).toEqual({
        scaledOutMidRun: true,
        scaledInMidRun: true,
      });
      expectExactlyOnce(ref, verification, true);
    },
    LONG_SCENARIO_TIMEOUT_MS,
  );

  it(
    'survives kill -9 of the processor mid-transaction',
    async () => {
      run = await Scenario.fresh('kill-processor');
      await run.startConsumers();
      run.startProducer(load);
      await run.waitMidRun('readings in Cassandra', countReadings, ...midRun);
      const processor = run.app('processor');
      const progress = async () => {
        const s = await scrape(processor.port);
        return {
          committed: total(s, 'sdp_transactions_total', { outcome: 'committed' }),
          cleanSent: total(s, 'sdp_records_out_total', { topic: topics.clean.name }),
        };
      };
      let lastCommitted = -1;
      await waitFor(
        'the processor to be committing transactions',
        async () => {
          const { committed } = await progress();
          const growing = lastCommitted >= 0 && committed > lastCommitted;
          lastCommitted = committed;
          return growing ? done(undefined) : pending(`${committed} transactions committed`);
        },
        { timeoutMs: 60_000, intervalMs: 200, guard: run.guard },
      );
      // Frozen, the processor can neither end a transaction nor start one: a transaction the
      // coordinator reports open then stays open, so the kill lands in the middle of it.
      const atKill = await waitFor(
        'a transaction of the frozen processor to be open',
        async () => {
          const before = await progress();
          processor.signal('SIGSTOP');
          let open: string[] = [];
          try {
            const states = await transactionStates();
            open = processorTransactionalIds.filter((id) => states.get(id) === 'Ongoing');
          } finally {
            if (open.length === 0) processor.signal('SIGCONT');
          }
          return open.length > 0 ? done({ open, cleanSent: before.cleanSent }) : pending('no transaction open when frozen');
        },
        { timeoutMs: 120_000, intervalMs: 100, guard: run.guard },
      );
      await run.kill9('processor');
      run.start('processor');
      // The restarted member joins once the killed one's session (30 s) expired, then fences its transactions.
      await run.waitReady('processor', { timeoutMs: 180_000 });

      const { ref, verification } = await finish(run, { aggregates: true });
      // Killed before it had even sent every reading, with transactions open.
      expect({ cleanSentBeforeKill: atKill.cleanSent < ref.readings.size, openAtKill: atKill.open.length > 0 }).toEqual({
        cleanSentBeforeKill: true,
        openAtKill: true,
      });
      expectExactlyOnce(ref, verification, true);
    },
    LONG_SCENARIO_TIMEOUT_MS,
  );

  it(
    'keeps every consumer alive but unready through a Kafka outage longer than its retries, and recovers by itself',
    async () => {
      run = await Scenario.fresh('kafka-outage');
      const scenario = run;
      // One retry per request: kafkajs gives up on every consumer early in the outage.
      await run.startConsumers({ KAFKA_RETRIES: '1' });
      // The load generator is not under test here: it rides out the outage (minutes of retries) and
      // resumes within 2 s of Kafka's return. With kafkajs' default 30 s backoff cap it could hold
      // its stamped readings past the processor's idle flush (15 s) plus lateness (10 s): they would
      // then be late by design (sdp_late_events_total) and missing from the reference's aggregates.
      run.startProducer(longLoad, { KAFKA_RETRIES: '100', KAFKA_MAX_RETRY_TIME_MS: '2000' });
      const valid = longLoad.events * (1 - longLoad.malformedRatio);
      const atStop = await run.waitMidRun('readings in Cassandra', countReadings, 0.1 * valid, 0.5 * valid);
      const consumers = consumerApps.map((name) => scenario.app(name));
      const unready = new Set<string>();
      const outageMs = 20_000;
      let duringOutage: { alive: string[]; unready: string[] };
      await stop(['kafka']);
      const stoppedAt = Date.now();
      try {
        duringOutage = await waitFor(
          'every consumer to answer /readyz with something other than 200 while Kafka is down',
          async () => {
            for (const app of consumers) if ((await probeStatus(app.port, '/readyz')) !== 200) unready.add(app.id);
            const down = Date.now() - stoppedAt;
            const state = { alive: consumers.filter((a) => a.running).map((a) => a.id), unready: [...unready].sort() };
            return unready.size === consumers.length && down >= outageMs
              ? done(state)
              : pending(`down ${Math.round(down / 1000)} s; unready so far: ${state.unready.join(', ') || 'none'}`);
          },
          { timeoutMs: 120_000, intervalMs: 250, guard: run.guard },
        );
      } finally {
        await start(['kafka']);
      }
      const ids = consumers.map((a) => a.id);
      expect(duringOutage).toEqual({ alive: ids, unready: [...ids].sort() });

      // Nothing restarted by the test: the same processes rejoin their groups (within the apps' 300 s give-up).
      await Promise.all(consumers.map((a) => scenario.waitReady(a.name, { timeoutMs: 240_000 })));
      // Each recovered a consumer that had failed: kafkajs crashed it or a batch failed, and the runner replaced it.
      const recoveries = await Promise.all(
        consumers.map(async (a) => {
          const s = await scrape(a.port);
          return [a.id, total(s, 'sdp_errors_total', { kind: 'consumer_crash' }) + total(s, 'sdp_errors_total', { kind: 'consumer_restart' })] as const;
        }),
      );
      expect(recoveries.filter(([, n]) => n === 0)).toEqual([]);

      const { ref, verification } = await finish(run, { aggregates: true }, longLoad);
      expect(atStop).toBeLessThan(ref.readings.size);
      expectExactlyOnce(ref, verification, true);
    },
    LONG_SCENARIO_TIMEOUT_MS,
  );

  it(
    'stops every app within the shutdown bound on SIGTERM with Kafka down, committing nothing it did not write',
    async () => {
      run = await Scenario.fresh('shutdown-kafka-down');
      await run.startConsumers();
      run.startProducer(longLoad);
      const valid = longLoad.events * (1 - longLoad.malformedRatio);
      const atStop = await run.waitMidRun('readings in Cassandra', countReadings, 0.1 * valid, 0.5 * valid);
      const running = run.runningApps().map((a) => a.id);
      let exits: Record<string, AppExit & { readonly ms: number }>;
      await stop(['kafka']);
      try {
        // SIGKILL only past twice the bound, so an overrun is measured rather than cut short.
        exits = await run.stopAppsTimed(2 * SHUTDOWN_BOUND_MS);
      } finally {
        await start(['kafka']);
      }
      process.stdout.write(
        `shutdown with Kafka down: ${Object.entries(exits)
          .map(([id, e]) => `${id} exit ${e.code ?? e.signal} after ${(e.ms / 1000).toFixed(1)} s`)
          .join(', ')}\n`,
      );
      // Every app, the producer too, ended itself (exit 0, or 1 for a cleanup cut short) within the bound.
      expect(Object.keys(exits).sort()).toEqual([...running].sort());
      expect(running).toContain('producer');
      const late = Object.entries(exits).filter(([, e]) => e.signal !== null || e.ms >= SHUTDOWN_BOUND_MS || (e.code !== 0 && e.code !== 1));
      expect(late).toEqual([]);

      // What the producer had acknowledged is in the raw topic, once; it stopped part-way.
      const { ref, manifest } = await run.reference();
      const acknowledged = compareManifest(ref, manifest).valid;
      expect({ ackedButMissing: acknowledged.unexpected, duplicated: acknowledged.duplicated, rawDuplicates: ref.rawDuplicates }).toEqual({
        ackedButMissing: 0,
        duplicated: 0,
        rawDuplicates: [],
      });
      expect(ref.rawRecords).toBeLessThan(longLoad.events);

      // Restarted, the apps resume from what was committed: had a shutdown committed anything it had not written, it would be missing now.
      await run.startConsumers();
      await run.waitComplete(ref, { aggregates: true });
      expectCleanExits(await run.stopApps());
      expect(atStop).toBeLessThan(ref.readings.size);
      expectExactlyOnce(ref, await run.verify(ref, { aggregates: true }), true);
    },
    LONG_SCENARIO_TIMEOUT_MS,
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
