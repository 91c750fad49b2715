import { ClusterAddon, HelmChart } from './contract';
import { namespace } from '../kubernetes';
import { AwsContext } from '../aws-context';
import { Construct } from 'constructs';

/** The upstream chart; its contrib image carries the awsxray exporter. */
export const OPENTELEMETRY_COLLECTOR_CHART: HelmChart = {
  repository: 'https://open-telemetry.github.io/opentelemetry-helm-charts',
  chart: 'opentelemetry-collector',
  version: '0.158.3',
};

const SERVICE_ACCOUNT = 'opentelemetry-collector';
/** OTLP/HTTP, where the apps send their spans (OTEL_EXPORTER_OTLP_ENDPOINT). */
export const OTLP_HTTP_PORT = 4318;
/** Its namespace and pod label: what the apps' NetworkPolicy lets them reach (constructs/stream-app.ts). */
export const TRACING_NAMESPACE = 'tracing';
export const COLLECTOR_POD_LABELS = { 'app.kubernetes.io/name': 'opentelemetry-collector' } as const;

export interface OpenTelemetryCollectorSettings {
  /** @default 2 (a rolling update never leaves the apps without a collector) */
  readonly replicas?: number;
}

/**
 * An OpenTelemetry collector (a Deployment behind a Service) receiving the apps' OTLP spans and
 * exporting them to AWS X-Ray. Its role may put segments and read the sampling rules, nothing
 * else: X-Ray's trace actions take no resource ARNs, so `*` is the narrowest resource.
 */
export function openTelemetryCollector(scope: Construct, settings: OpenTelemetryCollectorSettings = {}): ClusterAddon & { readonly otlpEndpoint: string } {
  const ctx = AwsContext.of(scope);
  const ns = namespace(scope, 'tracing-namespace', TRACING_NAMESPACE, 'restricted');
  const name = 'opentelemetry-collector';
  return {
    name,
    chart: OPENTELEMETRY_COLLECTOR_CHART,
    namespace: ns.metadata.name,
    otlpEndpoint: `http://${name}.${TRACING_NAMESPACE}.svc.cluster.local:${OTLP_HTTP_PORT}`,
    podIdentity: {
      roleId: 'otel-collector',
      serviceAccount: SERVICE_ACCOUNT,
      policy: {
        name: 'put-traces',
        statements: [
          {
            Sid: 'PutTraces',
            Effect: 'Allow',
            Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'],
            Resource: ['*'],
          },
        ],
      },
    },
    values: {
      replicaCount: settings.replicas ?? 2,
      serviceAccount: { create: true, name: SERVICE_ACCOUNT },
      config: { exporters: { awsxray: { region: ctx.region } } },
    },
  };
}
