/**
 * Real Kafka (KRaft), Cassandra 5.0 and an S3-compatible server (MinIO) on loopback, without
 * Docker: runtimes come from Maven Central and the Go module proxy into the user cache, and run
 * as detached processes whose pid files live in the data dir (`LOCAL_SERVICES_DIR`).
 *
 *   npx tsx scripts/local/local-services.ts <install|start|stop|status|provision|env|up|restart|reset> [--kafka-nodes 1|3]
 *
 * Kafka runs as one node, or with `--kafka-nodes 3` (or LOCAL_KAFKA_NODES=3) as three KRaft nodes
 * with RF 3 and min ISR 2, as MSK runs staging and prod. The mode is recorded in the data dir, so
 * every command, `endpoints()` and `appEnv()` follow what runs. The same functions are the
 * programmatic API for tests (see test/integration/global-setup.ts), including the broker faults
 * of the fault suite: `stopKafkaNode`, `killKafkaNode`, `startKafkaNode` and `rollingRestart`.
 */
import { Client as CassandraClient } from 'cassandra-driver';
import * as fs from 'fs';
import { Kafka, logLevel } from 'kafkajs';
import { ensureBucket, EnsureBucketResult } from '../../apps/admin/bucket';
import { ensureCassandraSchema, EnsureCassandraSchemaSummary } from '../../apps/admin/cassandra-schema';
import { AdminLogger, ensureTopics, EnsureTopicsSummary } from '../../apps/admin/topics';
import { allTopics } from '../../apps/contracts/topics';
import {
  appEnv,
  dataDir,
  endpoints,
  forgetKafkaNodes,
  kafkaDurability,
  KafkaNodeCount,
  kafkaNodeCount,
  kafkaNodeCounts,
  kafkaNodes,
  localNames,
  parseKafkaNodes,
  recordedKafkaNodes,
  recordKafkaNodes,
  requestedKafkaNodes,
  ServiceName,
  serviceNames,
} from './local-services/config';
import { install } from './local-services/install';
import {
  done,
  groupAlive,
  isPortFree,
  launch,
  pending,
  runningPid,
  signalGroup,
  sleep,
  StopResult,
  stopRecorded,
  tail,
  waitFor,
  waitPortsFree,
} from './launcher';
import { say, seconds } from './local-services/progress';
import { createLocalS3Client, kafkaClusterDir, kafkaNodeProcess, probeAdmin, serviceDir, ServiceProcess, serviceProcesses } from './local-services/services';

export {
  appEnv,
  cacheDir,
  dataDir,
  endpoints,
  kafkaDurability,
  kafkaNodeCount,
  kafkaNodes,
  KAFKA_NODES_VAR,
  localNames,
  ports,
  serviceNames,
  versions,
} from './local-services/config';
export type { Endpoints, KafkaDurability, KafkaNode, KafkaNodeCount, ServiceName } from './local-services/config';
export { createLocalS3Client, kafkaClasspath, javaBinary } from './local-services/services';
export { isPortFree } from './launcher';
export type { StopResult } from './launcher';
/** Downloads/builds the runtimes that are not cached yet; no network when everything is cached. */
export { install };

function assertName(name: string): asserts name is ServiceName {
  if (!(serviceNames as readonly string[]).includes(name)) {
    throw new Error(`unknown service '${name}'; expected one of ${serviceNames.join(', ')}`);
  }
}

/** The service's processes in the Kafka mode that runs (or that `start` would pick). */
const processesOf = (name: ServiceName, count: KafkaNodeCount = kafkaNodeCount()): readonly ServiceProcess[] => serviceProcesses(name, count);

const isRunning = (p: ServiceProcess): boolean => runningPid(p.pidFile) !== undefined;

async function probes(p: ServiceProcess): Promise<boolean> {
  try {
    await p.probe();
    return true;
  } catch {
    return false;
  }
}

/** One probe per process, no retries: true when the service (every Kafka node) answers real requests. */
export async function isReady(name: ServiceName): Promise<boolean> {
  return (await Promise.all(processesOf(name).map(probes))).every(Boolean);
}

/**
 * Polls until the process is ready. Fails fast, with the end of its log, when the process we
 * started has died; processes started by someone else (e.g. docker compose) are only polled.
 */
