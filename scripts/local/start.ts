/**
 * `npm start`: the whole pipeline on this machine, end to end.
 *
 *  1. synthesizes every environment (a config error stops here, before anything starts);
 *  2. starts the local Kafka, Cassandra and MinIO, or reuses them if they are running, and
 *     provisions topics, keyspace, tables and bucket from apps/contracts;
 *  3. runs every app of the catalog (apps/contracts/apps.ts) as a separate process, consumers
 *     first, then the producer (after a cold start, once the machine has settled), with live
 *     progress from their /metrics that says what it waits for;
 *  4. once every record is stored and the processor has closed its last windows, reads the run
 *     back from BOTH stores (Cassandra, and the lake's Parquet files with DuckDB) and prints a
 *     summary: counts per stage and per app, throughput, latency, one query per store, and the
 *     per-stage latency breakdown from the apps' traces (read once the apps have stopped and so
 *     flushed their spans; with --keep-running, what they flushed so far);
 *  5. stops the apps and the services it started (or keeps running with --keep-running).
 *
 * Ctrl-C at any point stops everything it started and exits 130. Options: see ./start/args.ts.
 */
import { spawn } from 'child_process';
import { Client as CassandraClient } from 'cassandra-driver';
import * as fs from 'fs';
import { Kafka, logLevel } from 'kafkajs';
import * as os from 'os';
import * as path from 'path';
import { topics } from '../../apps/contracts/topics';
import { createLocalS3Client, endpoints, isPortFree, kill, ServiceName } from './local-services';
import { done, waitFor } from './launcher';
import { ArgsError, parseStartArgs, StartOptions, usage } from './start/args';
import { renderRunChart, RunChartOptions } from './start/chart';
import { consumerApps, countersSince, unreadByApp, endToEndQuantiles, PipelineCounters, quantilesMs, ratePerSec } from './start/counters';
import { AppFailedError, Pipeline } from './start/pipeline';
import { ProgressPrinter } from './start/progress';
import { findProblems, waitingFor, RunSummary, SampleComparison, summaryJson, summaryText } from './start/report';
import { localRunEnv } from './start/local-run';
import { LocalServices } from './start/services';
import { cassandraMetricStats, countCassandraRun, downloadLakeRun, LakeQuery, RunWindow, sameStats } from './start/stores';
import { pipelineDir, StoppedApp, Supervisor } from './start/supervisor';
import { countCommittedSince, topicEnds } from './start/topics';
import { readTraceDir, traceBreakdown } from './start/traces';
import { waitForQuietMachine } from '../bench/cpu';

/** No counter moved for this long while records are missing: report what is there. */
const STALL_MS = 60_000;
/** Previous runs' records still being replayed must settle first: no counter moved for this long. */
const SETTLE_QUIET_MS = 4_000;
const SETTLE_MAX_MS = 180_000;
const POLL_MS = 250;
/** After a cold start, produce once the machine is at most this busy (or after WARM_UP_MAX_MS). */
const QUIET_BUSY_SHARE = 0.35;
const WARM_UP_MAX_MS = 90_000;
/** A window closes once its minute has passed and its partition was idle for the idle flush: at most a minute and a bit. */
const WINDOWS_MAX_MS = 150_000;

const repoRoot = path.join(__dirname, '..', '..');

class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

export interface RunResult {
  readonly summary: RunSummary;
  readonly apps: readonly { name: string; pid: number; port: number }[];
}

class StartRun {
  private readonly services = new LocalServices();
  private pipeline?: Pipeline;
  private readonly progress: ProgressPrinter;
  private readonly began = Date.now();
  /** Wall time per phase, for the summary. */
  private readonly phases: Record<string, number> = {};
  private interrupted = false;
  private interruptedAt = 0;
  private readonly abort = new AbortController();
  /** Apps stopped before the summary (so their last spans are flushed); `cleanup` reports them too. */
  private stoppedEarly: StoppedApp[] = [];

  constructor(
    private readonly opts: StartOptions,
    out: NodeJS.WriteStream,
  ) {
    this.progress = new ProgressPrinter(out, this.began);
  }

  say(message: string): void {
    this.progress.say(message);
  }

