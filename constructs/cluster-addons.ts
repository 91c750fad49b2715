import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { Release } from '@cdktf/provider-helm/lib/release';
import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { AddonName, awsForFluentBit, clusterAutoscaler, installAddon, keda, kubePrometheusStack, metricsServer, openTelemetryCollector } from './addons';
import { PlatformAddons, PodIdentityHost } from './kubernetes';

// The add-on and Kubernetes helpers moved to ./addons and ./kubernetes; these keep existing imports working.
export { ADDON_CHARTS, CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS, CLUSTER_AUTOSCALER_IMAGE_TAGS } from './addons';
export type { AddonName, HelmChart } from './addons';
export { CustomResources, deepMerge, escapeTerraformTemplate, namespace, podIdentityDependencies, repoPath, toHelmValues } from './kubernetes';
export type { CustomResource, CustomResourcesProps, PlatformAddons, PodIdentityHost } from './kubernetes';

export interface ClusterAddonsProps {
  readonly cluster: PodIdentityHost;
  /** Kubernetes minor version of the cluster, e.g. `1.33`; picks the cluster-autoscaler image. */
  readonly kubernetesVersion: string;

  // Monitoring
  readonly monitoring?: {
    /** @default 'monitoring' */
    readonly namespace?: string;
    readonly prometheus?: {
      /** @default 1 */
      readonly replicas?: number;
      /** @default '7d' */
      readonly retention?: string;
      /**
       * A persistent volume per replica (gp3, encrypted, through the EBS CSI driver).
       * @default none: an emptyDir, so metrics are lost when the pod moves
       */
      readonly storage?: {
        readonly sizeGiB: number;
        /** CMK for the volumes; the EBS CSI driver's role must be allowed to use it. @default the account's aws/ebs key */
        readonly kmsKeyArn?: string;
      };
    };
    readonly alertmanager?: {
      /** @default 1 */
      readonly replicas?: number;
      /**
       * SNS topic that receives every alert (and its resolution). Alertmanager publishes with
       * its own Pod Identity role, allowed `sns:Publish` on this topic only.
       * @default none: alerts are visible in Alertmanager but not sent anywhere
       */
      readonly sns?: { readonly topicArn: string; /** CMK of an encrypted topic. */ readonly kmsKeyArn?: string };
    };
    readonly grafana?: {
      /** @default 1 */
      readonly replicas?: number;
    };
  };

  // Scaling
  readonly scaling?: {
    /** KEDA operator replicas. @default 1 */
    readonly kedaReplicas?: number;
    /** @default 1 */
    readonly metricsServerReplicas?: number;
    /** Only one is active (leader election); a second takes over faster. @default 1 */
    readonly clusterAutoscalerReplicas?: number;
  };

  // Logging
  readonly logging: {
    /** Retention of the container log group. */
    readonly retentionInDays: number;
    /**
     * CMK for the container log group.
     * @default a key created for the group
     */
    readonly kmsKeyArn?: string;
    /** @default 'logging' */
    readonly namespace?: string;
    /**
     * Terraform `prevent_destroy` on the key the construct creates for the log group.
     * @default false
     */
    readonly preventDestroy?: boolean;
  };

  /**
   * Raw chart values merged last, for what the typed settings do not cover. Prefer adding a
   * typed setting when an environment needs one.
   * @default {}
   */
  readonly values?: Partial<Record<AddonName, Record<string, unknown>>>;
}

/**
 * The cluster add-ons as pinned Helm releases: kube-prometheus-stack (Prometheus, Alertmanager,
 * Grafana), KEDA, metrics-server, cluster-autoscaler and aws-for-fluent-bit, each declared in
 * `constructs/addons/<name>.ts` behind one contract. Values come from `helm-values/<addon>.yaml`,
 * then the typed settings, then `values`. Controllers that call AWS get their own Pod Identity
 * role, limited to this cluster's node groups, log group or alert topic.
 */