async function waitProcessReady(p: ServiceProcess, timeoutMs: number = p.readyTimeoutMs): Promise<void> {
  const tracked = runningPid(p.pidFile);
  await waitFor(`${p.title} to serve requests`, async () => ((await probes(p)) ? done(undefined) : pending('not answering yet')), {
    timeoutMs,
    guard: () => {
      if (tracked === undefined || isRunning(p)) return;
      const consoleTail = p.logFile === p.consoleLog ? '' : `\n${tail(p.consoleLog, 10)}`;
      throw new Error(`${p.title} exited during startup; end of ${p.logFile}:\n${tail(p.logFile)}${consoleTail}`);
    },
  }).catch((err: Error) => {
    throw err.name === 'WaitTimeoutError' ? new Error(`${err.message}; end of ${p.logFile}:\n${tail(p.logFile)}`) : err;
  });
}

/** Polls until every process of the service is ready (see `waitProcessReady`). */
export async function waitReady(name: ServiceName, timeoutMs?: number): Promise<void> {
  await Promise.all(processesOf(name).map((p) => waitProcessReady(p, timeoutMs)));
}

async function launchProcess(p: ServiceProcess): Promise<'started' | 'running'> {
  const pid = runningPid(p.pidFile);
  if (pid !== undefined) {
    say(`${p.title}: already running (pid ${pid})`);
    return 'running';
  }
  if (!p.installed()) await install();
  for (const { port, purpose } of p.ports) {
    if (!(await isPortFree(port))) {
      throw new Error(
        `port ${port} (${purpose}) on 127.0.0.1 is already in use by another process, so ${p.title} cannot start; ` +
          `find it with 'ss -ltnp "sport = :${port}"' (or 'lsof -i :${port}') and stop it, ` +
          `or stop the services of another data dir with LOCAL_SERVICES_DIR=<dir> ... stop`,
      );
    }
  }
  const spec = await p.prepare();
  const proc = launch({ ...spec, name: p.title, cwd: p.dir, logFile: p.consoleLog, pidFile: p.pidFile });
  say(`${p.service}: started ${p.title} (pid ${proc.pid}, logs in ${p.dir}/logs)`);
  return 'started';
}

/**
 * The mode `start` runs Kafka in: the one asked for, else the recorded one (a cluster with a node
 * down is still a cluster), else LOCAL_KAFKA_NODES, else 1. Refuses while the other mode runs,
 * because both bind node 1's ports and a silent switch would surprise whoever uses it.
 */
function selectKafkaNodes(requested?: KafkaNodeCount): KafkaNodeCount {
  const count = requested ?? kafkaNodeCount();
  const fromEnv = requestedKafkaNodes();
  for (const other of kafkaNodeCounts.filter((c) => c !== count)) {
    if (serviceProcesses('kafka', other).some(isRunning)) {
      throw new Error(
        `Kafka runs as ${other} node(s) in ${dataDir()}, so it cannot start as ${count}; ` +
          `stop it first ('local-services.ts stop kafka'), or switch with useKafkaNodes(${count}) / 'local-services.ts restart kafka --kafka-nodes ${count}'`,
      );
    }
  }
  if (requested === undefined && fromEnv !== undefined && fromEnv !== count) {
    say(`kafka: runs as ${count} node(s) (recorded in ${dataDir()}); LOCAL_KAFKA_NODES=${fromEnv} takes effect after 'stop kafka'`);
  }
  return count;
}

export interface StartOptions {
  /**
   * Wait until every service answers real requests.
   * @default true
   */
  readonly wait?: boolean;
  /**
   * How many Kafka nodes: 1, or 3 for a KRaft cluster with RF 3 and min ISR 2.
   * @default the running (recorded) mode, else LOCAL_KAFKA_NODES, else 1
   */
  readonly kafkaNodes?: KafkaNodeCount;
}

