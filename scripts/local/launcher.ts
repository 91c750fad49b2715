/**
 * The one process launcher of the local runtime: the local services (Kafka, Cassandra, MinIO),
 * `npm start`'s apps and the integration tests' apps all start, watch and stop their processes
 * here. Each process runs detached in its own process group (launchers fork: a JVM script, tsx),
 * with stdout and stderr appended to a log file; optionally its pid goes to a pid file, so a
 * different process (a test's global teardown, a second shell, the next `npm start`) can find and
 * stop it. Stopping is bounded: SIGTERM to the group, SIGKILL once the grace period is over, and
 * it resolves only when no member of the group is left and our own child has been reaped.
 *
 * Nothing here knows what a process is; one process per call, so a service with several
 * instances (e.g. three brokers) launches each with its own pid file.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Waiting on a condition
// ---------------------------------------------------------------------------------------------

/** One observation: done with a value, or not yet, with a short description of where things stand. */
export type Poll<T> = { readonly done: true; readonly value: T } | { readonly done: false; readonly state: string };

export const done = <T>(value: T): Poll<T> => ({ done: true, value });
export const pending = (state: string): Poll<never> => ({ done: false, state });

export interface WaitOptions {
  readonly timeoutMs: number;
  /** @default 500 */
  readonly intervalMs?: number;
  /** Throws to abort the wait early, e.g. when the process the wait depends on has died. */
  readonly guard?: () => void;
}

export class WaitTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly lastState: string,
    timeoutMs: number,
  ) {
    super(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}; last observed: ${lastState}`);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Polls `probe` until it reports done. Probe errors (a service restarting) count as "not yet",
 * with the error as the observed state, so a wait rides through restarts and injected faults.
 */
export async function waitFor<T>(what: string, probe: () => Promise<Poll<T>>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'nothing observed yet';
  for (;;) {
    opts.guard?.();
    try {
      const poll = await probe();
      if (poll.done) return poll.value;
      last = poll.state;
    } catch (err) {
      last = `probe failed: ${(err as Error).message}`;
    }
    if (Date.now() >= deadline) throw new WaitTimeoutError(what, last, opts.timeoutMs);
    await sleep(opts.intervalMs ?? 500);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes and process groups
// ---------------------------------------------------------------------------------------------

/** `/proc/<pid>/stat` split after the command name (which may contain spaces and parentheses). */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (a zombie still answers signal 0 until its parent reaps it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const fields = statFields(pid);
  return fields === undefined || fields[0] !== 'Z';
}

/** True while any member of process group `pgid` is alive and not a zombie (Linux; elsewhere signal 0 decides). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return true;
  }
  return entries.some((e) => {
    const fields = statFields(e);
    return fields !== undefined && Number(fields[2]) === pgid && fields[0] !== 'Z';
  });
}

/** Signals the whole process group, falling back to the pid alone; a process already gone is no error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
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

/** How long SIGKILL may take to empty a group before we call it stuck (a process in D state). */
const KILL_WAIT_MS = 15_000;

/**
 * SIGTERM to the group, SIGKILL once `graceMs` is over; resolves when no member is left and
 * `reaped` (our child's exit event, when we are its parent) has settled.
 */
async function stopGroup(pid: number, graceMs: number, reaped: Promise<unknown> = Promise.resolve()): Promise<boolean> {
  const gone = async (deadline: number) => {
    while (groupAlive(pid) && Date.now() < deadline) await sleep(100);
    return !groupAlive(pid);
  };
  // No grace is a crash: SIGKILL alone, so nothing gets to clean up.
  if (graceMs > 0) signalGroup(pid, 'SIGTERM');
  const forced = graceMs <= 0 || !(await gone(Date.now() + graceMs));
  if (forced) {
    signalGroup(pid, 'SIGKILL');
    if (!(await gone(Date.now() + KILL_WAIT_MS)))
      throw new Error(`process group ${pid} survived SIGKILL for ${KILL_WAIT_MS / 1000} s; look at it with 'ps -g ${pid} -o pid,stat,args'`);
  }
  await reaped;
  return forced;
}

// ---------------------------------------------------------------------------------------------
// Pid files: processes another process started
// ---------------------------------------------------------------------------------------------

export interface PidRecord {
  readonly pid: number;
  /** A string the process's command line must contain, so a recycled pid is never signalled. */
  readonly marker: string;
  readonly startedAt: string;
}

export function readPid(file: string): PidRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    try {
      return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      return undefined;
    }
  }
}

/** The recorded process, if it is still running and still the one recorded. */
export function runningPid(pidFile: string): number | undefined {
  const rec = readPid(pidFile);
  if (!rec || !isAlive(rec.pid)) return undefined;
  return commandLine(rec.pid)?.includes(rec.marker) ? rec.pid : undefined;
}

export interface StopResult {
  /** The process that was stopped; undefined when nothing was running. */
  readonly pid?: number;
  /** True when the grace period ran out and the group was killed. */
  readonly forced: boolean;
}

/**
 * Stops the process recorded in `pidFile`, whoever started it (bounded SIGTERM -> SIGKILL, see
 * `stopGroup`), and removes the pid file. Safe to repeat.
 */
export async function stopRecorded(pidFile: string, graceMs: number): Promise<StopResult> {
  const pid = runningPid(pidFile);
  const forced = pid === undefined ? false : await stopGroup(pid, graceMs);
  fs.rmSync(pidFile, { force: true });
  return { pid, forced };
}

// ---------------------------------------------------------------------------------------------
// Launching
// ---------------------------------------------------------------------------------------------

export interface LaunchSpec {
  /** What the process is, for messages. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Receives stdout and stderr (appended, after a header line naming the process and the time). */
  readonly logFile: string;
  /** Where to record the pid, so other processes can find and stop it; needs `marker`. */
  readonly pidFile?: string;
  /** A string the process's command line contains (e.g. its entry point or config file). */
  readonly marker?: string;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Every process this one launched and that has not exited: killed if this process exits first. */
const live = new Set<LaunchedProcess>();

export class LaunchedProcess {
  readonly pid: number;
  /** Resolves once the process exited and was reaped (never rejects). */
  readonly exited: Promise<ProcessExit>;
  private exitInfo?: ProcessExit;

  constructor(
    readonly spec: LaunchSpec,
    private readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command}): is it installed and on PATH?`);
    this.pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve(this.exitInfo);
      });
    });
  }

  get name(): string {
    return this.spec.name;
  }

  get logFile(): string {
    return this.spec.logFile;
  }

  /** How it exited; undefined while it runs. */
  get exit(): ProcessExit | undefined {
    return this.exitInfo;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) signalGroup(this.pid, signal);
  }

  /**
   * Graceful stop: SIGTERM to the group, SIGKILL after `graceMs`; resolves once the group is gone
   * and the process reaped. Removes the pid file. Safe to repeat.
   */
  async stop(graceMs: number): Promise<StopResult & { readonly pid: number; readonly exit: ProcessExit }> {
    // The child is unref'd so that services may outlive us; while we wait for its exit it must
    // keep our event loop alive, or Node ends this process (exit 0) before 'exit' is delivered.
    this.child.ref();
    const forced = groupAlive(this.pid) ? await stopGroup(this.pid, graceMs, this.exited) : false;
    const exit = await this.exited;
    if (this.spec.pidFile) fs.rmSync(this.spec.pidFile, { force: true });
    return { pid: this.pid, forced, exit };
  }

  /** A crash, not a shutdown: SIGKILL to the whole group, nothing gets to clean up. */
  async kill(): Promise<ProcessExit> {
    return (await this.stop(0)).exit;
  }

  /** The last lines of its log, for messages that say why it failed. */
  logTail(lines = 15): string {
    return tail(this.logFile, lines);
  }
}

