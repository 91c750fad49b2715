/**
 * One pipeline run against the real services: reset state, start the apps as processes, produce
 * a known load, wait until every store has caught up, stop the apps, compare the stores with
 * the reference. Topic names and consumer groups are fixed by apps/contracts, so isolation comes
 * from a reset (topics recreated, groups deleted, tables truncated, lake prefix emptied) before
 * each scenario; the tests run in band, one scenario at a time.
 *
 * An app may run as several instances (`start(name, env, { instance })`, `scaleTo`), each its own
 * process with its own port and log file (support/processes.ts); every method that takes an app
 * name acts on instance 1 unless told otherwise.
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
import { AppExit, AppName, AppProcess, instanceId, killAllApps, repoRoot } from './processes';
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

export interface InstanceOptions {
  /** @default 1 */
  readonly instance?: number;
}

export class Scenario {
  private readonly lake = new Lake();
  /** The latest process of every instance started, by instance id (`processor`, `processor-2`). */
  private readonly apps = new Map<string, AppProcess>();
  /** Apps the scenario stopped or killed on purpose: their exit is not a failure. */
  private readonly expectedExits = new Set<AppProcess>();
  /** The last load started, which bounds how long its producer may take. */
  private producerLoad?: Load;
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

  app(name: AppName, instance = 1): AppProcess {
    const id = instanceId(name, instance);
    const a = this.apps.get(id);
    if (!a) throw new Error(`${id} was not started in scenario ${this.name}`);
    return a;
  }

  /** The running instances of an app, by instance number. */
  running(name: AppName): AppProcess[] {
    return [...this.apps.values()].filter((a) => a.name === name && a.running).sort((a, b) => a.instance - b.instance);
  }

  /** Every app process that is running now. */
  runningApps(): AppProcess[] {
    return [...this.apps.values()].filter((a) => a.running);
  }

  /** Starts (or restarts) an instance of an app with the scenario settings; its log is `<dir>/<instance id>.log`. */
  start(name: AppName, env: Readonly<Record<string, string>> = {}, opts: InstanceOptions = {}): AppProcess {
    const instance = opts.instance ?? 1;
    const id = instanceId(name, instance);
    const previous = this.apps.get(id);
    if (previous?.running) throw new Error(`${id} is already running (pid ${previous.pid})`);
    const app = new AppProcess(name, path.join(this.dir, `${id}.log`), { ...appSettings[name], ...env }, instance);
    this.apps.set(id, app);
    return app;
  }

  /**
   * Runs exactly `count` instances of an app: starts the missing ones of 1..count and waits until
   * each is ready (a member of its group), then stops those above `count`, highest first, with
   * SIGTERM (a graceful scale-down: each commits what it wrote and leaves the group). Returns the
   * exits of the stopped instances.
   */
  async scaleTo(name: AppName, count: number, env: Readonly<Record<string, string>> = {}): Promise<AppExit[]> {
    const started: number[] = [];
    for (let instance = 1; instance <= count; instance++) {
      if (this.apps.get(instanceId(name, instance))?.running) continue;
      this.start(name, env, { instance });
      started.push(instance);
    }
    await Promise.all(started.map((instance) => this.waitReady(name, { instance })));
    const exits: AppExit[] = [];
    for (const app of this.running(name).reverse()) {
      if (app.instance > count) exits.push(await this.stop(name, app.instance));
    }
    return exits;
  }

  /** Throws when an app died that should be running, with the end of its log. */
  readonly guard = (): void => {
    for (const app of this.apps.values()) {
      if (app.running || this.expectedExits.has(app)) continue;
      if (app.name === 'producer' && app.exit?.code === 0) continue;
      throw new Error(`${app.id} exited unexpectedly (${JSON.stringify(app.exit)}); end of ${app.logFile}:\n${app.logTail()}`);
    }
  };

  /** Starts every consumer app (`env` on top of the scenario settings) and waits until each reports ready (consuming). */
  async startConsumers(env: Readonly<Record<string, string>> = {}): Promise<void> {
    for (const name of consumerApps) this.start(name, env);
    await Promise.all(consumerApps.map((name) => this.waitReady(name)));
  }

  async waitReady(name: AppName, opts: InstanceOptions & { readonly timeoutMs?: number } = {}): Promise<void> {
    const app = this.app(name, opts.instance);
    await waitAppReady(app.process, app.port, { timeoutMs: opts.timeoutMs ?? 60_000, guard: this.guard });
  }

  startProducer(load: Load, env: Readonly<Record<string, string>> = {}): AppProcess {
    this.producerLoad = load;
    return this.start('producer', {
      ...env,
      PRODUCER_EVENTS: String(load.events),
      PRODUCER_RATE: String(load.rate),
      PRODUCER_DEVICES: String(load.devices),
      PRODUCER_MALFORMED_RATIO: String(load.malformedRatio),
      PRODUCER_SEED: String(load.seed ?? 7),
      PRODUCER_MANIFEST: this.manifestPath,
    });
  }

  /**
   * Waits for the producer to finish its events and exit 0. The default bound is 2 minutes plus
   * twice the load's nominal duration: a run paced at 750/s for 90,000 events takes 120 s before
   * any broker fault slows it, so a fixed 2 minutes failed on a busy machine. An unpaced load (rate 0) keeps 2 minutes.
   */
  async waitProducer(
    timeoutMs = 120_000 + (this.producerLoad && this.producerLoad.rate > 0 ? (2_000 * this.producerLoad.events) / this.producerLoad.rate : 0),
  ): Promise<void> {
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

  async kill9(name: AppName, instance = 1): Promise<AppExit> {
    const app = this.app(name, instance);
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

  /** SIGTERM to one instance (graceful: it commits what it wrote and leaves its group); SIGKILL after `graceMs`. */
  async stop(name: AppName, instance = 1, graceMs?: number): Promise<AppExit> {
    const app = this.app(name, instance);
    this.expectedExits.add(app);
    return app.stop(graceMs);
  }

  /** SIGTERM to every running instance at once; returns each exit by instance id (callers require exit 0). */
  async stopApps(graceMs?: number): Promise<Record<string, AppExit>> {
    const running = this.runningApps();
    for (const a of running) this.expectedExits.add(a);
    const exits = await Promise.all(running.map(async (a) => [a.id, await a.stop(graceMs)] as const));
    return Object.fromEntries(exits);
  }

  /**
   * SIGTERM to every running instance at once, timing each from the signal to its exit (SIGKILL
   * only after `graceMs`, so an overrun is measured, not cut short).
   */
  async stopAppsTimed(graceMs: number): Promise<Record<string, AppExit & { readonly ms: number }>> {
    const running = this.runningApps();
    for (const a of running) this.expectedExits.add(a);
    const began = Date.now();
    const exits = await Promise.all(
      running.map(async (a) => {
        const exit = a.stop(graceMs);
        const ms = await a.exited.then(() => Date.now() - began);
        return [a.id, { ...(await exit), ms }] as const;
      }),
    );
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

  /** Kills whatever is still running (a frozen process too); the logs stay in `dir` for a post-mortem. */
  async close(): Promise<void> {
    await Promise.all(this.runningApps().map((a) => a.kill9()));
    this.lake.close();
  }
}