  /**
   * First signal: stop everything this run started, then exit 130. Another one a second later
   * or more: kill the apps at once. (One Ctrl-C arrives several times within milliseconds: the
   * terminal signals the whole process group, and npm and tsx each forward it as well.)
   */
  interrupt(signal: string): void {
    if (this.interrupted) {
      // A closed terminal (SIGHUP) while stopping is no reason to stop less carefully.
      if (signal === 'SIGHUP' || Date.now() - this.interruptedAt < 1_000) return;
      this.say(`${signal} again: killing the apps${this.services.startedHere.length ? ' and the services this run started' : ''} at once`);
      for (const name of this.services.startedHere) kill(name, 'SIGKILL');
      void (this.pipeline?.supervisor.stopAll(0) ?? Promise.resolve([]))
        .then(() => this.services.down())
        .then(
          () => {
            this.say('killed; nothing left running');
            process.exit(130);
          },
          (err: Error) => {
            process.stderr.write(`[start] kill failed: ${err.message}\n`);
            process.exit(1);
          },
        );
      return;
    }
    this.interrupted = true;
    this.interruptedAt = Date.now();
    this.abort.abort();
    this.say(
      `${signal}: stopping the apps${this.services.startedHere.length ? ` and the services this run started (${this.services.startedHere.join(', ')})` : ''}...`,
    );
    void this.cleanup().then(
      (r) => {
        this.say(`stopped ${r.apps.length} app(s)${r.services.length ? ` and ${r.services.join(', ')}` : ''}; nothing left running`);
        process.exit(130);
      },
      (err: Error) => {
        process.stderr.write(`[start] cleanup failed: ${err.message}\n`);
        process.exit(1);
      },
    );
  }

