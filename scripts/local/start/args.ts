/**
 * Command-line options of `npm start`, parsed with node's `parseArgs` and validated with zod so
 * every bad flag is reported by name, together, before anything starts.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';

export interface StartOptions {
  /** Events to produce; undefined when only a duration is given. */
  readonly events?: number;
  /** Seconds to produce; undefined when only an event count is given. */
  readonly durationSeconds?: number;
  /** Events per second; 0 = as fast as the broker acknowledges. */
  readonly rate: number;
  readonly devices: number;
  /** Share of deliberately malformed records, 0..1. */
  readonly malformed: number;
  /** Leave the pipeline running after the summary, until Ctrl-C. */
  readonly keepRunning: boolean;
  /** Progress on stderr, one JSON summary object as the last line of stdout. */
  readonly json: boolean;
  readonly help: boolean;
}

/** Used when neither `--events` nor `--duration` is given: ~10 s of traffic at the default rate. */
export const DEFAULT_EVENTS = 100_000;

export const usage = `usage: npm start -- [options]

Runs the whole pipeline locally (Kafka, Cassandra and MinIO from scripts/local/local-services.ts;
producer, processor, cassandra-sink and lake-sink as separate processes), shows live progress
and prints a summary checked against both stores.

  --events <n>         events to produce (default ${DEFAULT_EVENTS.toLocaleString('en-US')} unless --duration is given)
  --duration <time>    produce for this long: 90, 90s, 5m or 1h (with --events: whichever ends first)
  --rate <n>           events per second; 0 = as fast as the broker acknowledges (default 10000)
  --devices <n>        simulated devices, 4 metrics each (default 1000)
  --malformed <share>  share of malformed records: 0.01 or 1% (default 1%)
  --keep-running       leave the pipeline running after the summary; Ctrl-C stops it
  --json               progress on stderr; the last line of stdout is the summary as JSON
  -h, --help           this text

Ctrl-C stops the apps and the local services this command started (services that were already
running are left running).`;

export class ArgsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`${problems.map((p) => `  - ${p}`).join('\n')}\n\n${usage}`);
    this.name = 'ArgsError';
  }
}

const integer = (flag: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d[\d_]*$/, `${flag} must be a whole number, e.g. ${flag} 20000`)
    .transform((s) => Number(s.replace(/_/g, '')))
    .pipe(z.number().int().min(min, `${flag} must be at least ${min}`).max(max, `${flag} must be at most ${max}`));

const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600 };

/** `90`, `90s`, `1.5m`, `1h` -> seconds. */
const duration = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?[smh]?$/, '--duration must be seconds or a number with s, m or h, e.g. --duration 2m')
  .transform((s) => {
    const unit = /[smh]$/.test(s) ? s.slice(-1) : '';
    return Math.round(Number(unit ? s.slice(0, -1) : s) * UNIT_SECONDS[unit]);
  })
  .pipe(z.number().int().min(1, '--duration must be at least 1 second').max(86_400, '--duration must be at most 24h'));

/** `0.01` or `1%` -> 0.01. */
const share = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?%?$/, '--malformed must be a share such as 0.01 or 1%')
  .transform((s) => (s.endsWith('%') ? Number(s.slice(0, -1)) / 100 : Number(s)))
  .pipe(z.number().min(0, '--malformed must be within 0..1 (0%..100%)').max(1, '--malformed must be within 0..1 (0%..100%)'));

const schema = z.object({
  events: integer('--events', 1, 1_000_000_000).optional(),
  duration: duration.optional(),
  rate: integer('--rate', 0, 10_000_000).default(10_000),
  devices: integer('--devices', 1, 10_000_000).default(1_000),
  malformed: share.default(0.01),
});

export function parseStartArgs(argv: readonly string[]): StartOptions {
  const values = parseFlags(argv);
  if (values.help) return { rate: 0, devices: 1, malformed: 0, keepRunning: false, json: false, help: true };
  const result = schema.safeParse({
    events: values.events,
    duration: values.duration,
    rate: values.rate,
    devices: values.devices,
    malformed: values.malformed,
  });
  if (!result.success) throw new ArgsError(result.error.issues.map((i) => i.message));
  const { events, duration: durationSeconds, rate, devices, malformed } = result.data;
  return {
    events: events ?? (durationSeconds === undefined ? DEFAULT_EVENTS : undefined),
    durationSeconds,
    rate,
    devices,
    malformed,
    keepRunning: values['keep-running'] ?? false,
    json: values.json ?? false,
    help: false,
  };
}

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: flags, strict: true, allowPositionals: false }).values;
  } catch (err) {
    // node's messages already name the flag ("Unknown option '--evnts'").
    throw new ArgsError([(err as Error).message]);
  }
}

const flags = {
  events: { type: 'string' },
  duration: { type: 'string' },
  rate: { type: 'string' },
  devices: { type: 'string' },
  malformed: { type: 'string' },
  'keep-running': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
