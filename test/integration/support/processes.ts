/**
 * The apps as real Node processes, each in its own process group, with the local services'
 * env plus per-app settings, logging to a file per app. Every process started here is tracked
 * and killed (whole group, SIGKILL) by `killAllApps()` and, as a last resort, when the test
 * process exits, so a failing test never leaves an app consuming from the shared services.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { appEnv } from '../../../scripts/local/local-services';

export type AppName = 'producer' | 'processor' | 'cassandra-sink' | 'lake-sink';

/** Fixed per app (services rule), so two apps never race for a port and scrapes know where to go. */
export const appPorts: Readonly<Record<AppName, number>> = {
  producer: 8080,
  processor: 8081,
  'cassandra-sink': 8082,
  'lake-sink': 8083,
};

export const repoRoot = path.resolve(__dirname, '..', '..', '..');

export interface AppExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const live = new Set<AppProcess>();

export class AppProcess {
  private readonly child: ChildProcess;
  private exitInfo?: AppExit;
  /** Resolves once the process exited (never rejects). */
  readonly exited: Promise<AppExit>;

  constructor(
    readonly name: AppName,
    readonly logFile: string,
    env: Readonly<Record<string, string>>,
  ) {
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    fs.appendFileSync(logFile, `\n===== ${name} started ${new Date().toISOString()} =====\n`);
    const out = fs.openSync(logFile, 'a');
    try {
      // tsx (esbuild) starts an app in ~0.8 s; ts-node would type-strip for several seconds.
      this.child = spawn(process.execPath, ['--import', 'tsx', path.join('apps', name, 'main.ts')], {
        cwd: repoRoot,
        env: { ...process.env, ...appEnv(), LOG_LEVEL: 'info', HTTP_PORT: String(appPorts[name]), ...env },
        detached: true,
        stdio: ['ignore', out, out],
      });
    } finally {
      fs.closeSync(out);
    }
    if (this.child.pid === undefined) throw new Error(`could not start ${name} with ${process.execPath}`);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve(this.exitInfo);
      });
    });
    live.add(this);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get port(): number {
    return appPorts[this.name];
  }

  get exit(): AppExit | undefined {
    return this.exitInfo;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** A crash, not a power cut: SIGKILL to the whole group, nothing gets to clean up. */
  async kill9(): Promise<AppExit> {
    signalGroup(this.pid, 'SIGKILL');
    return this.exited;
  }

  /** SIGTERM (graceful: finish or abandon the batch, commit, leave the group); SIGKILL after `graceMs`. */
  async stop(graceMs = 30_000): Promise<AppExit> {
    if (!this.running) return this.exitInfo as AppExit;
    signalGroup(this.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Last lines of the app's log, for failure messages. */
  logTail(lines = 15): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return `(no log at ${this.logFile})`;
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** SIGKILLs every app this test process started and waits for them to exit. */
export async function killAllApps(): Promise<void> {
  const apps = [...live];
  await Promise.all(apps.map((a) => a.kill9()));
}

// Last resort if jest is interrupted between tests: no orphaned consumers on the shared services.
process.once('exit', () => {
  for (const app of live) signalGroup(app.pid, 'SIGKILL');
});
