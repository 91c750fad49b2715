/**
 * Real Kafka (KRaft), Cassandra 5.0 and an S3-compatible server (MinIO) on loopback, without
 * Docker: runtimes come from Maven Central and the Go module proxy into the user cache, and run
 * as detached processes whose pid files live in the data dir (`LOCAL_SERVICES_DIR`).
 *
 *   npx tsx scripts/local/local-services.ts <install|start|stop|status|provision|env|up|restart>
 *
 * The same functions are the programmatic API for tests (see test/integration/global-setup.ts).
 */
import { Client as CassandraClient } from 'cassandra-driver';
import * as fs from 'fs';
import { Kafka, logLevel } from 'kafkajs';
import { ensureBucket, EnsureBucketResult } from '../../apps/admin/bucket';
import { ensureCassandraSchema, EnsureCassandraSchemaSummary } from '../../apps/admin/cassandra-schema';
import { AdminLogger, ensureTopics, EnsureTopicsSummary } from '../../apps/admin/topics';
import { allTopics } from '../../apps/contracts/topics';
import { appEnv, dataDir, endpoints, localNames, ServiceName, serviceNames } from './local-services/config';
import { install } from './local-services/install';
import { done, isPortFree, launch, pending, runningPid, signalGroup, stopRecorded, tail, waitFor, waitPortsFree } from './launcher';
import { say, seconds } from './local-services/progress';
import { consoleLog, createLocalS3Client, pidFile, serviceDir, services } from './local-services/services';

export { appEnv, cacheDir, dataDir, endpoints, localNames, ports, serviceNames, versions } from './local-services/config';
export type { Endpoints, ServiceName } from './local-services/config';
export { createLocalS3Client, kafkaClasspath, javaBinary } from './local-services/services';
export { isPortFree } from './launcher';
/** Downloads/builds the runtimes that are not cached yet; no network when everything is cached. */
export { install };

function assertName(name: string): asserts name is ServiceName {
  if (!(serviceNames as readonly string[]).includes(name)) {
    throw new Error(`unknown service '${name}'; expected one of ${serviceNames.join(', ')}`);
  }
}

