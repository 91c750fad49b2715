/**
 * Tracing in the cluster, on the whole synthesized graph: every app exports to the collector's
 * Service on the port its receiver listens on, its NetworkPolicy lets it reach that port on the
 * collector's pods, and the collector's role may do nothing but send traces to X-Ray.
 */
import { Testing } from 'cdktf';
import { parse } from 'yaml';
import { staging, validateEnvironment } from '../../config';
import { validateBootstrap } from '../../config/bootstrap';
import { deliveryFor } from '../../main';
import { PlatformStack } from '../../stacks/platform-stack';
import { allApps } from '../../apps/contracts/apps';

const synth = JSON.parse(
  Testing.synth(new PlatformStack(Testing.app(), { config: validateEnvironment(staging), delivery: deliveryFor(validateBootstrap(), 'staging') })),
) as { resource: Record<string, Record<string, any>> };
const all = (type: string): any[] => Object.values(synth.resource[type] ?? {});

describe('tracing path', () => {
  const collector = all('helm_release').find((r) => r.name === 'opentelemetry-collector');
  const values = parse(collector.values[0]);
  // The release's namespace is a reference to the namespace resource: resolve it to its name.
  const [nsKey] = Object.entries(synth.resource.kubernetes_namespace_v1).find(([key]) =>
    String(collector.namespace).includes(`kubernetes_namespace_v1.${key}.`),
  )!;
  const namespace = synth.resource.kubernetes_namespace_v1[nsKey].metadata.name;
  const port = Number(String(values.config.receivers.otlp.protocols.http.endpoint).split(':').pop());

  it.each(allApps.map((a) => a.name))('%s exports to the collector Service and may reach its pods on the receiver port', (app) => {
    const deployment = all('kubernetes_deployment_v1').find((d) => d.metadata.name === app);
    const env = Object.fromEntries(deployment.spec.template.spec.container[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(`http://${collector.name}.${namespace}.svc.cluster.local:${port}`);
    expect(env.OTEL_TRACES_SAMPLER).toBe('parentbased_traceidratio');
    expect(Number(env.OTEL_TRACES_SAMPLER_ARG)).toBeGreaterThan(0);

    const allow = all('kubernetes_network_policy_v1').find((p) => p.metadata.name === `${app}-allow`);
    const toCollector = allow.spec.egress.filter((e: any) =>
      e.to.some(
        (t: any) =>
          t.namespace_selector?.match_labels?.['kubernetes.io/metadata.name'] === namespace &&
          t.pod_selector?.match_labels?.['app.kubernetes.io/name'] === collector.name,
      ),
    );
    expect(toCollector.flatMap((e: any) => e.ports.map((p: any) => Number(p.port)))).toEqual([port]);
  });

  it("the collector's role may only put traces and read sampling rules", () => {
    const statements = all('aws_iam_role_policy')
      .filter((p) => p.name === 'put-traces')
      .flatMap((p) => JSON.parse(p.policy).Statement);
    expect(statements.flatMap((s: any) => s.Action).sort()).toEqual([
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });
});
