/**
 * `npm start` as a user runs it, against the real local services: the summary must account for
 * every record (valid ones in both stores, malformed ones in the DLQ), and nothing it started may
 * remain afterwards, by pid and by port. Covers reusing running services (the global setup
 * started them), Ctrl-C, and a fresh machine where `npm start` starts and stops the services.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import { Kafka, logLevel } from 'kafkajs';
import * as path from 'path';
import { allApps } from '../../apps/contracts/apps';
import { dlqHeaders, topics } from '../../apps/contracts/topics';
import { endpoints, isPortFree, ports, provision, serviceNames, start, status, stop } from '../../scripts/local/local-services';

// Each run synthesizes, starts four apps and reads both stores back; the fresh-machine case also
// starts Cassandra twice (about a minute each on two cores).
jest.setTimeout(15 * 60_000);

const root = path.join(__dirname, '..', '..');
/** Every app of the catalog: `npm start` runs them all. */
const apps = allApps.map((a) => a.name);
const quiet = { info: () => undefined, warn: () => undefined };

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

const running = new Set<ChildProcess>();

/** `npm start -- <args>` in its own process group, like a terminal's foreground job. */
function npmStart(args: readonly string[], onOutput?: (soFar: string, child: ChildProcess) => void): Promise<Run> {
  const began = Date.now();
  const child = spawn('npm', ['start', '--', ...args], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    onOutput?.(stdout + stderr, child);
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    onOutput?.(stdout + stderr, child);
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - began });
    });
  });
}

/** The apps of this checkout that are running, found by their command lines in /proc. */
function appProcesses(): { pid: number; cmd: string }[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((e) => {
      try {
        const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
        const state = fs.readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]?.[0];
        return state !== 'Z' && apps.some((a) => cmd.includes(path.join(root, 'apps', a, 'main.ts'))) ? [{ pid: Number(e), cmd }] : [];
      } catch {
        return [];
      }
    });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function summaryOf(run: Run): Record<string, any> {
  const last = run.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`the last line of stdout is not JSON (exit ${run.code}):\n${run.stdout.slice(-2000)}\n--- stderr ---\n${run.stderr.slice(-4000)}`);
  }
}

async function expectNothingLeft(summary: Record<string, any>): Promise<void> {
  expect(appProcesses()).toEqual([]);
  expect(summary.processes.leftBehind).toEqual([]);
  expect(summary.processes.apps.map((a: { name: string }) => a.name).sort()).toEqual([...apps].sort());
  for (const a of summary.processes.apps as { pid: number; port: number }[]) {
    expect(alive(a.pid)).toBe(false);
    expect(await isPortFree(a.port, '0.0.0.0')).toBe(true);
  }
}

/** DLQ records past `from` (per-partition offsets), with their headers. */
async function dlqSince(from: Map<number, string>): Promise<{ headers: Record<string, string> }[]> {
  const kafka = new Kafka({ clientId: 'start-test', brokers: [...endpoints().kafkaBrokerList], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const end = new Map((await admin.fetchTopicOffsets(topics.deadLetter.name)).map((p) => [p.partition, p.high]));
  await admin.disconnect();
  const expected = [...end].reduce((n, [p, high]) => n + Number(high) - Number(from.get(p) ?? '0'), 0);
  const consumer = kafka.consumer({ groupId: `start-test-${Date.now()}` });
  const out: { headers: Record<string, string> }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: topics.deadLetter.name, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    if (expected === 0) resolve();
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (BigInt(message.offset) < BigInt(from.get(partition) ?? '0')) return;
        out.push({ headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])) });
        if (out.length >= expected) resolve();
      },
    });
  });
  await Promise.race([done, new Promise((r) => setTimeout(r, 60_000))]);
  await consumer.disconnect();
  return out;
}

async function dlqOffsets(): Promise<Map<number, string>> {
  const admin = new Kafka({ clientId: 'start-test', brokers: [...endpoints().kafkaBrokerList], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topics.deadLetter.name)).map((p) => [p.partition, p.high]));
  } finally {
    await admin.disconnect();
  }
}