export class ClusterAddons extends Construct implements PlatformAddons {
  readonly releases: Readonly<Record<AddonName, Release>>;
  readonly monitoringNamespace: string;
  readonly customResourceDependencies: readonly ITerraformDependable[];
  /** KEDA's operator identity: grant it read access to the consumer groups it scales on. */
  readonly kedaOperatorRole: IamRole;
  readonly clusterAutoscalerRole: IamRole;
  readonly fluentBitRole: IamRole;
  readonly otelCollectorRole: IamRole;
  /** The collector's OTLP/HTTP base URL: the apps' OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly otlpEndpoint: string;
  readonly alertmanagerRole?: IamRole;
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: ClusterAddonsProps) {
    super(scope, id);
    validate(this.node.path, props);
    const clusterName = props.cluster.clusterName;
    const scaling = props.scaling ?? {};
    const install = (addon: Parameters<typeof installAddon>[2]) => installAddon(this, props.cluster, addon, props.values?.[addon.name]);

    // Monitoring
    const monitoring = kubePrometheusStack(this, props.monitoring ?? {});
    const kps = install(monitoring);
    this.monitoringNamespace = monitoring.namespace;
    this.alertmanagerRole = kps.role;

    // Scaling
    const kedaRelease = install(keda(this, { replicas: scaling.kedaReplicas }));
    this.kedaOperatorRole = kedaRelease.role!;
    const metrics = install(metricsServer({ replicas: scaling.metricsServerReplicas }));
    const autoscaler = install(
      clusterAutoscaler(this, { clusterName, kubernetesVersion: props.kubernetesVersion, replicas: scaling.clusterAutoscalerReplicas }),
    );
    this.clusterAutoscalerRole = autoscaler.role!;

    // Logging
    const fluentBit = awsForFluentBit(this, { clusterName, ...props.logging });
    const logs = install(fluentBit);
    this.logGroup = fluentBit.logGroup;
    this.fluentBitRole = logs.role!;

    // Tracing
    const collector = openTelemetryCollector(this);
    const traces = install(collector);
    this.otelCollectorRole = traces.role!;
    this.otlpEndpoint = collector.otlpEndpoint;

    this.releases = {
      'kube-prometheus-stack': kps.release,
      keda: kedaRelease.release,
      'metrics-server': metrics.release,
      'cluster-autoscaler': autoscaler.release,
      'aws-for-fluent-bit': logs.release,
      'opentelemetry-collector': traces.release,
    };
    this.customResourceDependencies = [kps.release, kedaRelease.release];
  }
}

/** The typed settings, checked before any resource exists; every message names the field. */
function validate(path: string, props: ClusterAddonsProps): void {
  const fail = (field: string, message: string) => {
    throw new Error(`${path}: ${field} ${message}`);
  };
  const counts: [string, number | undefined][] = [
    ['monitoring.prometheus.replicas', props.monitoring?.prometheus?.replicas],
    ['monitoring.alertmanager.replicas', props.monitoring?.alertmanager?.replicas],
    ['monitoring.grafana.replicas', props.monitoring?.grafana?.replicas],
    ['scaling.kedaReplicas', props.scaling?.kedaReplicas],
    ['scaling.metricsServerReplicas', props.scaling?.metricsServerReplicas],
    ['scaling.clusterAutoscalerReplicas', props.scaling?.clusterAutoscalerReplicas],
    ['monitoring.prometheus.storage.sizeGiB', props.monitoring?.prometheus?.storage?.sizeGiB],
  ];
  for (const [field, n] of counts) {
    if (n !== undefined && (!Number.isInteger(n) || n < 1)) fail(field, `(${n}) must be a positive integer`);
  }
  const retention = props.monitoring?.prometheus?.retention;
  if (retention !== undefined && !/^\d+(ms|s|m|h|d|w|y)$/.test(retention)) {
    fail('monitoring.prometheus.retention', `('${retention}') must be a Prometheus duration such as 15d`);
  }
}
