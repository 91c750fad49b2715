/**
 * Synthetic device telemetry: a fleet of devices, each reporting a fixed set of metrics as
 * bounded random walks, with a chosen share of deliberately malformed records covering
 * every way the processor must reject one. Part of the fleet runs newer firmware that sends
 * readings of contract v2 (with a unit), the rest v1, as during a rollout. Deterministic for a given seed and clock, so
 * tests and benchmarks can reproduce a run exactly.
 */
import { MAX_EVENT_TS, TelemetryReadingV1, TelemetryReadingV2 } from '../contracts/telemetry';

export const MALFORMED_KINDS = ['invalid_json', 'missing_field', 'wrong_type', 'ts_out_of_range', 'bad_metric', 'extra_field'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

interface MetricModel {
  readonly name: string;
  /** UCUM code, sent by v2 devices. */
  readonly unit: string;
  readonly min: number;
  readonly max: number;
  readonly start: (rand: () => number) => number;
  /** Largest step of the random walk per reading. */
  readonly step: number;
  /** Constant pull per reading (battery drains). */
  readonly drift: number;
  readonly decimals: number;
}

const METRICS: readonly MetricModel[] = [
  { name: 'temperature', unit: 'Cel', min: -40, max: 85, start: (r) => 18 + r() * 8, step: 0.15, drift: 0, decimals: 2 },
  { name: 'humidity', unit: '%', min: 0, max: 100, start: (r) => 35 + r() * 30, step: 0.4, drift: 0, decimals: 1 },
  { name: 'pressure', unit: 'hPa', min: 870, max: 1085, start: (r) => 1005 + r() * 15, step: 0.2, drift: 0, decimals: 1 },
  { name: 'battery', unit: '%', min: 0, max: 100, start: (r) => 60 + r() * 40, step: 0.02, drift: -0.005, decimals: 2 },
];
export const METRIC_NAMES: readonly string[] = METRICS.map((m) => m.name);

const FIRMWARE = ['1.4.2', '1.5.0', '2.0.1'];
const MODELS = ['th-100', 'th-200', 'env-pro'];

/** mulberry32: tiny, fast and random enough for test data; seeded for reproducible runs. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GeneratorOptions {
  /** Number of devices; records cycle through them, all metrics of a device in a row. */
  readonly devices: number;
  /** Share of malformed records, 0..1. @default 0 */
  readonly malformedRatio?: number;
  /**
   * Share of devices that send contract v2 readings (with a unit), 0..1, spread evenly over the
   * fleet; the others send v1. @default 0.5
   */
  readonly v2Ratio?: number;
  /** @default 1 */
  readonly seed?: number;
  /** Event-time source. @default Date.now (inject a fake clock for reproducible output) */
  readonly clock?: () => number;
}

export type GeneratedRecord =
  | { readonly valid: true; readonly key: string; readonly value: string; readonly reading: TelemetryReadingV1 | TelemetryReadingV2 }
  | { readonly valid: false; readonly key: string; readonly value: string; readonly kind: MalformedKind };

interface DeviceState {
  readonly id: string;
  readonly tags: Record<string, string>;
  readonly sendsV2: boolean;
  readonly values: number[];
  /** Last event time per metric: the next one is strictly greater. */
  readonly lastTs: number[];
}

/**
 * Endless record stream. Event timestamps are the clock's, bumped by 1 ms where needed so
 * they are strictly increasing per (device, metric): the Cassandra primary key
 * (device, day, ts, metric) never collides, so "exactly once" is countable in the table.
 */
export function* generateReadings(opts: GeneratorOptions): Generator<GeneratedRecord, never, undefined> {
  if (!Number.isInteger(opts.devices) || opts.devices < 1) throw new RangeError('devices must be a positive integer');
  const ratio = opts.malformedRatio ?? 0;
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError('malformedRatio must be within 0..1');
  const v2Ratio = opts.v2Ratio ?? 0.5;
  if (!(v2Ratio >= 0 && v2Ratio <= 1)) throw new RangeError('v2Ratio must be within 0..1');
  const rand = seededRandom(opts.seed ?? 1);
  const clock = opts.clock ?? Date.now;
  const width = Math.max(6, String(opts.devices - 1).length);
  const sites = Math.max(1, Math.ceil(opts.devices / 50));

  const fleet: DeviceState[] = Array.from({ length: opts.devices }, (_, i) => ({
    id: `dev-${String(i).padStart(width, '0')}`,
    tags: {
      site: `site-${String(i % sites).padStart(2, '0')}`,
      firmware: FIRMWARE[Math.floor(rand() * FIRMWARE.length)],
      model: MODELS[i % MODELS.length],
    },
    // Evenly spread: device i is v2 when the running count of v2 devices steps up at it.
    sendsV2: Math.floor((i + 1) * v2Ratio) > Math.floor(i * v2Ratio),
    values: METRICS.map((m) => m.start(rand)),
    lastTs: METRICS.map(() => -Infinity),
  }));

  for (let n = 0; ; n++) {
    const device = fleet[Math.floor(n / METRICS.length) % fleet.length];
    const mi = n % METRICS.length;
    if (ratio > 0 && rand() < ratio) {
      const kind = MALFORMED_KINDS[Math.floor(rand() * MALFORMED_KINDS.length)];
      yield { valid: false, key: device.id, value: malformed(kind, device, METRICS[mi].name, clock()), kind };
      continue;
    }
    const model = METRICS[mi];
    const walked = device.values[mi] + (rand() * 2 - 1) * model.step + model.drift;
    // Reflect at the bounds so the walk stays physically plausible; batteries "recharge".
    device.values[mi] =
      walked < model.min ? (model.name === 'battery' ? model.max : 2 * model.min - walked) : walked > model.max ? 2 * model.max - walked : walked;
    const ts = Math.max(clock(), device.lastTs[mi] + 1);
    device.lastTs[mi] = ts;
    const v1: TelemetryReadingV1 = {
      schemaVersion: 1,
      deviceId: device.id,
      ts,
      metric: model.name,
      value: Number(device.values[mi].toFixed(model.decimals)),
      tags: device.tags,
    };
    const reading = device.sendsV2 ? { ...v1, schemaVersion: 2 as const, unit: model.unit } : v1;
    yield { valid: true, key: device.id, value: JSON.stringify(reading), reading };
  }
}

function malformed(kind: MalformedKind, device: DeviceState, metric: string, now: number): string {
  const base = { schemaVersion: device.sendsV2 ? 2 : 1, deviceId: device.id, ts: now, metric, value: 1.5, tags: device.tags };
  switch (kind) {
    case 'invalid_json':
      return JSON.stringify(base).slice(0, 25);
    case 'missing_field': {
      const { value: _dropped, ...rest } = base;
      return JSON.stringify(rest);
    }
    case 'wrong_type':
      return JSON.stringify({ ...base, value: 'NaN' });
    case 'ts_out_of_range':
      return JSON.stringify({ ...base, ts: MAX_EVENT_TS + 1 });
    case 'bad_metric':
      return JSON.stringify({ ...base, metric: 'Temp (C)' });
    case 'extra_field':
      // A field neither version declares.
      return JSON.stringify({ ...base, firmware: device.tags.firmware });
  }
}
