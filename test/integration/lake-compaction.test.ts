/**
 * The lake's freshness parts and their compaction under kill -9 (docs/lake.md). The lake-sink is
 * frozen (SIGSTOP) at random moments; each frozen state, once the requests in flight at the freeze
 * have landed (Lake.settled), is read by the reader rule, must hold no
 * reading twice and no fewer readings than any earlier state, and is where the sink is killed
 * when it is one of the points around a compaction:
 * - `open parts`: parts of files still open exist (their file does not);
 * - `compacting`: a file exists while parts of it are still there, i.e. after the file's upload
 *   and before (or during) the deletion of its parts.
 * After both kills and restarts the run completes, and the lake must hold every valid reading
 * exactly once, with no part left whose file exists.
 */
import { lakeFileKeyOfPart } from '../../apps/contracts/lake';
import { expectExactlyOnce, finish, longLoad, LONG_SCENARIO_TIMEOUT_MS } from './support/faults';
import { Lake } from './support/lake';
import { readingKey } from './support/reference';
import { Scenario } from './support/scenario';
import { done, pending, sleep, waitFor } from './support/wait';

/** Small blocks and parts: many compactions in one run, each with several parts to delete. */
const lakeEnv = { LAKE_SINK_MAX_RECORDS: '1000', LAKE_SINK_PART_RECORDS: '100', LAKE_SINK_IDLE_FLUSH_MS: '500' };

type KillPoint = 'open parts' | 'compacting';

let run: Scenario | undefined;
const lake = new Lake();

afterEach(async () => {
  await run?.close();
  run = undefined;
});

afterAll(() => lake.close());

describe('lake compaction', () => {
  it(
    'kill -9 with open parts and in the middle of a compaction: a reader by the rule never sees a reading twice or loses one',
    async () => {
      run = await Scenario.fresh('lake-compaction');
      const scenario = run;
      await run.startConsumers(lakeEnv);
      run.startProducer(longLoad);

      const killed: { point: KillPoint; visible: number; openParts: number; compactedParts: number }[] = [];
      let visibleBefore = 0;
      let samples = 0;
      for (const point of ['open parts', 'compacting'] as const) {
        await waitFor(
          `the lake-sink frozen at "${point}"`,
          async () => {
            const sink = scenario.app('lake-sink');
            if (!sink.running) return pending('lake-sink restarting');
            sink.signal('SIGSTOP');
            let hit = false;
            try {
              samples++;
              await lake.settled();
              const listing = await lake.listing();
              const objects = await lake.read();
              const keys = objects.flatMap((o) => o.rows.map(readingKey));
              const visible = new Set(keys).size;
              // The reader rule on a state the sink cannot change under us.
              expect({ point, duplicates: keys.length - visible }).toEqual({ point, duplicates: 0 });
              expect(visible).toBeGreaterThanOrEqual(visibleBefore);
              visibleBefore = visible;
              expect(objects.filter((o) => o.kind === 'part' && listing.files.has(lakeFileKeyOfPart(o.key) ?? ''))).toEqual([]);
              hit = point === 'open parts' ? listing.openParts.length > 0 : listing.compactedParts.length > 0;
              if (hit) {
                await scenario.kill9('lake-sink');
                killed.push({ point, visible, openParts: listing.openParts.length, compactedParts: listing.compactedParts.length });
              }
            } finally {
              if (!hit) sink.signal('SIGCONT');
            }
            if (!hit) {
              await sleep(20 + Math.floor(Math.random() * 150));
              return pending(`${samples} frozen states, none at "${point}"`);
            }
            return done(undefined);
          },
          { timeoutMs: 150_000, intervalMs: 1, guard: scenario.guard },
        );
        // What the dead sink left, read by the rule, is what it showed when it died.
        await lake.settled();
        const afterKill = await lake.read();
        expect(new Set(afterKill.flatMap((o) => o.rows.map(readingKey))).size).toBe(killed.at(-1)?.visible);
        run.start('lake-sink', lakeEnv);
        await run.waitReady('lake-sink');
      }
      expect(killed.map((k) => k.point)).toEqual(['open parts', 'compacting']);

      const { ref, verification } = await finish(run, { aggregates: false }, longLoad);
      expectExactlyOnce(ref, verification, false);
      // Every compaction finished its deletions, including the one the kill interrupted (the replay redid it).
      const end = await lake.listing();
      expect(end.compactedParts).toEqual([]);
      expect(killed[0].visible).toBeLessThan(ref.readings.size);
    },
    LONG_SCENARIO_TIMEOUT_MS,
  );
});
