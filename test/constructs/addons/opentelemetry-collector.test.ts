import { parse } from 'yaml';
import { installAddon, openTelemetryCollector, OTLP_HTTP_PORT } from '../../../constructs/addons';
import { FakeCluster, synth, testStack } from './support';

describe('opentelemetry-collector add-on', () => {
  const stack = testStack();
  const cluster = new FakeCluster(stack, 'cluster');
  const addon = openTelemetryCollector(stack);
  installAddon(stack, cluster, addon);
  const r = synth(stack).resource;
  const values = parse(Object.values(r.helm_release)[0].values[0]);

  it('exports OTLP/HTTP spans to X-Ray in the stack region, and only traces', () => {
    expect(values.mode).toBe('deployment');
    expect(values.image.repository).toBe('otel/opentelemetry-collector-contrib');
    expect(values.config.exporters.awsxray).toEqual({ region: expect.stringMatching(/^\$\{data\.aws_region\./) });
    expect(values.config.service.pipelines.traces).toEqual({ receivers: ['otlp'], processors: ['memory_limiter', 'batch'], exporters: ['awsxray'] });
    expect(values.config.service.pipelines.metrics).toBeNull();
    // Escaped for Terraform (`$${`), so the chart gets the collector's own `${env:MY_POD_IP}` literally.
    expect(values.config.receivers.otlp.protocols.http.endpoint).toBe(`$\${env:MY_POD_IP}:${OTLP_HTTP_PORT}`);
    expect(values.ports['otlp-http'].enabled).toBe(true);
    expect(values.replicaCount).toBe(2);
  });

  it('gets its own Pod Identity role that may put traces and read sampling rules, nothing else', () => {
    expect(cluster.requested).toEqual([{ id: 'otel-collector', namespace: addon.namespace, serviceAccount: values.serviceAccount.name }]);
    expect(Object.values(r.kubernetes_namespace_v1).map((n) => n.metadata.name)).toEqual(['tracing']);
    const [policy] = Object.values(r.aws_iam_role_policy);
    const [statement, ...more] = JSON.parse(policy.policy).Statement;
    expect(more).toEqual([]);
    expect(statement.Action.sort()).toEqual(['xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });

  it('names the endpoint the apps export to', () => {
    expect(addon.otlpEndpoint).toBe(`http://opentelemetry-collector.tracing.svc.cluster.local:${OTLP_HTTP_PORT}`);
  });
});