/** Starts the services (all by default) that are not running yet, then waits for readiness. */
export async function start(names: readonly ServiceName[] = serviceNames, options: StartOptions = {}): Promise<void> {
  names.forEach(assertName);
  const began = Date.now();
  const count = names.includes('kafka') ? selectKafkaNodes(options.kafkaNodes) : kafkaNodeCount();
  if (names.includes('kafka')) recordKafkaNodes(count);
  if (names.some((name) => processesOf(name, count).some((p) => !p.installed()))) await install();
  const launched: { name: ServiceName; process: ServiceProcess; outcome: 'started' | 'running' }[] = [];
  for (const name of names) {
    const procs = processesOf(name, count);
    const outcomes = await Promise.allSettled(procs.map(launchProcess));
    procs.forEach((p, i) => {
      const outcome = outcomes[i];
      if (outcome.status === 'fulfilled') launched.push({ name, process: p, outcome: outcome.value });
    });
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      // A cluster with a node that could not launch is no cluster: stop the nodes this call started.
      await Promise.all(launched.filter((l) => l.name === name && l.outcome === 'started').map((l) => stopRecorded(l.process.pidFile, 5_000)));
      throw failed.reason;
    }
  }
  if (options.wait === false) return;
  await Promise.all(
    names.map(async (name) => {
      await Promise.all(
        launched
          .filter((l) => l.name === name)
          .map(async (l) => {
            try {
              await waitProcessReady(l.process);
            } catch (err) {
              if (l.outcome === 'started') await stopRecorded(l.process.pidFile, 5_000);
              throw err;
            }
          }),
      );
      say(`${name}: ready${name === 'kafka' && count > 1 ? ` (${count} nodes)` : ''} (${seconds(began)} since start)`);
    }),
  );
}

/**
 * SIGTERM, then SIGKILL once the grace period is over or `giveUp` says waiting is pointless;
 * waits until the process is gone and its ports are free. `graceMs` 0 is a crash: SIGKILL alone.
 */
async function stopProcess(p: ServiceProcess, graceMs: number = p.stopGraceMs, giveUp: () => boolean = () => false): Promise<StopResult> {
  const began = Date.now();
  const pid = runningPid(p.pidFile);
  if (pid !== undefined && graceMs > 0) {
    signalGroup(pid, 'SIGTERM');
    while (groupAlive(pid) && Date.now() - began < graceMs && !giveUp()) await sleep(100);
  }
  const forced = pid !== undefined && groupAlive(pid);
  // Kills whatever is left of the group, waits until it is gone, removes the pid file.
  await stopRecorded(p.pidFile, 0);
  if (pid === undefined) return { pid, forced: false };
  const busy = await waitPortsFree(
    p.ports.map((x) => x.port),
    10_000,
  );
  if (busy.length > 0) throw new Error(`${p.title} stopped but port(s) ${busy.join(', ')} are still in use`);
  const how = graceMs <= 0 ? ' with SIGKILL' : forced ? ' with SIGKILL after the grace period' : '';
  say(`${p.service}: stopped ${p.title} (pid ${pid})${how} (${seconds(began)})`);
  return { pid, forced };
}

/** Once the quorum is gone, how long a node still shutting down may take to close its logs, if it got that far. */
const QUORUM_LOST_GRACE_MS = 5_000;

/**
 * Stops the nodes of a mode together. A node whose controlled shutdown the controller had not
 * approved when most voters had exited can never have it approved (no quorum is left to do it),
 * and Kafka would wait 5 minutes: such a node is killed once the quorum has been gone a moment.
 */
async function stopKafkaNodes(count: KafkaNodeCount): Promise<void> {
  const procs = serviceProcesses('kafka', count);
  const pids = procs.map((p) => runningPid(p.pidFile)).filter((pid): pid is number => pid !== undefined);
  const majority = Math.floor(count / 2) + 1;
  let quorumLostAt: number | undefined;
  const quorumGone = () => {
    if (pids.filter(groupAlive).length >= majority) return false;
    quorumLostAt ??= Date.now();
    return Date.now() - quorumLostAt >= QUORUM_LOST_GRACE_MS;
  };
  await Promise.all(procs.map((p) => stopProcess(p, p.stopGraceMs, quorumGone)));
}

/**
 * Stops the services (all by default): SIGTERM, then SIGKILL after a grace period. Safe to call
 * twice. Kafka stops in whichever mode runs, its nodes together (see `stopKafkaNodes`).
 */
export async function stop(names: readonly ServiceName[] = serviceNames): Promise<void> {
  names.forEach(assertName);
  await Promise.all(
    names.flatMap((name): Promise<unknown>[] => (name === 'kafka' ? kafkaNodeCounts.map(stopKafkaNodes) : processesOf(name).map((p) => stopProcess(p)))),
  );
  if (names.includes('kafka')) forgetKafkaNodes();
}

