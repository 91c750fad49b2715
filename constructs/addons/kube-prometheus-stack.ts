import { StorageClassV1 } from '@cdktf/provider-kubernetes/lib/storage-class-v1';
import { Construct } from 'constructs';
import { AwsContext } from '../aws-context';
import { PolicyStatement } from '../iam';
import { namespace } from '../kubernetes';
import { ClusterAddon, HelmChart } from './contract';

export const KUBE_PROMETHEUS_STACK_CHART: HelmChart = {
  repository: 'https://prometheus-community.github.io/helm-charts',
  chart: 'kube-prometheus-stack',
  version: '79.7.1',
};

export const ALERTMANAGER_SERVICE_ACCOUNT = 'kube-prometheus-stack-alertmanager';
/** Grafana's service account: the CloudWatch data source's Pod Identity role is bound to it (constructs/observability/keyspaces-cloudwatch.ts). */
export const GRAFANA_SERVICE_ACCOUNT = 'kube-prometheus-stack-grafana';

export interface KubePrometheusStackSettings {
  /** @default 'monitoring' */
  readonly namespace?: string;
  readonly prometheus?: {
    /** @default 1 */
    readonly replicas?: number;
    /** @default '7d' */
    readonly retention?: string;
    /** @default none: an emptyDir, so metrics are lost when the pod moves */
    readonly storage?: { readonly sizeGiB: number; readonly kmsKeyArn?: string };
  };
  readonly alertmanager?: {
    /** @default 1 */
    readonly replicas?: number;
    /** @default none: alerts are visible in Alertmanager but not sent anywhere */
    readonly sns?: { readonly topicArn: string; readonly kmsKeyArn?: string };
  };
  readonly grafana?: {
    /** @default 1 */
    readonly replicas?: number;
  };
}

/**
 * Prometheus, Alertmanager and Grafana. Its namespace is `privileged` (node-exporter needs host
 * network and PID). With an SNS topic, Alertmanager gets a role that may publish to it only.
 */
export function kubePrometheusStack(scope: Construct, settings: KubePrometheusStackSettings): ClusterAddon {
  const ns = namespace(scope, 'monitoring-namespace', settings.namespace ?? 'monitoring', 'privileged');
  const prometheus = settings.prometheus ?? {};
  const sns = settings.alertmanager?.sns;
  let storageSpec: Record<string, unknown> | undefined;
  if (prometheus.storage) {
    const storageClass = new StorageClassV1(scope, 'prometheus-storage-class', {
      metadata: { name: 'prometheus-gp3' },
      storageProvisioner: 'ebs.csi.aws.com',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: true,
      parameters: { type: 'gp3', encrypted: 'true', ...(prometheus.storage.kmsKeyArn ? { kmsKeyId: prometheus.storage.kmsKeyArn } : {}) },
    });
    storageSpec = {
      volumeClaimTemplate: {
        spec: {
          storageClassName: storageClass.metadata.name,
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: `${prometheus.storage.sizeGiB}Gi` } },
        },
      },
    };
  }
  const publish: PolicyStatement[] = sns
    ? [
        { Sid: 'PublishAlerts', Effect: 'Allow', Action: 'sns:Publish', Resource: sns.topicArn },
        ...(sns.kmsKeyArn
          ? [{ Sid: 'EncryptForTopic', Effect: 'Allow' as const, Action: ['kms:GenerateDataKey*', 'kms:Decrypt'], Resource: sns.kmsKeyArn }]
          : []),
      ]
    : [];
  return {
    name: 'kube-prometheus-stack',
    chart: KUBE_PROMETHEUS_STACK_CHART,
    namespace: ns.metadata.name,
    timeoutSeconds: 900,
    podIdentity: sns
      ? { roleId: 'alertmanager', serviceAccount: ALERTMANAGER_SERVICE_ACCOUNT, policy: { name: 'publish-alerts', statements: publish } }
      : undefined,
    values: {
      prometheus: {
        prometheusSpec: {
          replicas: prometheus.replicas ?? 1,
          retention: prometheus.retention ?? '7d',
          ...(storageSpec ? { storageSpec } : {}),
        },
      },
      alertmanager: {
        serviceAccount: { create: true, name: ALERTMANAGER_SERVICE_ACCOUNT },
        alertmanagerSpec: { replicas: settings.alertmanager?.replicas ?? 1 },
        ...(sns ? { config: alertmanagerSnsConfig(sns.topicArn, AwsContext.of(scope).region) } : {}),
      },
      grafana: {
        replicas: settings.grafana?.replicas ?? 1,
        serviceAccount: { create: true, name: GRAFANA_SERVICE_ACCOUNT },
        // Pod Identity credentials are injected when a pod is admitted; a new value here re-creates
        // Grafana's pods after the release's dependencies, among them its role's association.
        podAnnotations: { 'streaming-data-platform/pod-identity': 'grafana-cloudwatch' },
      },
    },
  };
}

function alertmanagerSnsConfig(topicArn: string, region: string): Record<string, unknown> {
  return {
    route: {
      receiver: 'sns',
      group_by: ['alertname', 'namespace', 'app'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      // Watchdog always fires (it proves the pipeline works); InfoInhibitor only silences info alerts.
      routes: [{ receiver: 'null', matchers: ['alertname =~ "Watchdog|InfoInhibitor"'] }],
    },
    receivers: [
      { name: 'null' },
      {
        name: 'sns',
        sns_configs: [
          {
            topic_arn: topicArn,
            sigv4: { region },
            subject: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}',
            send_resolved: true,
          },
        ],
      },
    ],
  };
}
