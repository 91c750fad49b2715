/**
 * The pipeline's apps as separate, detached Node processes (each its own process group), tracked
 * by pid files next to the local services' data, so a run that was killed hard leaves nothing
 * the next run cannot find and stop.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { dataDir } from '../local-services/config';
import { isAlive, isPortFree, runningPid, spawnDetached, stopProcess, tail } from '../local-services/processes';
import { AppName } from './counters';

const repoRoot = path.join(__dirname, '..', '..', '..');

/** Pid files and per-run logs of the apps: `<LOCAL_SERVICES_DIR>/pipeline/`. */
export const pipelineDir = (): string => path.join(dataDir(), 'pipeline');
const pidFileOf = (app: AppName) => path.join(pipelineDir(), `${app}.pid`);
/** The app's entry point; also the marker that proves a recorded pid is still that app. */
export const entryPointOf = (app: AppName): string => path.join(repoRoot, 'apps', app, 'main.ts');

export interface AppProcess {
  readonly name: AppName;
  readonly pid: number;
  readonly port: number;
  readonly logFile: string;
}

export interface StoppedApp {
  readonly name: AppName;
  readonly pid: number;
  /** True when SIGTERM's grace period ran out and the group was killed. */
  readonly forced: boolean;
}

/** The conventional port when free, else any free one (another program may hold 8080). */
export async function pickPort(preferred: number): Promise<number> {
  if (await isPortFree(preferred, '0.0.0.0')) return preferred;
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '0.0.0.0', exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export class Supervisor {
  private readonly running = new Map<AppName, AppProcess>();
  /** Set by `stopAll`: a start still on its way (e.g. during Ctrl-C) must not spawn anything. */
  private closed = false;

  /** @param nodeArgs extra `node` flags for every app, e.g. `--cpu-prof` (NODE_OPTIONS refuses it) */
  constructor(
    readonly logsDir: string,
    private readonly nodeArgs: readonly string[] = [],
  ) {
    fs.mkdirSync(logsDir, { recursive: true });
  }

  /** Apps a previous run left behind (it was killed before it could stop them). */
  static leftovers(apps: readonly AppName[]): { name: AppName; pid: number }[] {
    return apps.flatMap((name) => {
      const pid = runningPid(pidFileOf(name));
      return pid === undefined ? [] : [{ name, pid }];
    });
  }

  /** Stops apps a previous run left behind; they would hold the consumer groups and the ports. */
  static async stopLeftovers(apps: readonly AppName[]): Promise<StoppedApp[]> {
    return Promise.all(
      Supervisor.leftovers(apps).map(async ({ name }) => {
        const { pid, forced } = await stopProcess(pidFileOf(name), APP_STOP_GRACE_MS);
        return { name, pid: pid as number, forced };
      }),
    );
  }

  start(name: AppName, env: NodeJS.ProcessEnv, port: number): AppProcess {
    if (this.closed) throw new Error(`not starting ${name}: the pipeline is stopping`);
    fs.mkdirSync(pipelineDir(), { recursive: true });
    const logFile = path.join(this.logsDir, `${name}.log`);
    const pid = spawnDetached({
      command: process.execPath,
      args: [...this.nodeArgs, '--import', 'tsx', entryPointOf(name)],
      env: { ...env, HTTP_PORT: String(port) },
      cwd: repoRoot,
      consoleLog: logFile,
      pidFile: pidFileOf(name),
      marker: entryPointOf(name),
    });
    const app: AppProcess = { name, pid, port, logFile };
    this.running.set(name, app);
    return app;
  }

  get apps(): readonly AppProcess[] {
    return [...this.running.values()];
  }

  isRunning(name: AppName): boolean {
    const app = this.running.get(name);
    return app !== undefined && isAlive(app.pid);
  }

  /** Apps that exited on their own (the producer does once it is done; the others must not). */
  exited(): AppProcess[] {
    return this.apps.filter((a) => !isAlive(a.pid));
  }

  /** Forgets an app that finished by itself, after reading its log. */
  reap(name: AppName): void {
    this.running.delete(name);
    fs.rmSync(pidFileOf(name), { force: true });
  }

  logTail(name: AppName, lines = 15): string {
    return tail(path.join(this.logsDir, `${name}.log`), lines);
  }

  /**
   * SIGTERM to each app's process group (the apps drain and commit), SIGKILL after the grace
   * period; resolves once no member of any group is left.
   */
  async stopAll(graceMs = APP_STOP_GRACE_MS): Promise<StoppedApp[]> {
    this.closed = true;
    const apps = this.apps;
    const stopped = await Promise.all(
      apps.map(async (a) => {
        const { pid, forced } = await stopProcess(pidFileOf(a.name), graceMs);
        return { name: a.name, pid: pid ?? a.pid, forced };
      }),
    );
    this.running.clear();
    return stopped;
  }
}

/** The apps' own shutdown budget is 25 s (apps/lib/shutdown.ts); a little more before SIGKILL. */
export const APP_STOP_GRACE_MS = 30_000;
