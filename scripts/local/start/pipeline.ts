/**
 * The four apps as one pipeline: their environment, start-up in dependency order, readiness,
 * metrics scraping and the producer's final report. Shared by `npm start` and `npm run bench`.
 * Every app writes its spans to `<logs>/traces/<app>.jsonl` (./traces.ts reads them back).
 */
import * as fs from 'fs';
import { appNamed } from '../../../apps/contracts/apps';
import { waitAppReady } from '../apps';
import { AppName, pipelineCounters, PipelineCounters, Scrapes } from './counters';
import { parseMetrics, Sample } from './prometheus';
import { AppProcess, pickPort, Supervisor } from './supervisor';
import { traceFileOf } from './traces';

/** What the producer logs when it is done (apps/producer/run.ts `ProducerReport`). */
export interface ProducerReport {
  readonly valid: number;
  /** Valid readings by the contract version they were sent as. */
  readonly validByVersion: Readonly<Record<number, number>>;
  readonly malformed: number;
  readonly durationMs: number;
  readonly eventsPerSecond: number;
}

export class AppFailedError extends Error {
  constructor(
    readonly app: AppName,
    detail: string,
    logTail: string,
  ) {
    super(`${app} ${detail}; end of its log:\n${logTail}`);
    this.name = 'AppFailedError';
  }
}

export class Pipeline {
  readonly supervisor: Supervisor;
  private readonly last: Scrapes = {};

  constructor(logsDir: string, nodeArgs: readonly string[] = []) {
    this.supervisor = new Supervisor(logsDir, nodeArgs);
  }

  /**
   * Starts `app` with the local services' endpoints plus `env`, and waits until /readyz says so
   * (for consumers: joined their group). Fails with the end of its log if it exits meanwhile.
   */
  async start(app: AppName, env: Readonly<Record<string, string>>, opts: { readyTimeoutMs?: number; waitReady?: boolean } = {}): Promise<AppProcess> {
    const port = await pickPort(appNamed(app).httpPort);
    const tracing = { SDP_TRACES_FILE: traceFileOf(this.supervisor.logsDir, app), OTEL_BSP_SCHEDULE_DELAY: '1000' };
    const proc = this.supervisor.start(app, { ...tracing, ...env }, port);
    if (opts.waitReady === false) return proc;
    const timeoutMs = opts.readyTimeoutMs ?? 90_000;
    try {
      await waitAppReady(proc.process, port, { timeoutMs });
    } catch {
      throw new AppFailedError(app, proc.process.running ? `was not ready after ${timeoutMs / 1000} s` : 'exited during start-up', proc.process.logTail());
    }
    return proc;
  }

  portOf(app: AppName): number | undefined {
    return this.supervisor.apps.find((a) => a.name === app)?.port;
  }

  /** Scrapes every running app; an app that does not answer keeps its last scrape. */
  async scrape(): Promise<Scrapes> {
    await Promise.all(
      this.supervisor.apps.map(async (a) => {
        const samples = await scrapeMetrics(a.port);
        if (samples) this.last[a.name] = samples;
      }),
    );
    return { ...this.last };
  }

  async counters(): Promise<PipelineCounters> {
    return pipelineCounters(await this.scrape());
  }

  /** Apps that died although they should run until stopped (everything but a finished producer). */
  crashed(): AppName[] {
    return this.supervisor
      .exited()
      .map((a) => a.name)
      .filter((name) => name !== 'producer' || this.producerReport() === undefined);
  }

  /** The producer's final report, once it logged one. */
  producerReport(): ProducerReport | undefined {
    return logLine(this.logFile('producer'), 'done')?.report as ProducerReport | undefined;
  }

  /** Wall-clock time the producer began sending (its "producing" log line). */
  producerStartedAt(): number | undefined {
    const line = logLine(this.logFile('producer'), 'producing');
    return typeof line?.time === 'string' ? Date.parse(line.time) : undefined;
  }

  private logFile(app: AppName): string | undefined {
    return this.supervisor.apps.find((a) => a.name === app)?.logFile;
  }
}

export async function scrapeMetrics(port: number): Promise<Sample[] | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3_000) });
    return res.ok ? parseMetrics(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}

/** The last pino line of a log file with message `msg`. */
function logLine(file: string | undefined, msg: string): Record<string, unknown> | undefined {
  if (!file) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const needle = `"msg":"${msg}"`;
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].includes(needle)) continue;
    try {
      return JSON.parse(lines[i]) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