/** Stops the services and deletes their data, logs and generated config: the next start is a fresh node (or cluster). */
export async function reset(names: readonly ServiceName[] = serviceNames): Promise<void> {
  await stop(names);
  for (const name of names) fs.rmSync(serviceDir(name), { recursive: true, force: true });
  if (names.includes('kafka')) fs.rmSync(kafkaClusterDir(), { recursive: true, force: true });
  say(`reset: deleted the data of ${names.join(', ')} in ${dataDir()}`);
}

/** Sends a signal to a running service, every Kafka node (e.g. SIGKILL to test crash recovery); returns its (first) pid. */
export function kill(name: ServiceName, signal: NodeJS.Signals = 'SIGKILL'): number | undefined {
  assertName(name);
  const pids = processesOf(name)
    .map((p) => runningPid(p.pidFile))
    .filter((pid): pid is number => pid !== undefined);
  for (const pid of pids) signalGroup(pid, signal);
  return pids[0];
}

/** Stops then starts one service; Kafka comes back in the mode it ran in. */
export async function restart(name: ServiceName, options: Pick<StartOptions, 'kafkaNodes'> = {}): Promise<void> {
  assertName(name);
  const count = options.kafkaNodes ?? kafkaNodeCount();
  await stop([name]);
  await start([name], { kafkaNodes: count });
}

export interface ProcessStatus {
  readonly title: string;
  readonly pid?: number;
  readonly ready: boolean;
  readonly ports: readonly number[];
  readonly logFile: string;
}

export interface ServiceStatus extends ProcessStatus {
  readonly name: ServiceName;
  /** Kafka only: how many nodes the mode has, and each node (node i is `nodes[i - 1]`). */
  readonly kafkaNodes?: KafkaNodeCount;
  readonly nodes?: readonly ProcessStatus[];
}

async function processStatus(p: ServiceProcess): Promise<ProcessStatus> {
  return { title: p.title, pid: runningPid(p.pidFile), ready: await probes(p), ports: p.ports.map((x) => x.port), logFile: p.logFile };
}

/** Each service in the mode that runs; a Kafka cluster is one entry (its first running pid, ready when every node is) with its nodes. */
export async function status(): Promise<ServiceStatus[]> {
  const count = kafkaNodeCount();
  return Promise.all(
    serviceNames.map(async (name) => {
      const procs = await Promise.all(processesOf(name, count).map(processStatus));
      const summary = {
        name,
        title: name === 'kafka' && count > 1 ? `Apache Kafka cluster (${count} KRaft nodes)` : procs[0].title,
        pid: procs.find((p) => p.pid !== undefined)?.pid,
        ready: procs.every((p) => p.ready),
        ports: procs.flatMap((p) => p.ports),
        logFile: procs[0].logFile,
      };
      return name === 'kafka' ? { ...summary, kafkaNodes: count, nodes: procs } : summary;
    }),
  );
}

export interface ProvisionResult {
  readonly topics: EnsureTopicsSummary;
  readonly cassandra: EnsureCassandraSchemaSummary;
  readonly bucket: EnsureBucketResult;
}

const progressLogger: AdminLogger = {
  info: (obj, msg) => say(`${msg} ${JSON.stringify(obj)}`),
  warn: (obj, msg) => say(`WARNING ${msg}${Object.keys(obj).length ? ` ${JSON.stringify(obj)}` : ''}`),
};

/**
 * The declared topics with the running mode's durability (RF 3 and min ISR 2 on a cluster).
 * Retried: on a cluster, kafkajs' createTopics waits for leaders by asking one broker, which may
 * not know the new topic yet (UNKNOWN_TOPIC_OR_PARTITION); a second pass finds it created.
 */