/** Starts a process detached, in its own process group, logging to `spec.logFile`. */
export function launch(spec: LaunchSpec): LaunchedProcess {
  if (spec.pidFile !== undefined && spec.marker === undefined) throw new Error(`launch ${spec.name}: a pidFile needs a marker`);
  fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
  fs.appendFileSync(spec.logFile, `===== ${spec.name} started ${new Date().toISOString()} =====\n`);
  const out = fs.openSync(spec.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(spec.command, [...spec.args], { cwd: spec.cwd, env: spec.env ?? process.env, detached: true, stdio: ['ignore', out, out] });
  } finally {
    fs.closeSync(out);
  }
  // A failed spawn (ENOENT) also reports through 'error'; the missing pid reports it to the caller.
  child.once('error', () => undefined);
  const proc = new LaunchedProcess(spec, child);
  // The process may outlive this one (the services do); our exit must not wait for it.
  child.unref();
  if (spec.pidFile) {
    const rec: PidRecord = { pid: proc.pid, marker: spec.marker as string, startedAt: new Date().toISOString() };
    fs.mkdirSync(path.dirname(spec.pidFile), { recursive: true });
    fs.writeFileSync(spec.pidFile, JSON.stringify(rec));
  } else {
    live.add(proc);
  }
  return proc;
}

// Processes without a pid file nobody else could find: never leave them behind, even when this
// process is interrupted (jest between tests, an uncaught error).
process.once('exit', () => {
  for (const p of live) signalGroup(p.pid, 'SIGKILL');
});

// ---------------------------------------------------------------------------------------------
// Ports and logs
// ---------------------------------------------------------------------------------------------

/** True when nothing listens on `host`:`port` (we can bind it ourselves). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Waits until every port is free; returns those still busy after `timeoutMs`. */
export async function waitPortsFree(ports: readonly number[], timeoutMs: number, host?: string): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy: number[] = [];
    for (const p of ports) if (!(await isPortFree(p, host))) busy.push(p);
    if (busy.length === 0 || Date.now() >= deadline) return busy;
    await sleep(200);
  }
}

/** The last lines of a log file, for error messages that show why a process died. */
export function tail(file: string, lines = 25): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}