  /** Runs `fn` and records its wall time as phase `name`. */
  private async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      this.phases[name] = Date.now() - t;
    }
  }

  async execute(): Promise<RunResult> {
    await this.phase('synth', () => this.synth());
    const leftovers = await Supervisor.stopLeftovers();
    if (leftovers.length > 0) this.say(`stopped apps an earlier run left behind: ${leftovers.map((l) => `${l.name} (pid ${l.pid})`).join(', ')}`);
    this.check();
    await this.phase('services', () => this.services.up((m) => this.say(m)));
    this.check();
    const e = endpoints();
    const kafka = new Kafka({ clientId: 'sdp-start', brokers: e.kafkaBrokers.split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await this.runPipeline(kafka, admin);
    } finally {
      await admin.disconnect();
    }
  }

  private async runPipeline(kafka: Kafka, admin: ReturnType<Kafka['admin']>): Promise<RunResult> {
    const runId = new Date().toISOString().replace(/[:.]/g, '-');
    const logsDir = path.join(pipelineDir(), 'logs', runId);
    const pipeline = new Pipeline(logsDir);
    this.pipeline = pipeline;
    const previousData = (await highWatermarks(admin, topics.raw.name)) + (await highWatermarks(admin, topics.clean.name)) > 0;

    this.say(`starting ${consumerApps.join(', ')} (logs in ${path.relative(repoRoot, logsDir)})`);
    await this.phase('apps', () => Promise.all(consumerApps.map((app) => pipeline.start(app, localRunEnv[app as keyof typeof localRunEnv] ?? {}))));
    this.check();
    if (previousData) await this.phase('settle', () => this.settle(pipeline));

    if (this.services.startedHere.length > 0) await this.phase('warm-up', () => this.warmUp());

    const dlqBefore = await topicEnds(admin, topics.deadLetter.name);
    const baseline = await pipeline.counters();
    const fromMs = Date.now();
    const o = this.opts;
    const what = [o.events !== undefined ? `${o.events.toLocaleString('en-US')} events` : '', o.durationSeconds !== undefined ? `${o.durationSeconds} s` : '']
      .filter(Boolean)
      .join(' or ');
    this.say(
      `producing ${what} at ${o.rate > 0 ? `${o.rate.toLocaleString('en-US')}/s` : 'full speed'}, ${o.devices} devices, ${(o.malformed * 100).toFixed(2)}% malformed`,
    );
    this.check();
    await pipeline.start(
      'producer',
      {
        PRODUCER_EVENTS: String(o.events ?? 0),
        PRODUCER_DURATION_SECONDS: String(o.durationSeconds ?? 0),
        PRODUCER_RATE: String(o.rate),
        PRODUCER_DEVICES: String(o.devices),
        PRODUCER_MALFORMED_RATIO: String(o.malformed),
      },
      { waitReady: false },
    );

    const drained = await this.phase('run', () => this.drain(pipeline, baseline));
    const report = pipeline.producerReport()!;
    // Event times are the producer's clock, bumped by a millisecond per reading where needed: the
    // end bound leaves room for that and cannot catch a later run, since none has started.
    const window: RunWindow = { fromMs, toMs: Date.now() + 3_600_000 };
    const stores = await this.phase('verify', () => this.readStores(window, report.valid, drained.stalled));
    const dlq = await countCommittedSince(kafka, admin, topics.deadLetter.name, dlqBefore);

    const c = drained.counters;
    const producedAt = pipeline.producerStartedAt() ?? fromMs;
    const pipelineMs = Math.max(1, drained.doneAt - producedAt);
    const bySink = { cassandra: quantilesMs(c.latency.cassandra), lake: quantilesMs(c.latency.lake) };
    const produced = report.valid + report.malformed;
    const chart = await this.phase('chart', () =>
      this.drawChart(path.join(logsDir, 'run.svg'), {
        subtitle: [
          `${produced.toLocaleString('en-US')} events (${report.malformed.toLocaleString('en-US')} malformed), run ${runId}`,
          'once every record is stored, the processor closes its last 1-minute windows when their minute has passed',
        ],
        events: [
          { atMs: producedAt, label: 'producer sending' },
          { atMs: producedAt + report.durationMs, label: 'producer done' },
          ...(drained.stalled ? [] : [{ atMs: drained.doneAt, label: 'every record stored' }]),
        ],
      }),
    );
    const sentAs = {
      produced: { v1: report.validByVersion[1] ?? 0, v2: report.validByVersion[2] ?? 0 },
      ...stores.sentAs,
    };
    const facts = {
      valid: report.valid,
      malformed: report.malformed,
      dlq,
      cassandraRows: stores.cassandraRows,
      lakeRecords: stores.lakeRecords,
      lakeDuplicates: stores.lakeDuplicates,
      sampleAgrees: stores.sample?.agree,
      sentAs,
    };
    const problems = [
      ...findProblems(facts),
      ...(drained.stalled ? [`no progress for ${STALL_MS / 1000} s; summarized what had arrived`] : []),
      ...(drained.windowsOpen ? [`the processor still held ${c.openWindows} open window(s) ${WINDOWS_MAX_MS / 1000} s after the last reading was stored`] : []),
    ];
    const apps = pipeline.supervisor.apps.map((a) => ({ name: a.name, pid: a.pid, port: a.port }));
    if (!this.opts.keepRunning) this.stoppedEarly = await this.phase('stop apps', () => pipeline.supervisor.stopAll());
    const tracesDir = path.join(logsDir, 'traces');
    const traces = traceBreakdown(tracesDir, readTraceDir(tracesDir));
    const summary: RunSummary = {
      produced,
      malformed: report.malformed,
      valid: report.valid,
      processed: c.processed,
      dlq,
      aggregates: c.aggregates,
      cassandraAggregates: c.cassandraAggregates,
      cassandraRows: stores.cassandraRows,
      lakeRecords: stores.lakeRecords,
      lakeDuplicates: stores.lakeDuplicates,
      lakeFiles: stores.lakeFiles,
      sentAs,
      producerPerSec: Math.round(report.eventsPerSecond),
      throughputPerSec: Math.round(ratePerSec(produced, pipelineMs)),
      latencyMs: endToEndQuantiles(bySink),
      latencyBySinkMs: bySink,
      latencyMethod:
        "latency = sink write acknowledged - Kafka message timestamp, from the sinks' sdp_end_to_end_latency_seconds histograms, " +
        'quantiles interpolated within buckets like PromQL histogram_quantile; "in both stores" takes the slower sink',
      durationMs: { produce: report.durationMs, pipeline: pipelineMs, total: Date.now() - this.began, phases: { ...this.phases } },
      ...(stores.sample ? { sample: stores.sample } : {}),
      apps: c.apps,
      problems,
      ok: problems.length === 0,
      logsDir,
      ...(chart ? { chart } : {}),
      traces,
    };
    return { summary, apps };
  }

  /** The picture of the run; a failure to draw it is a warning, never a failed run. */
  private async drawChart(file: string, opts: RunChartOptions): Promise<string | undefined> {
    try {
      return await renderRunChart(this.progress.samples(), file, opts);
    } catch (err) {
      this.say(`warning: could not draw the picture of the run (${(err as Error).message.split('\n')[0]}); the summary does not need it`);
      return undefined;
    }
  }

  /**
   * Services this run just started are still busy warming up (Cassandra's start-up compactions,
   * the JIT): figures measured now would be cold-start figures. Waits, as `npm run bench` does,
   * until the machine is mostly idle, bounded so a machine busy with other work still runs.
   */
  private async warmUp(): Promise<void> {
    this.say(
      `waiting for the machine to settle after starting ${this.services.startedHere.join(', ')} (CPU below ${QUIET_BUSY_SHARE * 100}% busy, at most ${WARM_UP_MAX_MS / 1000} s), so the figures are the steady ones`,
    );
    const q = await waitForQuietMachine(QUIET_BUSY_SHARE, WARM_UP_MAX_MS);
    this.check();
    this.say(
      q.busyShare <= QUIET_BUSY_SHARE
        ? `settled after ${(q.waitedMs / 1000).toFixed(0)} s (CPU ${(q.busyShare * 100).toFixed(0)}% busy)`
        : `the machine is still ${(q.busyShare * 100).toFixed(0)}% busy after ${(q.waitedMs / 1000).toFixed(0)} s (other work?); producing anyway, the figures will be lower`,
    );
  }

  /** Waits until apps replaying an earlier run's records have gone quiet, so they do not count as this run's. */
  private async settle(pipeline: Pipeline): Promise<void> {
    this.say('earlier runs left records in the topics; waiting until the apps have caught up');
    const started = Date.now();
    let last = '';
    let quietSince = Date.now();
    while (Date.now() - started < SETTLE_MAX_MS) {
      this.check();
      this.assertNoCrash(pipeline);
      const c = await pipeline.counters();
      const key = [c.processed, c.clean, c.dlq, c.cassandraRows, c.lakeRecords].join();
      if (key !== last) {
        last = key;
        quietSince = Date.now();
      } else if (Date.now() - quietSince >= SETTLE_QUIET_MS) {
        return;
      }
      await this.sleep(500);
    }
    this.say(`the apps were still busy after ${SETTLE_MAX_MS / 1000} s; starting anyway`);
  }

  /**
   * Polls the apps until every produced record is accounted for in each stage (`doneAt`, the end
   * of the throughput figure), then until the processor has closed its last windows, as its idle
   * flush does once their minute has passed, and every app has read all that the others wrote
   * (aggregates in Cassandra, the example apps' outputs). Stops waiting when nothing moves for
   * STALL_MS, or the windows take longer than WINDOWS_MAX_MS.
   */
  private async drain(
    pipeline: Pipeline,
    baseline: PipelineCounters,
  ): Promise<{ counters: PipelineCounters; doneAt: number; stalled: boolean; windowsOpen: boolean }> {
    let lastKey = '';
    let lastChange = Date.now();
    let doneAt: number | undefined;
    for (;;) {
      this.check();
      this.assertNoCrash(pipeline);
      const now = Date.now();
      const report = pipeline.producerReport();
      const since = countersSince(await pipeline.counters(), baseline);
      // The producer's last scrape may predate its last acks; its report is exact.
      const c = report ? { ...since, produced: report.valid + report.malformed } : since;
      const stored =
        report !== undefined && c.clean >= report.valid && c.dlq >= report.malformed && c.cassandraRows >= report.valid && c.lakeRecords >= report.valid;
      if (stored && doneAt === undefined) {
        doneAt = now;
        this.progress.flush();
      }
      const unread = unreadByApp(c);
      if (stored && c.openWindows === 0 && unread.length === 0) {
        this.progress.flush();
        this.progress.update(c, 'done', now);
        return { counters: c, doneAt: doneAt ?? now, stalled: false, windowsOpen: false };
      }
      this.progress.update(c, waitingFor(c, report !== undefined, stored, unread), now);
      if (doneAt !== undefined && now - doneAt > WINDOWS_MAX_MS) return { counters: c, doneAt, stalled: false, windowsOpen: true };
      const key = [c.produced, c.processed, c.clean, c.dlq, c.cassandraRows, c.lakeRecords].join();
      if (key !== lastKey) {
        lastKey = key;
        lastChange = now;
      } else if (report && !stored && now - lastChange > STALL_MS) {
        return { counters: c, doneAt: lastChange, stalled: true, windowsOpen: c.openWindows > 0 };
      }
      await this.sleep(POLL_MS);
    }
  }

  private assertNoCrash(pipeline: Pipeline): void {
    const [crashed] = pipeline.crashed();
    if (crashed) throw new AppFailedError(crashed, 'exited unexpectedly', pipeline.supervisor.logTail(crashed));
  }

  /**
   * Counts the run's readings in both stores and answers the sample query from each. A store
   * may briefly trail the apps' counters when they also replayed earlier records, so a short
   * shortfall is re-checked a few times.
   */
  private async readStores(window: RunWindow, valid: number, stalled: boolean) {
    const e = endpoints();
    const cassandra = new CassandraClient({
      contactPoints: [e.cassandraContactPoints],
      protocolOptions: { port: e.cassandraPort },
      localDataCenter: e.cassandraLocalDc,
      socketOptions: { readTimeout: 30_000 },
    });
    const s3 = createLocalS3Client();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdp-lake-'));
    try {
      await cassandra.connect();
      for (let attempt = 1; ; attempt++) {
        this.say(`reading the run back from Cassandra and the lake${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
        fs.rmSync(tmp, { recursive: true, force: true });
        fs.mkdirSync(tmp);
        const [cass, download] = await Promise.all([countCassandraRun(cassandra, e.cassandraKeyspace, window), downloadLakeRun(s3, e.bucket, window, tmp)]);
        const lake = await LakeQuery.open(download, window);
        try {
          const totals = await lake.totals();
          const complete = cass.readings === valid && totals.records - totals.duplicates === valid;
          if (!complete && !stalled && attempt < 5) {
            await this.sleep(2_000);
            continue;
          }
          let sample: SampleComparison | undefined;
          if (cass.busiest) {
            const [lakeStats, cassStats] = await Promise.all([
              lake.metricStats(cass.busiest),
              cassandraMetricStats(cassandra, e.cassandraKeyspace, cass.busiest, window),
            ]);
            sample = {
              deviceId: cass.busiest.deviceId,
              day: cass.busiest.day,
              sql: LakeQuery.metricStatsSql(cass.busiest),
              lake: lakeStats,
              cassandra: cassStats,
              agree: sameStats(lakeStats, cassStats),
            };
          }
          return {
            cassandraRows: cass.readings,
            lakeRecords: totals.records,
            lakeDuplicates: totals.duplicates,
            lakeFiles: download.files,
            sentAs: { cassandra: cass.sentAs, lake: totals.sentAs },
            sample,
          };
        } finally {
          lake.close();
        }
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
      s3.destroy();
      await cassandra.shutdown();
    }
  }

  /** Keeps showing progress until Ctrl-C (which runs `interrupt`); throws if an app dies. */
  async keepRunning(baseline: PipelineCounters): Promise<never> {
    this.say('--keep-running: the pipeline keeps running (counters below count from here); Ctrl-C stops it');
    this.progress.restart();
    for (;;) {
      this.assertNoCrash(this.pipeline!);
      this.progress.update(countersSince(await this.pipeline!.counters(), baseline), 'running');
      await this.sleep(1_000);
    }
  }

  async baseline(): Promise<PipelineCounters> {
    return this.pipeline!.counters();
  }

  /** Stops the apps, then the services this run started. */
  async cleanup(): Promise<{ apps: StoppedApp[]; services: readonly ServiceName[] }> {
    const apps = [...this.stoppedEarly, ...((await this.pipeline?.supervisor.stopAll()) ?? [])];
    const services = await this.services.down();
    return { apps, services };
  }

  private async synth(): Promise<void> {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdp-synth-'));
    const began = Date.now();
    try {
      const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts', '--placeholder-image-tag'], {
          cwd: repoRoot,
          env: { ...process.env, CDKTF_OUTDIR: outdir },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr.on('data', (d: Buffer) => (output += d.toString()));
        child.once('error', reject);
        child.once('close', (c) => resolve({ code: c, output }));
      });
      this.check();
      if (code !== 0) throw new Error(`synth failed (npm run synth shows the same); nothing was started:\n${output.trim()}`);
      const stacks = fs.existsSync(path.join(outdir, 'stacks')) ? fs.readdirSync(path.join(outdir, 'stacks')).sort() : [];
      this.say(`synthesized ${stacks.join(', ')} in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }

  private check(): void {
    if (this.interrupted) throw new Interrupted();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(t);
        reject(new Interrupted());
      };
      const t = setTimeout(() => {
        this.abort.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  get wasInterrupted(): boolean {
    return this.interrupted;
  }
}

/**
 * Summed high watermarks. Right after the topics were created a broker may not know yet that it
 * leads a partition ("not the leader for that topic-partition"): the lookup is retried until it answers.
 */
async function highWatermarks(admin: ReturnType<Kafka['admin']>, topic: string): Promise<number> {
  return waitFor(`the offsets of ${topic}`, async () => done((await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0)), {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
}

/** After a normal stop: nothing of the run may remain, by pid and by port. */
async function leftBehind(apps: RunResult['apps']): Promise<string[]> {
  const problems: string[] = [];
  for (const a of apps) {
    if (isAliveGroup(a.pid)) problems.push(`${a.name} (pid ${a.pid}) is still running`);
    if (!(await isPortFree(a.port, '0.0.0.0'))) problems.push(`port ${a.port} of ${a.name} is still bound`);
  }
  return problems;
}

function isAliveGroup(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let opts: StartOptions;
  try {
    opts = parseStartArgs(argv);
  } catch (err) {
    if (err instanceof ArgsError) {
      process.stderr.write(`npm start: invalid options\n${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  // If the terminal goes away, writing progress fails; stopping what was started must not.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const run = new StartRun(opts, opts.json ? process.stderr : process.stdout);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => run.interrupt(signal));

  let result: RunResult;
  try {
    result = await run.execute();
  } catch (err) {
    if (run.wasInterrupted) return new Promise<number>(() => undefined); // `interrupt` exits
    process.stderr.write(`[start] ${(err as Error).message}\n`);
    await run.cleanup().catch((e: Error) => process.stderr.write(`[start] cleanup failed: ${e.message}\n`));
    return 1;
  }

  const { summary } = result;
  (opts.json ? process.stderr : process.stdout).write(`${summaryText(summary)}\n`);
  if (opts.keepRunning) {
    // The summary is final; progress continues (on stderr with --json), so stdout ends with it.
    if (opts.json) process.stdout.write(`${summaryJson(summary, { processes: { apps: result.apps } })}\n`);
    try {
      await run.keepRunning(await run.baseline());
    } catch (err) {
      if (run.wasInterrupted) return new Promise<number>(() => undefined);
      process.stderr.write(`[start] ${(err as Error).message}\n`);
      await run.cleanup().catch((e: Error) => process.stderr.write(`[start] cleanup failed: ${e.message}\n`));
      return 1;
    }
  }
  const stopped = await run.cleanup();
  const remaining = await leftBehind(result.apps);
  run.say(
    `stopped ${stopped.apps.map((a) => `${a.name}${a.forced ? ' (killed after the grace period)' : ''}`).join(', ')}` +
      (stopped.services.length ? `; stopped the services this run started: ${stopped.services.join(', ')}` : '; left the reused services running'),
  );
  for (const p of remaining) process.stderr.write(`[start] LEFT BEHIND: ${p}\n`);
  if (opts.json) {
    process.stdout.write(`${summaryJson(summary, { processes: { apps: result.apps, servicesStarted: stopped.services, leftBehind: remaining } })}\n`);
  }
  return summary.ok && remaining.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    // process.exit drops what a full pipe has not taken yet: the summary JSON must get out first.
    (code) => process.stdout.write('', () => process.stderr.write('', () => process.exit(code))),
    (err: Error) => {
      process.stderr.write(`[start] ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