/** One probe, no retries: true when the service answers real requests. */
export async function isReady(name: ServiceName): Promise<boolean> {
  try {
    await services[name].probe();
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls until the service is ready. Fails fast, with the end of its log, when the process we
 * started has died; services started by someone else (e.g. docker compose) are only polled.
 */
export async function waitReady(name: ServiceName, timeoutMs: number = services[name].readyTimeoutMs): Promise<void> {
  const svc = services[name];
  const tracked = runningPid(pidFile(name));
  await waitFor(`${svc.title} to serve requests`, async () => ((await isReady(name)) ? done(undefined) : pending('not answering yet')), {
    timeoutMs,
    guard: () => {
      if (tracked === undefined || runningPid(pidFile(name)) !== undefined) return;
      const consoleTail = svc.logFile() === consoleLog(name) ? '' : `\n${tail(consoleLog(name), 10)}`;
      throw new Error(`${svc.title} exited during startup; end of ${svc.logFile()}:\n${tail(svc.logFile())}${consoleTail}`);
    },
  }).catch((err: Error) => {
    throw err.name === 'WaitTimeoutError' ? new Error(`${err.message}; end of ${svc.logFile()}:\n${tail(svc.logFile())}`) : err;
  });
}

async function launchService(name: ServiceName): Promise<'started' | 'running'> {
  const svc = services[name];
  const pid = runningPid(pidFile(name));
  if (pid !== undefined) {
    say(`${name}: already running (pid ${pid})`);
    return 'running';
  }
  if (!svc.installed()) await install();
  for (const { port, purpose } of svc.ports) {
    if (!(await isPortFree(port))) {
      throw new Error(
        `port ${port} (${purpose}) on 127.0.0.1 is already in use by another process, so ${svc.title} cannot start; ` +
          `find it with 'ss -ltnp "sport = :${port}"' (or 'lsof -i :${port}') and stop it, ` +
          `or stop the services of another data dir with LOCAL_SERVICES_DIR=<dir> ... stop`,
      );
    }
  }
  const spec = await svc.prepare();
  const proc = launch({ ...spec, name: svc.title, cwd: serviceDir(name), logFile: consoleLog(name), pidFile: pidFile(name) });
  say(`${name}: started ${svc.title} (pid ${proc.pid}, logs in ${serviceDir(name)}/logs)`);
  return 'started';
}

export interface StartOptions {
  /**
   * Wait until every service answers real requests.
   * @default true
   */
  readonly wait?: boolean;
}

/** Starts the services (all by default) that are not running yet, then waits for readiness. */
export async function start(names: readonly ServiceName[] = serviceNames, options: StartOptions = {}): Promise<void> {
  names.forEach(assertName);
  const began = Date.now();
  const outcomes: Record<string, 'started' | 'running'> = {};
  for (const name of names) outcomes[name] = await launchService(name);
  if (options.wait === false) return;
  await Promise.all(
    names.map(async (name) => {
      try {
        await waitReady(name);
      } catch (err) {
        if (outcomes[name] === 'started') await stopRecorded(pidFile(name), 5_000);
        throw err;
      }
      say(`${name}: ready (${seconds(began)} since start)`);
    }),
  );
}

/** Stops the services (all by default): SIGTERM, then SIGKILL after a grace period. Safe to call twice. */
export async function stop(names: readonly ServiceName[] = serviceNames): Promise<void> {
  names.forEach(assertName);
  await Promise.all(
    names.map(async (name) => {
      const svc = services[name];
      const began = Date.now();
      const { pid, forced } = await stopRecorded(pidFile(name), svc.stopGraceMs);
      if (pid === undefined) return;
      const busy = await waitPortsFree(
        svc.ports.map((p) => p.port),
        10_000,
      );
      if (busy.length > 0) throw new Error(`${name} stopped but port(s) ${busy.join(', ')} are still in use`);
      say(`${name}: stopped pid ${pid}${forced ? ' with SIGKILL after the grace period' : ''} (${seconds(began)})`);
    }),
  );
}

/** Stops the services and deletes their data, logs and generated config: the next start is a fresh node. */
export async function reset(names: readonly ServiceName[] = serviceNames): Promise<void> {
  await stop(names);
  for (const name of names) fs.rmSync(serviceDir(name), { recursive: true, force: true });
  say(`reset: deleted the data of ${names.join(', ')} in ${dataDir()}`);
}

/** Sends a signal to a running service (e.g. SIGKILL to test crash recovery); returns its pid. */
export function kill(name: ServiceName, signal: NodeJS.Signals = 'SIGKILL'): number | undefined {
  assertName(name);
  const pid = runningPid(pidFile(name));
  if (pid !== undefined) signalGroup(pid, signal);
  return pid;
}

export async function restart(name: ServiceName): Promise<void> {
  await stop([name]);
  await start([name]);
}

export interface ServiceStatus {
  readonly name: ServiceName;
  readonly title: string;
  readonly pid?: number;
  readonly ready: boolean;
  readonly ports: readonly number[];
  readonly logFile: string;
}

export async function status(): Promise<ServiceStatus[]> {
  return Promise.all(
    serviceNames.map(async (name) => ({
      name,
      title: services[name].title,
      pid: runningPid(pidFile(name)),
      ready: await isReady(name),
      ports: services[name].ports.map((p) => p.port),
      logFile: services[name].logFile(),
    })),
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

/** Creates the declared topics, keyspace, tables and the lake bucket; a second run changes nothing. */
export async function provision(logger: AdminLogger = progressLogger): Promise<ProvisionResult> {
  const e = endpoints();
  const began = Date.now();
  const admin = new Kafka({ clientId: 'local-services-provision', brokers: [e.kafkaBrokers], logLevel: logLevel.ERROR }).admin();
  const cassandra = new CassandraClient({
    contactPoints: [e.cassandraContactPoints],
    protocolOptions: { port: e.cassandraPort },
    localDataCenter: e.cassandraLocalDc,
  });
  const s3 = createLocalS3Client();
  try {
    await admin.connect();
    const [topics, schema, bucket] = await Promise.all([
      ensureTopics(admin, allTopics, {
        replicationFactor: localNames.replicationFactor,
        minInsyncReplicas: localNames.minInsyncReplicas,
        logger,
      }),
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
    await Promise.allSettled([admin.disconnect(), cassandra.shutdown()]);
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
// Jest global setup/teardown helpers: start once per test run, stop only what was started here.

const STARTED_KEY = '__localServicesStartedHere';

/** install + start + provision, and exports the endpoints as the apps' env vars for the test workers. */
export async function setupForTests(): Promise<void> {
  await install();
  const before = new Set(serviceNames.filter((n) => runningPid(pidFile(n)) !== undefined));
  await start();
  (globalThis as Record<string, unknown>)[STARTED_KEY] = serviceNames.filter((n) => !before.has(n));
  await provision();
  Object.assign(process.env, appEnv());
}

/** Stops what `setupForTests` started, unless LOCAL_SERVICES_KEEP=1 (leave them up for debugging). */
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

const usage = `usage: local-services.ts <command> [service...]
  install              download/build Kafka, Cassandra and MinIO into the cache
  start [service...]   start (default: all of ${serviceNames.join(', ')}) and wait until ready
  stop [service...]    stop; leaves no process behind
  restart <service>    stop then start one service
  reset [service...]   stop and delete the local data (fresh topics, tables and bucket on next up)
  status               pid and readiness of each service
  provision            create topics, keyspace, tables and bucket (idempotent)
  up                   install + start + provision
  env                  print shell exports for the apps, e.g. eval "$(... env)"`;

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  rest.forEach(assertName);
  const names = rest.length > 0 ? (rest as ServiceName[]) : serviceNames;
  switch (command) {
    case 'install':
      await install();
      return;
    case 'start':
      await start(names);
      return;
    case 'stop':
      await stop(names);
      return;
    case 'reset':
      await reset(names);
      return;
    case 'restart':
      if (rest.length !== 1) throw new Error('restart takes exactly one service name');
      await restart(rest[0] as ServiceName);
      return;
    case 'status':
      for (const s of await status()) {
        const state = s.ready ? (s.pid !== undefined ? 'ready' : 'ready (not ours)') : s.pid !== undefined ? 'starting/unhealthy' : 'stopped';
        process.stdout.write(
          `${s.name.padEnd(10)} ${state.padEnd(19)} ${s.pid !== undefined ? `pid ${s.pid}` : ''}`.padEnd(46) + ` ports ${s.ports.join(',')}  ${s.title}\n`,
        );
      }
      return;
    case 'provision':
      await provision();
      return;
    case 'up':
      await install();
      await start(names);
      await provision();
      return;
    case 'env':
      process.stdout.write(`${envExports()}\n`);
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
