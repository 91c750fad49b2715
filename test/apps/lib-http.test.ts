import { startHttpServer, HttpServer } from '../../apps/lib/http';
import { createMetrics } from '../../apps/lib/metrics';

describe('startHttpServer', () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('/readyz is 503 until ready, /healthz follows isHealthy', async () => {
    let ready = false;
    let healthy = true;
    const metrics = createMetrics('test-app');
    server = await startHttpServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, isReady: () => ready, isHealthy: () => healthy });
    const base = `http://127.0.0.1:${server.port}`;
    expect(server.port).toBeGreaterThan(0);

    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    healthy = false;
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  test('/metrics exposes the sdp_* metrics with the app label', async () => {
    const metrics = createMetrics('test-app');
    metrics.recordsIn.inc({ topic: 'telemetry.raw.v1' }, 3);
    metrics.consumerLag.set({ topic: 'telemetry.raw.v1', partition: '0' }, 7);
    metrics.dlqRecords.inc({ reason: 'schema' });
    metrics.endToEndLatency.observe(0.2);
    server = await startHttpServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, isReady: () => true });
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const body = await res.text();
    expect(body).toContain('sdp_records_in_total{topic="telemetry.raw.v1",app="test-app"} 3');
    expect(body).toContain('sdp_consumer_lag{topic="telemetry.raw.v1",partition="0",app="test-app"} 7');
    expect(body).toContain('sdp_dlq_records_total{reason="schema",app="test-app"} 1');
    for (const name of ['sdp_records_out_total', 'sdp_errors_total', 'sdp_batch_duration_seconds', 'sdp_end_to_end_latency_seconds_bucket']) {
      expect(body).toContain(name);
    }
    expect(body).toContain('process_cpu_seconds_total');
  });
});
