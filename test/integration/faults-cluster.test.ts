/**
 * Broker faults as MSK has them, on the local 3-node KRaft cluster (RF 3, min ISR 2, as in
 * staging and prod): a rolling restart one node at a time (how MSK applies every patch) and a
 * crash of a partition leader. Unlike a single broker's restart (faults.test.ts), neither is an
 * outage: the pipeline keeps going, and the stores must still match the reference exactly.
 *
 * The file switches Kafka to the cluster and back (`useKafkaNodes`), so the other files find the
 * single node the global setup started.
 */
import { topics } from '../../apps/contracts';
import { KafkaNodeCount, killKafkaNode, rollingRestart, RollingRestartStep, startKafkaNode, useKafkaNodes } from '../../scripts/local/local-services';
import { countReadings } from './support/cassandra';
import { expectExactlyOnce, finish, load } from './support/faults';
import { partitionLeader, withAdmin } from './support/kafka';
import { Load, Scenario } from './support/scenario';
import { done, pending, waitFor } from './support/wait';

/** ~2 min of production: long enough that three nodes restart one after another while readings arrive. */
const rollingLoad: Load = { ...load, events: 90_000, rate: 750 };
/** ~40 s of production, for a crash held until the pipeline has visibly moved on without the node. */
const crashLoad: Load = { ...load, events: 60_000, rate: 1_500 };

/** The cluster costs ~4x one broker's CPU; with two burners beside it, a scenario takes minutes. */
const CLUSTER_SCENARIO_TIMEOUT_MS = 900_000;

const quiet = { info: () => undefined, warn: () => undefined };
let previous: KafkaNodeCount | undefined;
let run: Scenario | undefined;

beforeAll(async () => {
  previous = await useKafkaNodes(3, quiet);
}, 300_000);

afterAll(async () => {
  if (previous !== undefined) await useKafkaNodes(previous, quiet);
}, 300_000);

afterEach(async () => {
  await run?.close();
  run = undefined;
});

describe('broker faults on a 3-node cluster: nothing lost, nothing duplicated', () => {
  it(
    'rolls every broker, one at a time as MSK patches them, mid-run',
    async () => {
      run = await Scenario.fresh('rolling-restart');
      await run.startConsumers();
      run.startProducer(rollingLoad);
      const valid = rollingLoad.events * (1 - rollingLoad.malformedRatio);
      const atStart = await run.waitMidRun('readings in Cassandra', countReadings, 0.05 * valid, 0.4 * valid);
      const steps: RollingRestartStep[] = await rollingRestart({ timeoutMs: 300_000 });
      const atEnd = await countReadings();
      process.stdout.write(
        `rolling restart: ${steps.map((s) => `node ${s.node} back in sync after ${(s.backInSyncMs / 1000).toFixed(1)} s`).join(', ')}; ` +
          `readings in Cassandra ${atStart} at its start, ${atEnd} at its end\n`,
      );
      // Each node really went down and came back as a new process.
      expect(steps.map((s) => ({ node: s.node, restarted: s.pidBefore !== undefined && s.pidAfter !== undefined && s.pidAfter !== s.pidBefore }))).toEqual([
        { node: 1, restarted: true },
        { node: 2, restarted: true },
        { node: 3, restarted: true },
      ]);

      // The same app processes finish the run: nothing was restarted by the test.
      const { ref, verification } = await finish(run, { aggregates: true }, rollingLoad);
      expect(atStart).toBeLessThan(ref.readings.size);
      expectExactlyOnce(ref, verification, true);
    },
    CLUSTER_SCENARIO_TIMEOUT_MS,
  );

  it(
    'survives kill -9 of a raw partition leader mid-run, and its return',
    async () => {
      run = await Scenario.fresh('kill-leader');
      await run.startConsumers();
      // The killed node may be the KRaft controller too (every node here is both): a controller
      // election plus fencing the dead broker takes longer than kafkajs' default retry budget
      // (KAFKA_RETRIES 8, about 25 s of backoff) on a loaded 2-core machine, and the producer,
      // the test's load generator, must ride out the failover rather than exit. MSK moves
      // leaders in seconds; the apps keep the default.
      run.startProducer(crashLoad, { KAFKA_RETRIES: '14' });
      const valid = crashLoad.events * (1 - crashLoad.malformedRatio);
      const atKill = await run.waitMidRun('readings in Cassandra', countReadings, 0.1 * valid, 0.5 * valid);
      const victim = await withAdmin((admin) => partitionLeader(admin, topics.raw.name, 0));
      expect(await killKafkaNode(victim)).toBeDefined();

      // Without the node, the partition gets a new leader from the ISR and the pipeline moves on.
      const newLeader = await waitFor(
        `a new leader of ${topics.raw.name}/0 after node ${victim} was killed`,
        async () => {
          const leader = await withAdmin((admin) => partitionLeader(admin, topics.raw.name, 0));
          return leader !== victim && leader >= 0 ? done(leader) : pending(`leader ${leader}`);
        },
        { timeoutMs: 120_000, intervalMs: 500, guard: run.guard },
      );
      const progressed = await waitFor(
        `readings to keep landing while node ${victim} is down`,
        async () => {
          const n = await countReadings();
          return n >= atKill + 2_000 ? done(n) : pending(`${n} readings (${atKill} at the kill)`);
        },
        { timeoutMs: 180_000, intervalMs: 500, guard: run.guard },
      );
      await startKafkaNode(victim, { timeoutMs: 300_000 });

      const { ref, verification } = await finish(run, { aggregates: true }, crashLoad);
      expect({ newLeaderIsAnother: newLeader !== victim, progressedWithoutIt: progressed > atKill, killedMidRun: atKill < ref.readings.size }).toEqual({
        newLeaderIsAnother: true,
        progressedWithoutIt: true,
        killedMidRun: true,
      });
      expectExactlyOnce(ref, verification, true);
    },
    CLUSTER_SCENARIO_TIMEOUT_MS,
  );
});