export async function provisionTopics(logger: AdminLogger = progressLogger): Promise<EnsureTopicsSummary> {
  const admin = new Kafka({ clientId: 'local-services-provision', brokers: [...endpoints().kafkaBrokerList], logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    return await waitFor('the declared topics to be created', async () => done(await ensureTopics(admin, allTopics, { ...kafkaDurability(), logger })), {
      timeoutMs: 60_000,
      intervalMs: 1_000,
    });
  } finally {
    await admin.disconnect();
  }
}

/** Creates the declared topics, keyspace, tables and the lake bucket; a second run changes nothing. */
export async function provision(logger: AdminLogger = progressLogger): Promise<ProvisionResult> {
  const e = endpoints();
  const began = Date.now();
  const cassandra = new CassandraClient({
    contactPoints: [e.cassandraContactPoints],
    protocolOptions: { port: e.cassandraPort },
    localDataCenter: e.cassandraLocalDc,
  });
  const s3 = createLocalS3Client();
  try {
    const [topics, schema, bucket] = await Promise.all([
      provisionTopics(logger),
      ensureCassandraSchema(cassandra, { keyspace: e.cassandraKeyspace, replicationFactor: localNames.replicationFactor, logger }),
      ensureBucket(s3, e.bucket),
    ]);
    say(
      `provisioned: topics ${topics.created.length} created/${topics.updated.length} updated/${topics.unchanged.length} unchanged, ` +
        `tables ${schema.created.length} created/${schema.updated.length} updated/${schema.unchanged.length} unchanged, ` +
        `bucket ${e.bucket} ${bucket} (${seconds(began)})`,
    );
    if (topics.warnings.length + schema.warnings.length > 0) {
      say('local data predates a contract change it cannot apply in place; `local-services.ts reset` then `up` recreates it');
    }
    return { topics, cassandra: schema, bucket };
  } finally {
    await cassandra.shutdown().catch(() => undefined);
    s3.destroy();
  }
}

/** Shell `export` lines for the apps' environment. */
export function envExports(): string {
  return Object.entries(appEnv())
    .map(([k, v]) => `export ${k}='${v.replace(/'/g, "'\\''")}'`)
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Kafka modes and nodes: what the fault tests do to brokers, the way MSK does it to its own.

/** Bound for a node to catch up and rejoin every ISR, on a busy 2-core machine. */
const IN_SYNC_TIMEOUT_MS = 180_000;

/**
 * Switches Kafka to `count` nodes (stopping the other mode, starting this one, creating the
 * declared topics with its durability) and returns the previous mode, so a test file can put it
 * back in `afterAll`. A no-op apart from provisioning when that mode already runs. Cassandra and
 * MinIO are left alone; `endpoints()` and `appEnv()` follow the switch at once.
 */
export async function useKafkaNodes(count: KafkaNodeCount, logger: AdminLogger = progressLogger): Promise<KafkaNodeCount> {
  const previous = kafkaNodeCount();
  const began = Date.now();
  if (previous === count && recordedKafkaNodes() === count && processesOf('kafka', count).every(isRunning)) {
    await waitReady('kafka');
  } else {
    await stop(['kafka']);
    await start(['kafka'], { kafkaNodes: count });
  }
  await provisionTopics(logger);
  say(`kafka: ${count} node(s) ready and provisioned (${previous} before; ${seconds(began)})`);
  return previous;
}

/** Node `id` of the running mode, as a process. */
function nodeProcess(id: number): ServiceProcess {
  return kafkaNodeProcess(kafkaNodeCount(), id);
}

/** Graceful stop of one node (SIGTERM: controlled shutdown, leadership moves away first); waits until it has exited. */
export async function stopKafkaNode(id: number): Promise<StopResult> {
  return stopProcess(nodeProcess(id));
}

/** A crash of one node: SIGKILL, nothing gets to clean up; waits until it is gone. Returns its pid. */
export async function killKafkaNode(id: number): Promise<number | undefined> {
  return (await stopProcess(nodeProcess(id), 0)).pid;
}

export interface InSyncOptions {
  /**
   * The nodes that must be in the ISR of every partition they replicate.
   * @default every node
   */
  readonly nodes?: readonly number[];
  /** @default 180 s */
  readonly timeoutMs?: number;
}

/**
 * Waits until the given nodes are back in the ISR of every partition of every topic (internal
 * topics included) that they replicate: before that, stopping another node would take some
 * partitions below min ISR, which is why MSK waits for it between brokers.
 */
export async function waitKafkaInSync(options: InSyncOptions = {}): Promise<void> {
  const count = kafkaNodeCount();
  const nodes = options.nodes ?? kafkaNodes(count).map((n) => n.id);
  await waitFor(
    `Kafka node(s) ${nodes.join(', ')} in the ISR of every partition`,
    async () => {
      const admin = probeAdmin(endpoints().kafkaBrokerList);
      try {
        await admin.connect();
        const { topics } = await admin.fetchTopicMetadata();
        const behind = topics.flatMap((t) =>
          t.partitions
            .filter((p) => p.replicas.some((r) => nodes.includes(r) && !p.isr.includes(r)))
            .map((p) => `${t.name}/${p.partitionId} (replicas ${p.replicas.join(',')}, isr ${p.isr.join(',')})`),
        );
        return behind.length === 0 ? done(undefined) : pending(`${behind.length} partition(s) out of sync, e.g. ${behind.slice(0, 3).join('; ')}`);
      } finally {
        await admin.disconnect();
      }
    },
    { timeoutMs: options.timeoutMs ?? IN_SYNC_TIMEOUT_MS, intervalMs: 500 },
  );
}

/** Starts one node that is down and waits until it serves requests and is back in the ISR of every partition it replicates. */
export async function startKafkaNode(id: number, options: Pick<InSyncOptions, 'timeoutMs'> = {}): Promise<void> {
  const node = nodeProcess(id);
  const outcome = await launchProcess(node);
  try {
    await waitProcessReady(node);
  } catch (err) {
    if (outcome === 'started') await stopRecorded(node.pidFile, 5_000);
    throw err;
  }
  await waitKafkaInSync({ nodes: [id], timeoutMs: options.timeoutMs });
}

export interface RollingRestartStep {
  readonly node: number;
  /** When SIGTERM was sent (epoch ms). */
  readonly startedAt: number;
  readonly pidBefore?: number;
  readonly pidAfter?: number;
  /** True when SIGTERM's grace period ran out and the node was killed. */
  readonly forced: boolean;
  /** From SIGTERM until the node had exited. */
  readonly stopMs: number;
  /** From SIGTERM until every partition had its full ISR again. */
  readonly backInSyncMs: number;
}

/**
 * Restarts the cluster one node at a time, as MSK applies a patch: starts only with every
 * partition fully in sync, and before the next node waits until every partition is again.
 */
export async function rollingRestart(options: Pick<InSyncOptions, 'timeoutMs'> = {}): Promise<RollingRestartStep[]> {
  const count = kafkaNodeCount();
  if (count === 1) {
    throw new Error('a rolling restart needs the 3-node cluster (start it with --kafka-nodes 3, or useKafkaNodes(3)); one node restarted is an outage');
  }
  await waitKafkaInSync(options);
  const steps: RollingRestartStep[] = [];
  for (const { id } of kafkaNodes(count)) {
    const began = Date.now();
    const stopped = await stopKafkaNode(id);
    const stopMs = Date.now() - began;
    await startKafkaNode(id, options);
    await waitKafkaInSync(options);
    steps.push({
      node: id,
      startedAt: began,
      pidBefore: stopped.pid,
      pidAfter: runningPid(nodeProcess(id).pidFile),
      forced: stopped.forced,
      stopMs,
      backInSyncMs: Date.now() - began,
    });
    say(`rolling restart: node ${id} back in every ISR (${seconds(began)})`);
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------
// Jest global setup/teardown helpers: start once per test run, stop only what was started here.

const STARTED_KEY = '__localServicesStartedHere';

/**
 * install + start + provision (Kafka in the mode LOCAL_KAFKA_NODES asks for, by default one
 * node), and exports the endpoints as the apps' env vars for the test workers.
 */
export async function setupForTests(): Promise<void> {
  await install();
  const before = new Set(serviceNames.filter((n) => processesOf(n).some(isRunning)));
  await start();
  (globalThis as Record<string, unknown>)[STARTED_KEY] = serviceNames.filter((n) => !before.has(n));
  await provision();
  Object.assign(process.env, appEnv());
}

/** Stops what `setupForTests` started (Kafka in whichever mode a test file left it), unless LOCAL_SERVICES_KEEP=1. */
export async function teardownForTests(): Promise<void> {
  const started = ((globalThis as Record<string, unknown>)[STARTED_KEY] as ServiceName[] | undefined) ?? [];
  if (process.env.LOCAL_SERVICES_KEEP === '1') {
    say(`LOCAL_SERVICES_KEEP=1: leaving ${started.join(', ') || 'services'} running in ${dataDir()}`);
    return;
  }
  await stop(started);
}

// ---------------------------------------------------------------------------------------------
// CLI

const usage = `usage: local-services.ts <command> [service...] [--kafka-nodes 1|3]
  install              download/build Kafka, Cassandra and MinIO into the cache
  start [service...]   start (default: all of ${serviceNames.join(', ')}) and wait until ready
  stop [service...]    stop; leaves no process behind
  restart <service>    stop then start one service (Kafka in its mode, or the one --kafka-nodes names)
  reset [service...]   stop and delete the local data (fresh topics, tables and bucket on next up)
  status               pid and readiness of each service (and of each Kafka node)
  provision            create topics, keyspace, tables and bucket (idempotent)
  up                   install + start + provision
  env                  print shell exports for the apps, e.g. eval "$(... env)"
  rolling-restart      restart the Kafka cluster node by node, each back in every ISR before the next
  kafka-node <start|stop|kill> <id>
                       one Kafka node: start (and wait until in sync), stop (SIGTERM) or kill (SIGKILL)
  --kafka-nodes 1|3    Kafka as one node (default) or a 3-node KRaft cluster with RF 3 and min ISR 2
                       (also LOCAL_KAFKA_NODES); once running, commands follow the running mode`;

/** Splits `--kafka-nodes N` (or `--kafka-nodes=N`) off the arguments. */
export function parseArgs(argv: readonly string[]): { readonly args: readonly string[]; readonly kafkaNodes?: KafkaNodeCount } {
  const args: string[] = [];
  let kafkaNodesArg: KafkaNodeCount | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--kafka-nodes' || arg.startsWith('--kafka-nodes=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (value === undefined) throw new Error('--kafka-nodes needs a value: 1 or 3');
      kafkaNodesArg = parseKafkaNodes(value, '--kafka-nodes');
    } else {
      args.push(arg);
    }
  }
  return { args, kafkaNodes: kafkaNodesArg };
}

function printStatus(all: readonly ServiceStatus[]): void {
  const line = (name: string, s: ProcessStatus) => {
    const state = s.ready ? (s.pid !== undefined ? 'ready' : 'ready (not ours)') : s.pid !== undefined ? 'starting/unhealthy' : 'stopped';
    process.stdout.write(
      `${name.padEnd(10)} ${state.padEnd(19)} ${s.pid !== undefined ? `pid ${s.pid}` : ''}`.padEnd(46) + ` ports ${s.ports.join(',')}  ${s.title}\n`,
    );
  };
  for (const s of all) {
    line(s.name, s);
    if (s.nodes && s.nodes.length > 1) s.nodes.forEach((n, i) => line(`  node ${i + 1}`, n));
  }
}

async function kafkaNodeCommand(rest: readonly string[]): Promise<void> {
  const [action, idText] = rest;
  const id = Number(idText);
  const ids = kafkaNodes(kafkaNodeCount()).map((n) => n.id);
  if (!ids.includes(id)) throw new Error(`kafka-node needs a node id of the running mode (${ids.join(', ')}); got '${idText ?? ''}'`);
  switch (action) {
    case 'start':
      return startKafkaNode(id);
    case 'stop':
      await stopKafkaNode(id);
      return;
    case 'kill':
      await killKafkaNode(id);
      return;
    default:
      throw new Error(`kafka-node <start|stop|kill> <id>; got '${action ?? ''}'`);
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const { args, kafkaNodes: requested } = parseArgs(argv);
  const [command, ...rest] = args;
  if (command === 'kafka-node') return kafkaNodeCommand(rest);
  rest.forEach(assertName);
  const names = rest.length > 0 ? (rest as ServiceName[]) : serviceNames;
  switch (command) {
    case 'install':
      await install();
      return;
    case 'start':
      await start(names, { kafkaNodes: requested });
      return;
    case 'stop':
      await stop(names);
      return;
    case 'reset':
      await reset(names);
      return;
    case 'restart':
      if (rest.length !== 1) throw new Error('restart takes exactly one service name');
      await restart(rest[0] as ServiceName, { kafkaNodes: requested });
      return;
    case 'status':
      printStatus(await status());
      return;
    case 'provision':
      await provision();
      return;
    case 'up':
      await install();
      await start(names, { kafkaNodes: requested });
      await provision();
      return;
    case 'env':
      process.stdout.write(`${envExports()}\n`);
      return;
    case 'rolling-restart':
      for (const step of await rollingRestart()) process.stdout.write(`${JSON.stringify(step)}\n`);
      return;
    default:
      throw new Error(usage);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`[local-services] ${err.message}\n`);
      process.exit(1);
    },
  );
}
