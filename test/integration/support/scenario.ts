/**
 * One pipeline run against the real services: reset state, start the apps as processes, produce
 * a known load, wait until every store has caught up, stop the apps, compare the stores with
 * the reference. Topic names and consumer groups are fixed by apps/contracts, so isolation comes
 * from a reset (topics recreated, groups deleted, tables truncated, lake prefix emptied) before
 * each scenario; the tests run in band, one scenario at a time.
 */
import * as fs from 'fs';
import * as path from 'path';
import { apps, topics } from '../../../apps/contracts';
import { consumerApps as catalogConsumers } from '../../../apps/contracts/apps';
import { waitAppReady } from '../../../scripts/local/apps';
import { ManifestEntry, parseManifest } from '../../../apps/producer/run';
import { countReadings, readAggregates, readReadings, truncateTables } from './cassandra';
import { groupBacklog, readTopic, resetKafka, topicOffsets, topicSize, TopicRecord, withAdmin } from './kafka';
import { Lake, LakeObject } from './lake';
import { AppExit, AppName, AppProcess, killAllApps, repoRoot } from './processes';
import {
  buildReference,
  compareAggregates,
  compareDeadLetters,
  compareLake,
  compareReadings,
  Comparison,
  lakeLayoutProblems,
  readingKey,
  Reference,
  referenceAggregates,
} from './reference';
import { done, pending, waitFor } from './wait';

export interface Load {
  readonly events: number;
  /** Events per second; 0 = as fast as the brokers acknowledge. */
  readonly rate: number;
  readonly devices: number;
  readonly malformedRatio: number;
  /** @default 7 */
  readonly seed?: number;
}

/**
 * Settings every scenario runs the apps with. Short idle flushes let the last windows and the
 * last lake files land within seconds of the run; small lake blocks make files seal (and their
 * offsets commit) mid-run, so a crash happens between committed and uncommitted files.
 */
export const appSettings: Partial<Record<AppName, Readonly<Record<string, string>>>> = {
  processor: { PROCESSOR_WINDOW_IDLE_FLUSH_MS: '1000' },
  'lake-sink': { LAKE_SINK_MAX_RECORDS: '2000', LAKE_SINK_IDLE_FLUSH_MS: '1000' },
  alerts: {},
};

/** Every app of the catalog that consumes, in catalog order (the producer is started by `startProducer`). */
export const consumerApps: readonly AppName[] = catalogConsumers.map((a) => a.name as AppName);

export interface Verification {
  readonly readings: Comparison;
  readonly lake: Comparison;
  readonly lakeLayout: readonly string[];
  readonly deadLetters: Comparison;
  readonly aggregates?: Comparison;
}

