/**
 * The apps as real Node processes, launched as `npm start` launches them (scripts/local/apps.ts,
 * one process group each, the local services' env plus per-app settings, a log file per app) on
 * the catalog's fixed ports, so two apps never race for a port and scrapes know where to go.
 * Every process started here is killed (whole group, SIGKILL) by `killAllApps()` and, as a last
 * resort, by the launcher when the test process exits, so a failing test never leaves an app
 * consuming from the shared services.
 *
 * Several instances of one app (a scaled Deployment) run side by side: instance 1 is the app as
 * the catalog declares it; instance n > 1 serves on the catalog port + 100·(n−1) and names itself
 * `<app>-<n>` (APP_NAME, KAFKA_CLIENT_ID), so logs, metrics and broker-side client ids tell them apart.
 */
import { AppName, apps } from '../../../apps/contracts/apps';
import { launchApp, repoRoot } from '../../../scripts/local/apps';
import { LaunchedProcess, ProcessExit } from '../../../scripts/local/launcher';

export type { AppName };
export type AppExit = ProcessExit;
export { repoRoot };

/** The catalog's ports by app name. */
export const appPorts: Readonly<Record<AppName, number>> = Object.fromEntries(Object.values(apps).map((a) => [a.name, a.httpPort])) as Record<AppName, number>;

/** The HTTP port of an app's `instance` (1 = the catalog's port). */
export function instancePort(name: AppName, instance = 1): number {
  return appPorts[name] + 100 * (instance - 1);
}

/** How an instance is named in logs, metrics and messages: the app's name, with `-<n>` from the second on. */
export function instanceId(name: AppName, instance = 1): string {
  return instance === 1 ? name : `${name}-${instance}`;
}

/** The apps' own shutdown budget is 25 s (apps/lib/shutdown.ts); a little more before SIGKILL. */
const STOP_GRACE_MS = 30_000;

const live = new Set<AppProcess>();

export class AppProcess {
  private readonly proc: LaunchedProcess;

  constructor(
    readonly name: AppName,
    readonly logFile: string,
    env: Readonly<Record<string, string>>,
    readonly instance = 1,
  ) {
    if (!Number.isInteger(instance) || instance < 1) throw new RangeError(`${name}: instance must be a whole number from 1, got ${instance}`);
    const id = instanceId(name, instance);
    const named = instance === 1 ? env : { ...env, APP_NAME: id, KAFKA_CLIENT_ID: id };
    this.proc = launchApp(name, { env: named, logFile, port: instancePort(name, instance) });
    live.add(this);
    void this.proc.exited.then(() => live.delete(this));
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** `name`, or `name-<instance>` from the second instance on. */
  get id(): string {
    return instanceId(this.name, this.instance);
  }

  get port(): number {
    return instancePort(this.name, this.instance);
  }

  /** Resolves once the process exited (never rejects). */
  get exited(): Promise<AppExit> {
    return this.proc.exited;
  }

  get exit(): AppExit | undefined {
    return this.proc.exit;
  }

  get running(): boolean {
    return this.proc.running;
  }

  get process(): LaunchedProcess {
    return this.proc;
  }

  /** Sends `signal` to the app's process group, e.g. SIGSTOP/SIGCONT to freeze it. */
  signal(signal: NodeJS.Signals): void {
    this.proc.signal(signal);
  }

  /** A crash, not a power cut: SIGKILL to the whole group, nothing gets to clean up. */
  kill9(): Promise<AppExit> {
    return this.proc.kill();
  }

  /** SIGTERM (graceful: finish or abandon the batch, commit, leave the group); SIGKILL after `graceMs`. */
  async stop(graceMs = STOP_GRACE_MS): Promise<AppExit> {
    return (await this.proc.stop(graceMs)).exit;
  }

  /** Last lines of the app's log, for failure messages. */
  logTail(lines = 15): string {
    return this.proc.logTail(lines);
  }
}

/** SIGKILLs every app this test process started and waits until they are gone. */
export async function killAllApps(): Promise<void> {
  await Promise.all([...live].map((a) => a.kill9()));
}
