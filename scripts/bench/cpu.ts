/**
 * Where the CPU goes: per-process CPU time from /proc (Linux), so a benchmark can say how many
 * CPU-microseconds each app and service spends per event, and how busy the machine was.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds of a process (its threads included); undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5) (utime, stime), counted from after the command name.
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

/**
 * User + system CPU seconds of this process's children that have exited and been waited for
 * (fields cutime and cstime of /proc/self/stat). A child run to completion, like a Kafka perf
 * tool, is metered exactly this way: no pid to chase, and no CPU lost between its last sample
 * and its exit.
 */
export function finishedChildrenCpuSeconds(): number | undefined {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 of proc(5) (cutime, cstime), counted from after the command name.
    return (Number(fields[13]) + Number(fields[14])) / clockTicks();
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: (total - idle) / clockTicks(), total: total / clockTicks() };
  } catch {
    return undefined;
  }
}

export interface CpuReport {
  /** CPU seconds per named process over the interval. */
  readonly seconds: Readonly<Record<string, number>>;
  /** Share of the machine's CPU capacity in use over the interval (all processes, also others'). */
  readonly machineBusyShare?: number;
}

/**
 * Samples a set of processes now; `stop()` returns what each used since. A process that exits
 * meanwhile (the producer, once done) counts up to its last `sample()`, so sample regularly.
 */
export class CpuMeter {
  private readonly before = new Map<string, number>();
  private readonly latest = new Map<string, number>();
  private readonly machineBefore = machineCpuSeconds();
  private readonly childrenBefore: number | undefined;

  /**
   * `finishedChildrenAs` also reports, under that name, the CPU of this process's children that
   * exit and are waited for meanwhile (`finishedChildrenCpuSeconds`): use it only while the
   * children that end are the ones to meter.
   */
  constructor(
    private readonly pids: Readonly<Record<string, number>>,
    private readonly finishedChildrenAs?: string,
  ) {
    this.childrenBefore = finishedChildrenAs !== undefined ? finishedChildrenCpuSeconds() : undefined;
    for (const [name, pid] of Object.entries(pids)) {
      const s = processCpuSeconds(pid);
      if (s !== undefined) this.before.set(name, s);
    }
  }

  sample(): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      const s = processCpuSeconds(pid);
      if (s !== undefined) this.latest.set(name, s);
    }
  }

  stop(): CpuReport {
    this.sample();
    const seconds: Record<string, number> = {};
    for (const name of Object.keys(this.pids)) {
      const now = this.latest.get(name);
      const then = this.before.get(name);
      if (now !== undefined && then !== undefined) seconds[name] = now - then;
    }
    const children = this.childrenBefore !== undefined ? finishedChildrenCpuSeconds() : undefined;
    if (this.finishedChildrenAs !== undefined && children !== undefined) seconds[this.finishedChildrenAs] = children - this.childrenBefore!;
    const m = machineCpuSeconds();
    const b = this.machineBefore;
    const machineBusyShare = m && b && m.total > b.total ? (m.busy - b.busy) / (m.total - b.total) : undefined;
    return { seconds, ...(machineBusyShare !== undefined ? { machineBusyShare } : {}) };
  }
}

/**
 * Waits until the machine is mostly idle (e.g. Cassandra finished its start-up work), so a
 * stage is not measured against background load. Returns the busy share it settled at.
 */
export async function waitForQuietMachine(maxBusyShare = 0.25, timeoutMs = 120_000, sampleMs = 2_000): Promise<{ busyShare: number; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const a = machineCpuSeconds();
    await new Promise((r) => setTimeout(r, sampleMs));
    const b = machineCpuSeconds();
    if (!a || !b) return { busyShare: 0, waitedMs: Date.now() - started };
    const busyShare = (b.busy - a.busy) / Math.max(1e-9, b.total - a.total);
    if (busyShare <= maxBusyShare || Date.now() - started > timeoutMs) return { busyShare, waitedMs: Date.now() - started };
  }
}