export class Scenario {
  private readonly lake = new Lake();
  private readonly apps = new Map<AppName, AppProcess>();
  /** Apps the scenario stopped or killed on purpose: their exit is not a failure. */
  private readonly expectedExits = new Set<AppProcess>();
  private readonly manifestPath: string;

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly startedAt: number,
  ) {
    this.manifestPath = path.join(dir, 'manifest.ndjson');
  }

  /** Kills leftovers, resets Kafka, Cassandra and the lake prefix; logs go to `.local/integration/<name>/`. */
  static async fresh(name: string): Promise<Scenario> {
    await killAllApps();
    const dir = path.join(repoRoot, '.local', 'integration', name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const lake = new Lake();
    try {
      await Promise.all([resetKafka(), truncateTables(), lake.clear()]);
    } finally {
      lake.close();
    }
    return new Scenario(name, dir, Date.now());
  }

  app(name: AppName): AppProcess {
    const a = this.apps.get(name);
    if (!a) throw new Error(`${name} was not started in scenario ${this.name}`);
    return a;
  }

  /** Starts (or restarts) an app with the scenario settings. */
  start(name: AppName, env: Readonly<Record<string, string>> = {}): AppProcess {
    const previous = this.apps.get(name);
    if (previous?.running) throw new Error(`${name} is already running (pid ${previous.pid})`);
    const app = new AppProcess(name, path.join(this.dir, `${name}.log`), { ...appSettings[name], ...env });
    this.apps.set(name, app);
    return app;
  }

  /** Throws when an app died that should be running, with the end of its log. */
  readonly guard = (): void => {
    for (const app of this.apps.values()) {
      if (app.running || this.expectedExits.has(app)) continue;
      if (app.name === 'producer' && app.exit?.code === 0) continue;
      throw new Error(`${app.name} exited unexpectedly (${JSON.stringify(app.exit)}); end of ${app.logFile}:\n${app.logTail()}`);
    }
  };

  /** Starts the processor and both sinks and waits until each reports ready (consuming). */
  async startConsumers(): Promise<void> {
    for (const name of consumerApps) this.start(name);
    await Promise.all(consumerApps.map((name) => this.waitReady(name)));
  }

  async waitReady(name: AppName, timeoutMs = 60_000): Promise<void> {
    const app = this.app(name);
    await waitAppReady(app.process, app.port, { timeoutMs, guard: this.guard });
  }

  startProducer(load: Load): AppProcess {
    return this.start('producer', {
      PRODUCER_EVENTS: String(load.events),
      PRODUCER_RATE: String(load.rate),
      PRODUCER_DEVICES: String(load.devices),
      PRODUCER_MALFORMED_RATIO: String(load.malformedRatio),
      PRODUCER_SEED: String(load.seed ?? 7),
      PRODUCER_MANIFEST: this.manifestPath,
    });
  }

  /** Waits for the producer to finish its events and exit 0. */
  async waitProducer(timeoutMs = 120_000): Promise<void> {
    const producer = this.app('producer');
    const exit = await Promise.race([producer.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs).unref())]);
    if (exit === undefined) throw new Error(`producer still running after ${timeoutMs / 1000} s; end of its log:\n${producer.logTail()}`);
    if (exit.code !== 0) throw new Error(`producer exited with ${JSON.stringify(exit)}; end of its log:\n${producer.logTail()}`);
  }

  /**
   * Waits until `measure` is inside [from, to) and returns it: the fault is injected with the
   * run demonstrably in progress. Overshooting means the load is too small for the machine.
   */
  async waitMidRun(what: string, measure: () => Promise<number>, from: number, to: number, timeoutMs = 120_000): Promise<number> {
    let overshot: number | undefined;
    return waitFor(
      `${what} to be between ${from} and ${to}`,
      async () => {
        const n = await measure();
        if (n >= to) overshot = n;
        return n >= from && n < to ? done(n) : pending(`${what}: ${n}`);
      },
      {
        timeoutMs,
        intervalMs: 200,
        guard: () => {
          this.guard();
          if (overshot !== undefined) {
            throw new Error(`${what} reached ${overshot} before the fault could be injected (window ${from}..${to}); slow the producer down`);
          }
        },
      },
    );
  }

  /** Distinct readings currently visible in the lake. */
  async lakeReadings(): Promise<number> {
    const objects = await this.lake.read();
    return new Set(objects.flatMap((o) => o.rows.map(readingKey))).size;
  }

  async kill9(name: AppName): Promise<AppExit> {
    const app = this.app(name);
    this.expectedExits.add(app);
    return app.kill9();
  }

  /** The raw topic as the brokers hold it, and the producer's manifest of acknowledged records. */
  async reference(): Promise<{ ref: Reference; manifest: ManifestEntry[] }> {
    const raw = await readTopic(topics.raw.name);
    const manifest = parseManifest(fs.readFileSync(this.manifestPath, 'utf8'));
    return { ref: buildReference(raw), manifest };
  }

  /**
   * Waits until the processor has emitted every raw record, (optionally) closed every window,
   * and both sinks have written everything: Cassandra holds every reading and the sink's commits
   * reached the end of its topics; the lake shows every reading.
   */
  async waitComplete(ref: Reference, opts: { readonly aggregates: boolean; readonly timeoutMs?: number }): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 180_000;
    const wait = { timeoutMs, intervalMs: 1_000, guard: this.guard };
    const valid = ref.readings.size;
    const malformed = ref.malformed.size;
    await waitFor(
      'the processor to emit every raw record',
      () =>
        withAdmin(async (admin) => {
          const [clean, dead] = await Promise.all([topicSize(admin, topics.clean.name), topicSize(admin, topics.deadLetter.name)]);
          return clean >= valid && dead >= malformed ? done(undefined) : pending(`clean ${clean}/${valid}, dlq ${dead}/${malformed}`);
        }),
      wait,
    );
    if (opts.aggregates) {
      await waitFor(
        'the processor to close every window and commit the whole raw topic',
        () =>
          withAdmin(async (admin) => {
            const backlog = await groupBacklog(admin, apps.processor.consumerGroup, topics.raw.name, await topicOffsets(admin, topics.raw.name));
            return backlog === 0 ? done(undefined) : pending(`${backlog} raw records behind its commit`);
          }),
        wait,
      );
    }
    await waitFor(
      'Cassandra to hold every reading',
      async () => {
        const n = await countReadings();
        return n >= valid ? done(undefined) : pending(`${n}/${valid} readings`);
      },
      wait,
    );
    const sinkTopics = opts.aggregates ? [topics.clean.name, topics.aggregates.name] : [topics.clean.name];
    await waitFor(
      'cassandra-sink to commit to the end of its topics',
      () =>
        withAdmin(async (admin) => {
          let backlog = 0;
          for (const t of sinkTopics) backlog += await groupBacklog(admin, apps.cassandraSink.consumerGroup, t, await topicOffsets(admin, t));
          return backlog === 0 ? done(undefined) : pending(`${backlog} records behind its commit`);
        }),
      wait,
    );
    await waitFor(
      'the lake to show every reading',
      async () => {
        const n = await this.lakeReadings();
        return n >= valid ? done(undefined) : pending(`${n}/${valid} readings`);
      },
      { ...wait, intervalMs: 2_000 },
    );
  }

  /** SIGTERM to one app (graceful: it commits what it wrote and leaves its group). */
  async stop(name: AppName): Promise<AppExit> {
    const app = this.app(name);
    this.expectedExits.add(app);
    return app.stop();
  }

  /** SIGTERM to every running app; each must exit 0 (graceful shutdown). */
  async stopApps(): Promise<Partial<Record<AppName, AppExit>>> {
    const running = [...this.apps.values()].filter((a) => a.running);
    for (const a of running) this.expectedExits.add(a);
    const exits = await Promise.all(running.map(async (a) => [a.name, await a.stop()] as const));
    return Object.fromEntries(exits);
  }

  async deadLetters(): Promise<TopicRecord[]> {
    return readTopic(topics.deadLetter.name);
  }

  /** Compares every store with the reference; call with the apps stopped so nothing moves underneath. */
  async verify(ref: Reference, opts: { readonly aggregates: boolean }): Promise<Verification> {
    const [readings, objects, dlq, aggregates] = await Promise.all([
      readReadings(),
      this.lake.read(),
      this.deadLetters(),
      opts.aggregates ? readAggregates() : Promise.resolve(undefined),
    ]);
    return {
      readings: compareReadings(ref, readings),
      lake: compareLake(ref, objects),
      lakeLayout: lakeLayoutProblems(objects),
      deadLetters: compareDeadLetters(ref, dlq, this.startedAt),
      ...(aggregates ? { aggregates: compareAggregates(referenceAggregates(ref), aggregates) } : {}),
    };
  }

  async lakeObjects(): Promise<LakeObject[]> {
    return this.lake.read();
  }

  /** Kills whatever is still running; the logs stay in `dir` for a post-mortem. */
  async close(): Promise<void> {
    await Promise.all([...this.apps.values()].filter((a) => a.running).map((a) => a.kill9()));
    this.lake.close();
  }
}
