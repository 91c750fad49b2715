import { parseConsumerPerformance, parseProducerPerformance } from '../../scripts/bench/kafka-tools';

describe('Kafka perf tool output', () => {
  test('ProducerPerformance: the final summary line, not the progress lines', () => {
    const out = [
      '512345 records sent, 102469.0 records/sec (15.44 MB/sec), 180.2 ms avg latency, 402.0 ms max latency.',
      '800000 records sent, 185787.25 records/sec (27.99 MB/sec), 150.31 ms avg latency, 612.00 ms max latency, 120 ms 50th, 410 ms 95th, 530 ms 99th, 600 ms 99.9th.',
    ].join('\n');
    expect(parseProducerPerformance(out)).toEqual({ records: 800_000, recordsPerSec: 185_787.25, mbPerSec: 27.99, avgLatencyMs: 150.31, p99LatencyMs: 530 });
  });

  test('ConsumerPerformance: header and values by name', () => {
    const out = [
      'WARNING: some JVM noise',
      'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec',
      '2026-11-21 23:41:00:000, 2026-11-21 23:41:04:000, 120.5371, 30.1343, 800000, 200000.0000, 3125, 875, 137.7651, 914285.7143',
    ].join('\n');
    expect(parseConsumerPerformance(out)).toEqual({ records: 800_000, recordsPerSec: 200_000, fetchRecordsPerSec: 914_285.7143, fetchMbPerSec: 137.7651 });
  });

  test('missing reports fail with the tool output', () => {
    expect(() => parseProducerPerformance('Exception in thread main')).toThrow(/no final summary line:\nException/);
    expect(() => parseConsumerPerformance('nothing')).toThrow(/printed no report/);
  });
});
