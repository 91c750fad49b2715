/**
 * The pipeline's apps as separate, detached Node processes (each its own process group, through
 * the one launcher), tracked by pid files next to the local services' data, so a run that was
 * killed hard leaves nothing the next run cannot find and stop.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { allApps, AppName } from '../../../apps/contracts/apps';
import { launchApp } from '../apps';
import { isPortFree, LaunchedProcess, runningPid, stopRecorded } from '../launcher';
import { dataDir } from '../local-services/config';

/** Pid files and per-run logs of the apps: `<LOCAL_SERVICES_DIR>/pipeline/`. */
export const pipelineDir = (): string => path.join(dataDir(), 'pipeline');
const pidFileOf = (app: string) => path.join(pipelineDir(), `${app}.pid`);

export interface AppProcess {
  readonly name: AppName;
  readonly pid: number;
  readonly port: number;
  readonly logFile: string;
  readonly process: LaunchedProcess;
}

export interface StoppedApp {
  readonly name: string;
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

  /** Apps of the catalog a previous run left behind (it was killed before it could stop them). */
  static leftovers(): { name: string; pid: number }[] {
    return allApps.flatMap(({ name }) => {
      const pid = runningPid(pidFileOf(name));
      return pid === undefined ? [] : [{ name, pid }];
    });
  }

  /** Stops apps a previous run left behind; they would hold the consumer groups and the ports. */
  static async stopLeftovers(): Promise<StoppedApp[]> {
    return Promise.all(
      Supervisor.leftovers().map(async ({ name, pid }) => {
        const { forced } = await stopRecorded(pidFileOf(name), APP_STOP_GRACE_MS);
        return { name, pid, forced };
      }),
    );
  }

  /** Launches `name` with `env` on top of the local services' endpoints; `port` becomes its HTTP_PORT. */
  start(name: AppName, env: Readonly<Record<string, string>>, port: number): AppProcess {
    if (this.closed) throw new Error(`not starting ${name}: the pipeline is stopping`);
    const logFile = path.join(this.logsDir, `${name}.log`);
    const proc = launchApp(name, { env, port, logFile, pidFile: pidFileOf(name), nodeArgs: this.nodeArgs });
    const app: AppProcess = { name, pid: proc.pid, port, logFile, process: proc };
    this.running.set(name, app);
    return app;
  }

  get apps(): readonly AppProcess[] {
    return [...this.running.values()];
  }

  isRunning(name: AppName): boolean {
    return this.running.get(name)?.process.running === true;
  }

  /** Apps that exited on their own (the producer does once it is done; the others must not). */
  exited(): AppProcess[] {
    return this.apps.filter((a) => !a.process.running);
  }

  logTail(name: AppName, lines = 15): string {
    return this.running.get(name)?.process.logTail(lines) ?? `(${name} was not started)`;
  }

  /**
   * SIGTERM to each app's process group (the apps drain and commit), SIGKILL after the grace
   * period (0: SIGKILL at once); resolves once no member of any group is left.
   */
  async stopAll(graceMs = APP_STOP_GRACE_MS): Promise<StoppedApp[]> {
    this.closed = true;
    const stopped = await Promise.all(
      this.apps.map(async (a) => {
        const { forced } = await a.process.stop(graceMs);
        return { name: a.name, pid: a.pid, forced };
      }),
    );
    this.running.clear();
    return stopped;
  }
}

/** The apps' own shutdown budget is 25 s (apps/lib/shutdown.ts); a little more before SIGKILL. */
export const APP_STOP_GRACE_MS = 30_000;
