import type { SpanLine } from '../../apps/lib/tracing-file';
import { traceBreakdown, traceBreakdownLines } from '../../scripts/local/start/traces';

const span = (o: Partial<SpanLine> & Pick<SpanLine, 'spanId' | 'name' | 'service' | 'startMs' | 'durationMs'>): SpanLine => ({
  traceId: 't1',
  kind: 'INTERNAL',
  attributes: {},
  links: [],
  ...o,
});

describe('traceBreakdown', () => {
  const spans = [
    span({ spanId: 'p1', name: 'send raw', service: 'producer', startMs: 0, durationMs: 10, attributes: { 'messaging.destination.name': 'raw' } }),
    span({
      spanId: 'p2',
      name: 'send raw',
      service: 'producer',
      startMs: 5,
      durationMs: 30,
      traceId: 't2',
      attributes: { 'messaging.destination.name': 'raw' },
    }),
    // Continues p1 (ends at 10) and links p2 (ends at 35): waits 90 and 65.
    span({
      spanId: 'c1',
      parentSpanId: 'p1',
      name: 'process raw',
      service: 'processor',
      startMs: 100,
      durationMs: 20,
      links: [{ traceId: 't2', spanId: 'p2' }],
    }),
    span({ spanId: 's1', parentSpanId: 'c1', name: 'send clean', service: 'processor', startMs: 110, durationMs: 8, error: 'broker down' }),
  ];

  test('durations per stage and the waits between services, in pipeline order', () => {
    const b = traceBreakdown('/run/traces', spans);
    expect(b).toMatchObject({ dir: '/run/traces', spans: 4, traces: 2, errors: 1 });
    expect(b.stages).toEqual([
      { stage: 'producer: send raw', count: 2, p50Ms: 10, p95Ms: 30, maxMs: 30 },
      { stage: 'wait: producer -> processor (raw)', count: 2, p50Ms: 65, p95Ms: 90, maxMs: 90 },
      { stage: 'processor: process raw', count: 1, p50Ms: 20, p95Ms: 20, maxMs: 20 },
      { stage: 'processor: send clean', count: 1, p50Ms: 8, p95Ms: 8, maxMs: 8 },
    ]);
  });

  test('summary lines name the stages and the directory; an empty run says where it looked', () => {
    const text = traceBreakdownLines(traceBreakdown('/run/traces', spans)).join('\n');
    expect(text).toMatch(/4 spans in 2 traces, 1 failed/);
    expect(text).toMatch(/wait: producer -> processor \(raw\)\s+2\s+65\.0\s+90\.0\s+90\.0/);
    expect(text).toContain('/run/traces');
    expect(traceBreakdownLines(traceBreakdown('/run/traces', []))).toEqual([expect.stringContaining('none were written to /run/traces')]);
  });
});
