import { Bucket, histogramDelta, histogramOf, histogramQuantile, parseMetrics, sumOf, totalCount } from '../../scripts/local/start/prometheus';

const exposition = `
# HELP sdp_records_out_total Records written to their destination
# TYPE sdp_records_out_total counter
sdp_records_out_total{topic="telemetry.clean.v1",app="processor"} 1500
sdp_records_out_total{topic="telemetry.dlq.v1",app="processor"} 15
sdp_records_out_total{topic="with \\"quotes\\" and \\\\ slash",app="processor"} 1
# TYPE sdp_end_to_end_latency_seconds histogram
sdp_end_to_end_latency_seconds_bucket{le="0.5",app="lake-sink"} 10
sdp_end_to_end_latency_seconds_bucket{le="1",app="lake-sink"} 30
sdp_end_to_end_latency_seconds_bucket{le="+Inf",app="lake-sink"} 40
sdp_end_to_end_latency_seconds_sum{app="lake-sink"} 55.5
sdp_end_to_end_latency_seconds_count{app="lake-sink"} 40
process_start_time_seconds 1700000000
`;

const b = (pairs: [number, number][]): Bucket[] => pairs.map(([le, count]) => ({ le, count }));

describe('parseMetrics', () => {
  const samples = parseMetrics(exposition);

  test('reads names, labels (with escapes) and values; skips comments', () => {
    expect(samples).toHaveLength(9);
    expect(samples[2].labels.topic).toBe('with "quotes" and \\ slash');
    expect(samples.find((s) => s.name === 'process_start_time_seconds')).toEqual({ name: 'process_start_time_seconds', labels: {}, value: 1_700_000_000 });
  });

  test('sumOf filters by name and labels', () => {
    expect(sumOf(samples, 'sdp_records_out_total')).toBe(1516);
    expect(sumOf(samples, 'sdp_records_out_total', { topic: 'telemetry.dlq.v1' })).toBe(15);
    expect(sumOf(samples, 'sdp_records_out_total', { app: 'lake-sink' })).toBe(0);
  });

  test('histogramOf returns sorted cumulative buckets with +Inf', () => {
    expect(histogramOf(samples, 'sdp_end_to_end_latency_seconds')).toEqual(
      b([
        [0.5, 10],
        [1, 30],
        [Infinity, 40],
      ]),
    );
  });

  test('histograms of several processes merge bucket by bucket', () => {
    const other = parseMetrics(exposition.replace(/lake-sink/g, 'cassandra-sink'));
    expect(histogramOf([...samples, ...other], 'sdp_end_to_end_latency_seconds')).toEqual(
      b([
        [0.5, 20],
        [1, 60],
        [Infinity, 80],
      ]),
    );
  });
});

describe('histogramQuantile (PromQL semantics)', () => {
  const h = b([
    [0.1, 50],
    [0.5, 90],
    [1, 100],
    [Infinity, 100],
  ]);

  test('interpolates linearly inside the bucket holding the rank', () => {
    expect(histogramQuantile(0.5, h)).toBeCloseTo(0.1); // rank 50: the top of the first bucket
    expect(histogramQuantile(0.25, h)).toBeCloseTo(0.05); // first bucket starts at 0
    expect(histogramQuantile(0.7, h)).toBeCloseTo(0.3); // 0.1 + 0.4 * (70-50)/(90-50)
    expect(histogramQuantile(0.95, h)).toBeCloseTo(0.75);
  });

  test('a rank in the +Inf bucket returns the largest finite bound', () => {
    expect(
      histogramQuantile(
        0.99,
        b([
          [1, 10],
          [2, 20],
          [Infinity, 100],
        ]),
      ),
    ).toBe(2);
  });

  test('edge cases: no data, no +Inf bucket, q outside [0, 1]', () => {
    expect(
      histogramQuantile(
        0.5,
        b([
          [1, 0],
          [Infinity, 0],
        ]),
      ),
    ).toBeNaN();
    expect(
      histogramQuantile(
        0.5,
        b([
          [1, 5],
          [2, 10],
        ]),
      ),
    ).toBeNaN();
    expect(histogramQuantile(-0.1, h)).toBe(-Infinity);
    expect(histogramQuantile(1.1, h)).toBe(Infinity);
  });

  test('histogramDelta keeps only what was observed between two scrapes', () => {
    const before = b([
      [0.1, 50],
      [0.5, 90],
      [1, 100],
      [Infinity, 100],
    ]);
    const after = b([
      [0.1, 50],
      [0.5, 95],
      [1, 110],
      [Infinity, 120],
    ]);
    const delta = histogramDelta(after, before);
    expect(delta).toEqual(
      b([
        [0.1, 0],
        [0.5, 5],
        [1, 10],
        [Infinity, 20],
      ]),
    );
    expect(totalCount(delta)).toBe(20);
    // Half of the 20 new observations are above 1 s: the median is the top finite bound.
    expect(histogramQuantile(0.5, delta)).toBe(1);
  });
});
