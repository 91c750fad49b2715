/**
 * Just enough of Prometheus for reading the apps' /metrics: the text exposition format, label
 * filters, and `histogram_quantile` with PromQL's linear interpolation inside a bucket.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export type LabelFilter = Readonly<Record<string, string>>;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text format; comments, blank lines and unparsable lines are skipped. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line.trim());
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k] = v.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    samples.push({ name: m[1], labels, value: parseValue(m[3]) });
  }
  return samples;
}

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

const matches = (s: Sample, name: string, filter: LabelFilter) => s.name === name && Object.entries(filter).every(([k, v]) => s.labels[k] === v);

/** Sum over every series of `name` whose labels match `filter` (0 when there is none). */
export function sumOf(samples: readonly Sample[], name: string, filter: LabelFilter = {}): number {
  let total = 0;
  for (const s of samples) if (matches(s, name, filter)) total += s.value;
  return total;
}

/** One cumulative bucket: observations <= `le`. */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/**
 * The cumulative buckets of histogram `name` (its `_bucket` series), summed over all series that
 * match `filter`, as PromQL's `sum by (le)` would. Histograms from several processes with the
 * same bucket layout merge this way too: pass their samples concatenated.
 */
export function histogramOf(samples: readonly Sample[], name: string, filter: LabelFilter = {}): Bucket[] {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (!matches(s, `${name}_bucket`, filter) || s.labels.le === undefined) continue;
    const le = parseValue(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/** `later - earlier` per bucket: the observations made between two scrapes of the same process. */
export function histogramDelta(later: readonly Bucket[], earlier: readonly Bucket[]): Bucket[] {
  const before = new Map(earlier.map((b) => [b.le, b.count]));
  return later.map((b) => ({ le: b.le, count: Math.max(0, b.count - (before.get(b.le) ?? 0)) }));
}

export const totalCount = (buckets: readonly Bucket[]): number => (buckets.length === 0 ? 0 : buckets[buckets.length - 1].count);

/**
 * PromQL's `histogram_quantile(q, ...)`: finds the bucket holding the q-th observation and
 * interpolates linearly inside it (assuming observations spread evenly). The first bucket's lower
 * bound is 0; a quantile that falls into the +Inf bucket returns the largest finite bound.
 * NaN without observations or without a +Inf bucket.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (buckets.length < 2 || buckets[buckets.length - 1].le !== Infinity) return NaN;
  const total = buckets[buckets.length - 1].count;
  if (total === 0) return NaN;
  const rank = q * total;
  // Cumulative counts should be monotonic; scrapes of restarting processes may not be, so clamp.
  let i = 0;
  while (i < buckets.length - 1 && buckets[i].count < rank) i++;
  if (i === buckets.length - 1) return buckets[buckets.length - 2].le;
  const upper = buckets[i].le;
  const lower = i === 0 ? 0 : buckets[i - 1].le;
  const below = i === 0 ? 0 : buckets[i - 1].count;
  const inBucket = buckets[i].count - below;
  if (i === 0 && upper <= 0) return upper;
  if (inBucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}
