/**
 * Live progress on a stream: a block redrawn in place on a terminal (twice a second), one line
 * every few seconds otherwise, so logs and CI output stay readable. Rates are taken over the last
 * few seconds of scrapes; the whole run is kept too (bounded), for its picture.
 */
import { RunPoint, RunSeries } from './chart';
import { PipelineCounters, ratePerSec } from './counters';
import { progressBlock, progressLine, ProgressView, redraw } from './report';

const RATE_WINDOW_MS = 3_000;

export class ProgressPrinter {
  private readonly history: { at: number; c: PipelineCounters }[] = [];
  private series = new RunSeries();
  private drawnLines = 0;
  private lastPrint = 0;
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly startedAt: number,
    private readonly lineIntervalMs = 5_000,
  ) {
    this.tty = out.isTTY === true && process.env.TERM !== 'dumb';
  }

  update(counters: PipelineCounters, phase: string, now = Date.now()): void {
    this.history.push({ at: now, c: counters });
    this.series.add(now, counters);
    while (this.history.length > 2 && now - this.history[1].at >= RATE_WINDOW_MS) this.history.shift();
    const since = now - this.lastPrint;
    if (since < (this.tty ? 500 : this.lineIntervalMs)) return;
    this.lastPrint = now;
    const view = this.view(counters, phase, now);
    if (this.tty) {
      const lines = progressBlock(view);
      this.out.write(redraw(this.drawnLines, lines));
      this.drawnLines = lines.length;
    } else {
      this.out.write(`${progressLine(view)}\n`);
    }
  }

  /** Prints a message below the block; the next update draws a fresh block under it. */
  say(message: string): void {
    this.out.write(`[start] ${message}\n`);
    this.drawnLines = 0;
  }

  /** Every update since the start (or the last restart), thinned to a bounded number of points. */
  samples(): RunPoint[] {
    return this.series.points();
  }

  /** Counters start over (a new baseline): forget the rate history and the run's samples. */
  restart(): void {
    this.history.length = 0;
    this.series = new RunSeries();
    this.drawnLines = 0;
    this.lastPrint = 0;
  }

  /** Forces the next `update` to print (e.g. the final state before the summary). */
  flush(): void {
    this.lastPrint = 0;
  }

  private view(c: PipelineCounters, phase: string, now: number): ProgressView {
    const first = this.history[0];
    const dt = now - first.at;
    return {
      elapsedMs: now - this.startedAt,
      counters: c,
      phase,
      rates: {
        produced: ratePerSec(c.produced - first.c.produced, dt),
        processed: ratePerSec(c.processed - first.c.processed, dt),
        cassandra: ratePerSec(c.cassandraRows - first.c.cassandraRows, dt),
        lake: ratePerSec(c.lakeRecords - first.c.lakeRecords, dt),
      },
    };
  }
}
