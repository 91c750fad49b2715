/**
 * Detached service processes tracked by pid files, so any process (a test's global teardown,
 * a second shell) can find and stop what another one started.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';

export interface PidRecord {
  readonly pid: number;
  /** A string the process's command line must contain, so a recycled pid is never signalled. */
  readonly marker: string;
  readonly startedAt: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/** Alive and not a zombie (a zombie still answers signal 0 until its parent reaps it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The recorded process, if it is still running and still ours. */
export function runningPid(file: string): number | undefined {
  const rec = readPid(file);
  if (!rec || !isAlive(rec.pid)) return undefined;
  return commandLine(rec.pid)?.includes(rec.marker) ? rec.pid : undefined;
}

export interface SpawnSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Receives stdout and stderr; the services' own logs go to files next to it. */
  readonly consoleLog: string;
  readonly pidFile: string;
  readonly marker: string;
}

/** Starts a process in its own process group, detached from this one, and records its pid. */
export function spawnDetached(spec: SpawnSpec): number {
  fs.mkdirSync(path.dirname(spec.consoleLog), { recursive: true });
  const out = fs.openSync(spec.consoleLog, 'a');
  try {
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
    });
    // A failed spawn (e.g. ENOENT) reports through 'error' as well; the pid check below handles it.
    child.once('error', () => undefined);
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}: is it installed and on PATH?`);
    child.unref();
    const rec: PidRecord = { pid: child.pid, marker: spec.marker, startedAt: new Date().toISOString() };
    fs.writeFileSync(spec.pidFile, JSON.stringify(rec));
    return child.pid;
  } finally {
    fs.closeSync(out);
  }
}

/** Signals the whole process group (launchers may fork), falling back to the pid alone. */
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

const groupAlive = (pid: number): boolean => {
  try {
    process.kill(-pid, 0);
  } catch {
    return false;
  }
  return hasLiveGroupMembers(pid);
};

/** Members of a process group other than zombies (Linux only; elsewhere trusts signal 0). */
function hasLiveGroupMembers(pgid: number): boolean {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return true;
  }
  return entries.some((e) => {
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[2]) === pgid && fields[0] !== 'Z';
    } catch {
      return false;
    }
  });
}

/**
 * SIGTERM (graceful: Kafka's controlled shutdown, Cassandra's drain), then SIGKILL after
 * `graceMs`; resolves once nothing of the group is left. Removes the pid file. Safe to repeat.
 */
export async function stopProcess(pidFile: string, graceMs: number): Promise<{ pid?: number; forced: boolean }> {
  const pid = runningPid(pidFile);
  if (pid === undefined) {
    fs.rmSync(pidFile, { force: true });
    return { forced: false };
  }
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(pid) && Date.now() < deadline) await sleep(200);
  const forced = groupAlive(pid);
  if (forced) {
    signalGroup(pid, 'SIGKILL');
    const killDeadline = Date.now() + 10_000;
    while (groupAlive(pid) && Date.now() < killDeadline) await sleep(100);
    if (groupAlive(pid)) throw new Error(`process ${pid} survived SIGKILL; check it with 'ps -g ${pid}'`);
  }
  fs.rmSync(pidFile, { force: true });
  return { pid, forced };
}

/** True when nothing listens on 127.0.0.1:`port` (we can bind it ourselves). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function waitPortsFree(ports: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy: number[] = [];
    for (const p of ports) if (!(await isPortFree(p))) busy.push(p);
    if (busy.length === 0 || Date.now() >= deadline) return busy;
    await sleep(200);
  }
}

/** The last lines of a log file, for error messages that show why a service died. */
export function tail(file: string, lines = 25): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return `(no ${file})`;
  }
}