afterEach(() => {
  // A failed or timed-out test must not leave npm start (and what it spawned) running.
  for (const child of running) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('npm start', () => {
  test('--events 20000 --json: every valid reading in both stores, every malformed one in the DLQ, nothing left running', async () => {
    const servicesBefore = await status();
    expect(servicesBefore.every((s) => s.ready)).toBe(true);
    const dlqBefore = await dlqOffsets();

    const run = await npmStart(['--events', '20000', '--malformed', '1%', '--json']);
    process.stdout.write(`npm start -- --events 20000 --json took ${(run.ms / 1000).toFixed(1)} s\n`);
    const s = summaryOf(run);
    expect(run.code).toBe(0);

    expect(s.produced).toBe(20_000);
    expect(s.malformed).toBeGreaterThan(100); // ~1% of 20,000
    expect(s.malformed).toBeLessThan(400);
    expect(s.valid).toBe(s.produced - s.malformed);
    expect(s.processed).toBe(s.produced);
    expect(s.cassandraRows).toBe(s.valid);
    expect(s.lakeRecords).toBe(s.valid);
    expect(s.lakeDuplicates).toBe(0);
    // The producer's default mix: readings sent as v1 and as v2 land in both stores as sent.
    expect(s.sentAs.produced.v1).toBeGreaterThan(0);
    expect(s.sentAs.produced.v2).toBeGreaterThan(0);
    expect(s.sentAs.produced.v1 + s.sentAs.produced.v2).toBe(s.valid);
    expect(s.sentAs.cassandra).toEqual(s.sentAs.produced);
    expect(s.sentAs.lake).toEqual(s.sentAs.produced);
    expect(s.dlq).toBe(s.malformed);
    expect(s.problems).toEqual([]);
    expect(s.ok).toBe(true);
    expect(s.throughputPerSec).toBeGreaterThan(0);
    for (const q of ['p50', 'p95', 'p99']) expect(s.latencyMs[q]).toBeGreaterThan(0);
    expect(s.latencyMs.p50).toBeLessThanOrEqual(s.latencyMs.p95);
    expect(s.latencyMs.p95).toBeLessThanOrEqual(s.latencyMs.p99);
    expect(s.sample.agree).toBe(true);
    expect(s.sample.lake.reduce((n: number, m: { count: number }) => n + m.count, 0)).toBeGreaterThan(0);
    // The last windows are closed before the summary, so aggregates reach Cassandra. (The sink
    // counts rows per write batch after merging same-key aggregates, so the two counts differ.)
    expect(s.aggregates).toBeGreaterThan(0);
    expect(s.cassandraAggregates).toBeGreaterThan(0);
    // Each app of the catalog reports its records in and out.
    expect(Object.keys(s.apps).sort()).toEqual([...apps].sort());
    // The picture of the run, beside its logs.
    expect(s.chart).toBe(path.join(s.logsDir, 'run.svg'));
    expect(fs.readFileSync(s.chart, 'utf8')).toMatch(/^<svg/);
    // The traces: a file per app beside the logs, and the per-stage breakdown in the summary.
    expect(s.traces.dir).toBe(path.join(s.logsDir, 'traces'));
    expect(fs.readdirSync(s.traces.dir).sort()).toEqual(
      apps
        .filter((a) => a !== 'alerts')
        .map((a) => `${a}.jsonl`)
        .sort(),
    );
    const stages = (s.traces.stages as { stage: string; count: number }[]).map((x) => x.stage);
    for (const stage of [
      `producer: send ${topics.raw.name}`,
      `wait: producer -> processor (${topics.raw.name})`,
      `processor: process ${topics.raw.name}`,
      `processor: send ${topics.clean.name}`,
      `wait: processor -> cassandra-sink (${topics.clean.name})`,
      `lake-sink: upload ${topics.clean.name}`,
    ])
      expect(stages).toContain(stage);
    expect(run.stderr).toContain(`spans (one JSON line each, by app): ${s.traces.dir}`);

    // The DLQ itself, independently of the summary: one record per malformed one, with context headers.
    const dead = await dlqSince(dlqBefore);
    expect(dead).toHaveLength(s.malformed);
    for (const d of dead) {
      expect(d.headers[dlqHeaders.topic]).toBe(topics.raw.name);
      for (const h of [dlqHeaders.reason, dlqHeaders.partition, dlqHeaders.offset, dlqHeaders.exceptionClass, dlqHeaders.failedAt])
        expect(d.headers[h]).toBeTruthy();
      expect(d.headers[dlqHeaders.traceId]).toMatch(/^[0-9a-f]{32}$/);
    }

    // Reused services are left running, untouched; the apps are gone.
    expect(s.processes.servicesStarted).toEqual([]);
    expect((await status()).map((x) => [x.name, x.pid, x.ready])).toEqual(servicesBefore.map((x) => [x.name, x.pid, true]));
    await expectNothingLeft(s);
  });

  test('Ctrl-C while producing stops every app before npm exits', async () => {
    let interrupted = false;
    const run = await npmStart(['--duration', '5m', '--rate', '2000'], (output, child) => {
      if (!interrupted && /\[start\] producing/.test(output)) {
        interrupted = true;
        // Give the producer a moment to start, then Ctrl-C: SIGINT to the whole foreground group.
        setTimeout(() => process.kill(-child.pid!, 'SIGINT'), 3_000);
      }
    });
    const out = run.stdout + run.stderr;
    expect(interrupted).toBe(true);
    // npm waits for the script, then re-raises the signal (the shell shows exit status 130).
    expect(run.signal === 'SIGINT' || run.code === 130).toBe(true);
    expect(out).toMatch(/SIGINT: stopping the apps/);
    expect(out).toMatch(/nothing left running/);
    expect(appProcesses()).toEqual([]);
    expect((await status()).every((x) => x.ready)).toBe(true);
  });

  test('on a machine without running services it starts them, and stops them again', async () => {
    const before = await status();
    const ours = before.filter((x) => x.pid !== undefined).map((x) => x.name);
    await stop(ours);
    const allPorts = Object.values(ports).flatMap((p) => Object.values(p));
    try {
      for (const p of allPorts) expect(await isPortFree(p)).toBe(true);
      const run = await npmStart(['--events', '2000', '--json']);
      const s = summaryOf(run);
      expect(run.code).toBe(0);
      expect(s.ok).toBe(true);
      expect(s.cassandraRows).toBe(s.valid);
      expect(s.processes.servicesStarted.sort()).toEqual([...serviceNames].sort());
      await expectNothingLeft(s);
      expect((await status()).map((x) => x.pid)).toEqual(serviceNames.map(() => undefined));
      for (const p of allPorts) expect(await isPortFree(p)).toBe(true);
    } finally {
      // Leave the services as the global setup had them for the tests that follow.
      await start(ours);
      await provision(quiet);
    }
  });
});
