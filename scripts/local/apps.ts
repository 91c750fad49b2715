/**
 * The catalog's apps (apps/contracts/apps.ts) as local processes: how one is launched against
 * the local services and how its readiness is probed. `npm start` and the integration tests both
 * launch apps through here, so a new catalog entry runs in both with no edit.
 */
import * as path from 'path';
import { AppDeclaration, appNamed } from '../../apps/contracts/apps';
import { appEnv } from './local-services/config';
import { done, launch, LaunchedProcess, pending, waitFor } from './launcher';

export const repoRoot = path.join(__dirname, '..', '..');

/** The app's entry point; also the marker that proves a recorded pid is still that app. */
export const entryPointOf = (app: AppDeclaration): string => path.join(repoRoot, 'apps', app.name, 'main.ts');

export interface AppLaunch {
  /** Settings on top of the local services' endpoints and the app's defaults. */
  readonly env?: Readonly<Record<string, string>>;
  /** @default the catalog's port */
  readonly port?: number;
  readonly logFile: string;
  /** Record the pid here, so a later run can find and stop an app this one left behind. */
  readonly pidFile?: string;
  /** Extra `node` flags, e.g. `--cpu-prof` (NODE_OPTIONS refuses it). */
  readonly nodeArgs?: readonly string[];
}

/** Starts a catalog app; tsx (esbuild) starts an app in under a second. */
export function launchApp(name: string, opts: AppLaunch): LaunchedProcess {
  const app = appNamed(name);
  const port = opts.port ?? app.httpPort;
  return launch({
    name: app.name,
    command: process.execPath,
    args: [...(opts.nodeArgs ?? []), '--import', 'tsx', entryPointOf(app)],
    cwd: repoRoot,
    env: { ...process.env, ...appEnv(), LOG_LEVEL: 'info', ...opts.env, HTTP_PORT: String(port) },
    logFile: opts.logFile,
    pidFile: opts.pidFile,
    marker: entryPointOf(app),
  });
}

/** HTTP status of `path` on a local app, or 0 when it does not answer. */
export async function probeStatus(port: number, urlPath: string, timeoutMs = 2_000): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

/**
 * Waits until the app's /readyz answers 200 (a consumer has joined its group). Fails at once,
 * with the end of its log, when it exits meanwhile; `guard` may abort the wait for other reasons.
 */
export async function waitAppReady(proc: LaunchedProcess, port: number, opts: { timeoutMs: number; guard?: () => void }): Promise<void> {
  await waitFor(
    `${proc.name} to answer /readyz on port ${port}`,
    async () => {
      const status = await probeStatus(port, '/readyz');
      return status === 200 ? done(undefined) : pending(status === 0 ? 'no answer yet' : `/readyz ${status}`);
    },
    {
      timeoutMs: opts.timeoutMs,
      intervalMs: 250,
      guard: () => {
        opts.guard?.();
        if (!proc.running) throw new Error(`${proc.name} exited during start-up (${JSON.stringify(proc.exit)}); end of ${proc.logFile}:\n${proc.logTail()}`);
      },
    },
  );
}
