import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { Release } from '@cdktf/provider-helm/lib/release';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { StorageClassV1 } from '@cdktf/provider-kubernetes/lib/storage-class-v1';
import { AssetType, ITerraformDependable, TerraformAsset, TerraformResource, TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import { parse, stringify } from 'yaml';
import { AwsContext } from './aws-context';
import { grant } from './iam';
import { cloudWatchLogsKeyStatement, EncryptionKey } from './kms-key';

/**
 * What the add-ons and apps need from the EKS cluster: roles that pods assume through EKS Pod
 * Identity. `KubernetesCluster` provides it; a structural type keeps this file independent.
 */
export interface PodIdentityHost {
  readonly clusterName: string;
  addPodIdentityRole(id: string, namespace: string, serviceAccount: string): IamRole;
}

/** What custom resources (ServiceMonitor, ScaledObject, ...) need from the add-ons. */
export interface PlatformAddons {
  /** Namespace of Prometheus, Alertmanager and Grafana. */
  readonly monitoringNamespace: string;
  /** Releases that install the CRDs of ServiceMonitor, PrometheusRule, ScaledObject and TriggerAuthentication. */
  readonly customResourceDependencies: readonly ITerraformDependable[];
}

export type AddonName = 'kube-prometheus-stack' | 'keda' | 'metrics-server' | 'cluster-autoscaler' | 'aws-for-fluent-bit';

export interface HelmChart {
  readonly repository: string;
  readonly chart: string;
  /** Exact version: a range would let a deploy pick up a chart nobody reviewed. */
  readonly version: string;
}

/** Pinned charts. Bump deliberately, read the chart's upgrade notes (CRDs!), and run a plan. */
export const ADDON_CHARTS: Readonly<Record<AddonName, HelmChart>> = {
  'kube-prometheus-stack': { repository: 'https://prometheus-community.github.io/helm-charts', chart: 'kube-prometheus-stack', version: '79.7.1' },
  keda: { repository: 'https://kedacore.github.io/charts', chart: 'keda', version: '2.21.1' },
  'metrics-server': { repository: 'https://kubernetes-sigs.github.io/metrics-server', chart: 'metrics-server', version: '3.13.0' },
  'cluster-autoscaler': { repository: 'https://kubernetes.github.io/autoscaler', chart: 'cluster-autoscaler', version: '9.52.1' },
  'aws-for-fluent-bit': { repository: 'https://aws.github.io/eks-charts', chart: 'aws-for-fluent-bit', version: '0.2.1' },
};

/** cluster-autoscaler's minor version must match the cluster's. */
export const CLUSTER_AUTOSCALER_IMAGE_TAGS: Readonly<Record<string, string>> = {
  '1.32': 'v1.32.5',
  '1.33': 'v1.33.3',
  '1.34': 'v1.34.2',
};

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
 * Grafana), KEDA, metrics-server, cluster-autoscaler and aws-for-fluent-bit. Values come from
 * `helm-values/<addon>.yaml`, then the typed settings, then `values`. Controllers that call AWS
 * get their own Pod Identity role, limited to this cluster's node groups or log group.
 */
export class ClusterAddons extends Construct implements PlatformAddons {
  readonly releases: Readonly<Record<AddonName, Release>>;
  readonly monitoringNamespace: string;
  readonly customResourceDependencies: readonly ITerraformDependable[];
  /** KEDA's operator identity: grant it read access to the consumer groups it scales on. */
  readonly kedaOperatorRole: IamRole;
  readonly clusterAutoscalerRole: IamRole;
  readonly fluentBitRole: IamRole;
  readonly alertmanagerRole?: IamRole;
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: ClusterAddonsProps) {
    super(scope, id);
    validate(this.node.path, props);
    const ctx = AwsContext.of(this);
    const clusterName = props.cluster.clusterName;
    const monitoring = props.monitoring ?? {};
    const scaling = props.scaling ?? {};
    const values = (addon: AddonName, typed: Record<string, unknown>) =>
      deepMerge(deepMerge(loadValues(addon), typed), props.values?.[addon] ?? {});

    // Namespaces. node-exporter (host network, host PID) and Fluent Bit (host paths) cannot run
    // under the restricted profile; KEDA can, so its namespace enforces it.
    const monitoringNs = namespace(this, 'monitoring-namespace', monitoring.namespace ?? 'monitoring', 'privileged');
    const kedaNs = namespace(this, 'keda-namespace', 'keda', 'restricted');
    const loggingNs = namespace(this, 'logging-namespace', props.logging.namespace ?? 'logging', 'privileged');
    this.monitoringNamespace = monitoringNs.metadata.name;

    // Monitoring
    let alertmanagerConfig: Record<string, unknown> = {};
    const alertmanagerAccess: ITerraformDependable[] = [];
    const sns = monitoring.alertmanager?.sns;
    if (sns) {
      this.alertmanagerRole = props.cluster.addPodIdentityRole('alertmanager', this.monitoringNamespace, ALERTMANAGER_SERVICE_ACCOUNT);
      const publish = grant(this, this.alertmanagerRole, 'publish-alerts', [
        { Sid: 'PublishAlerts', Effect: 'Allow', Action: 'sns:Publish', Resource: sns.topicArn },
        ...(sns.kmsKeyArn
          ? [{ Sid: 'EncryptForTopic', Effect: 'Allow' as const, Action: ['kms:GenerateDataKey*', 'kms:Decrypt'], Resource: sns.kmsKeyArn }]
          : []),
      ]);
      alertmanagerAccess.push(...podIdentityDependencies(this.alertmanagerRole), publish);
      alertmanagerConfig = { config: alertmanagerSnsConfig(sns.topicArn, ctx.region) };
    }
    const prometheus = monitoring.prometheus ?? {};
    let storageSpec: Record<string, unknown> | undefined;
    if (prometheus.storage) {
      const storageClass = new StorageClassV1(this, 'prometheus-storage-class', {
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
    const kps = this.release('kube-prometheus-stack', monitoringNs, values('kube-prometheus-stack', {
      prometheus: {
        prometheusSpec: {
          replicas: prometheus.replicas ?? 1,
          retention: prometheus.retention ?? '7d',
          ...(storageSpec ? { storageSpec } : {}),
        },
      },
      alertmanager: {
        serviceAccount: { create: true, name: ALERTMANAGER_SERVICE_ACCOUNT },
        alertmanagerSpec: { replicas: monitoring.alertmanager?.replicas ?? 1 },
        ...alertmanagerConfig,
      },
      grafana: { replicas: monitoring.grafana?.replicas ?? 1 },
    }), { timeout: 900, dependsOn: alertmanagerAccess });

    // Scaling
    this.kedaOperatorRole = props.cluster.addPodIdentityRole('keda-operator', kedaNs.metadata.name, 'keda-operator');
    const keda = this.release('keda', kedaNs, values('keda', {
      operator: { replicaCount: scaling.kedaReplicas ?? 1 },
      podDisruptionBudget: (scaling.kedaReplicas ?? 1) > 1 ? { operator: { maxUnavailable: 1 } } : {},
    }), { dependsOn: podIdentityDependencies(this.kedaOperatorRole) });

    const metricsServerReplicas = scaling.metricsServerReplicas ?? 1;
    const metricsServer = this.release('metrics-server', 'kube-system', values('metrics-server', {
      replicas: metricsServerReplicas,
      podDisruptionBudget: { enabled: metricsServerReplicas > 1, maxUnavailable: 1 },
    }));

    this.clusterAutoscalerRole = props.cluster.addPodIdentityRole('cluster-autoscaler', 'kube-system', CLUSTER_AUTOSCALER_SERVICE_ACCOUNT);
    const scaleNodeGroups = grant(this, this.clusterAutoscalerRole, 'scale-node-groups', [
      {
        Sid: 'ResizeOwnNodeGroups',
        Effect: 'Allow',
        Action: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
        Resource: ctx.arn('autoscaling', 'autoScalingGroup:*:autoScalingGroupName/*'),
        Condition: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: 'owned' } },
      },
      {
        // These read-only calls do not support resource-level permissions.
        Sid: 'DiscoverNodeGroups',
        Effect: 'Allow',
        Action: [...CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS],
        Resource: '*',
      },
      {
        Sid: 'DescribeOwnManagedNodeGroups',
        Effect: 'Allow',
        Action: 'eks:DescribeNodegroup',
        Resource: ctx.arn('eks', `nodegroup/${clusterName}/*/*`),
      },
    ]);
    const clusterAutoscaler = this.release('cluster-autoscaler', 'kube-system', values('cluster-autoscaler', {
      autoDiscovery: { clusterName },
      awsRegion: ctx.region,
      image: { tag: CLUSTER_AUTOSCALER_IMAGE_TAGS[props.kubernetesVersion] },
      replicaCount: scaling.clusterAutoscalerReplicas ?? 1,
      rbac: { serviceAccount: { create: true, name: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT } },
    }), { dependsOn: [...podIdentityDependencies(this.clusterAutoscalerRole), scaleNodeGroups] });

    // Logging
    const logGroupName = `/aws/eks/${clusterName}/containers`;
    const logKeyArn = props.logging.kmsKeyArn ?? new EncryptionKey(this, 'log-key', {
      alias: `${clusterName}-container-logs`,
      description: `Encrypts the container logs of EKS cluster ${clusterName}`,
      additionalStatements: [cloudWatchLogsKeyStatement(this, logGroupName, 'CloudWatchLogsEncryptsContainerLogs')],
      preventDestroy: props.logging.preventDestroy,
    }).arn;
    this.logGroup = new CloudwatchLogGroup(this, 'container-logs', {
      name: logGroupName,
      retentionInDays: props.logging.retentionInDays,
      kmsKeyId: logKeyArn,
    });
    this.fluentBitRole = props.cluster.addPodIdentityRole('fluent-bit', loggingNs.metadata.name, FLUENT_BIT_SERVICE_ACCOUNT);
    const fluentBitGrant = grant(this, this.fluentBitRole, 'write-container-logs', [
      {
        Sid: 'WriteContainerLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [this.logGroup.arn, `${this.logGroup.arn}:log-stream:*`],
      },
    ]);
    const fluentBit = this.release('aws-for-fluent-bit', loggingNs, values('aws-for-fluent-bit', {
      cloudWatchLogs: { region: ctx.region, logGroupName: this.logGroup.name },
      serviceAccount: { create: true, name: FLUENT_BIT_SERVICE_ACCOUNT },
    }), { dependsOn: [...podIdentityDependencies(this.fluentBitRole), fluentBitGrant] });

    this.releases = {
      'kube-prometheus-stack': kps,
      keda,
      'metrics-server': metricsServer,
      'cluster-autoscaler': clusterAutoscaler,
      'aws-for-fluent-bit': fluentBit,
    };
    this.customResourceDependencies = [kps, keda];
  }

  private release(
    addon: AddonName,
    ns: NamespaceV1 | string,
    values: Record<string, unknown>,
    opts: { timeout?: number; dependsOn?: ITerraformDependable[] } = {},
  ): Release {
    const chart = ADDON_CHARTS[addon];
    return new Release(this, addon, {
      name: addon,
      namespace: typeof ns === 'string' ? ns : ns.metadata.name,
      repository: chart.repository,
      chart: chart.chart,
      version: chart.version,
      values: [toHelmValues(values)],
      // A failed install or upgrade is rolled back instead of leaving a half-applied release.
      atomic: true,
      cleanupOnFail: true,
      maxHistory: 10,
      timeout: opts.timeout ?? 600,
      dependsOn: opts.dependsOn && opts.dependsOn.length > 0 ? opts.dependsOn : undefined,
    });
  }
}

const ALERTMANAGER_SERVICE_ACCOUNT = 'kube-prometheus-stack-alertmanager';
const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = 'cluster-autoscaler';
const FLUENT_BIT_SERVICE_ACCOUNT = 'aws-for-fluent-bit';

/** cluster-autoscaler's read-only calls (AWS cloud provider README); none supports resource-level permissions. */
export const CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS = [
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:DescribeAutoScalingInstances',
  'autoscaling:DescribeLaunchConfigurations',
  'autoscaling:DescribeScalingActivities',
  'autoscaling:DescribeTags',
  'ec2:DescribeImages',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeLaunchTemplateVersions',
  'ec2:GetInstanceTypesFromInstanceRequirements',
] as const;

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

/** A namespace with all three Pod Security Admission modes set to `level`. */
export function namespace(scope: Construct, id: string, name: string, level: 'restricted' | 'baseline' | 'privileged', labels: Record<string, string> = {}): NamespaceV1 {
  return new NamespaceV1(scope, id, {
    metadata: {
      name,
      labels: {
        ...labels,
        'pod-security.kubernetes.io/enforce': level,
        'pod-security.kubernetes.io/audit': level,
        'pod-security.kubernetes.io/warn': level,
      },
    },
  });
}

/**
 * EKS Pod Identity injects credentials when a pod is admitted, so pods must be created after
 * the role's association. The association is created next to the role; depend on what is.
 */
export function podIdentityDependencies(role: IamRole | undefined): ITerraformDependable[] {
  if (!role) return [];
  const parent = role.node.scope;
  if (!parent || parent instanceof TerraformStack) return [role];
  return parent.node.children.filter((c): c is TerraformResource => c instanceof TerraformResource);
}

// ---------------------------------------------------------------------------------------------
// Custom resources

export interface CustomResource {
  /** Object name (DNS label). */
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly spec: Record<string, unknown>;
}

export interface CustomResourcesProps {
  readonly addons: PlatformAddons;
  readonly namespace: string;
  /** Helm release name, unique in the namespace. */
  readonly releaseName: string;
  readonly serviceMonitors?: readonly CustomResource[];
  readonly scaledObjects?: readonly CustomResource[];
  readonly triggerAuthentications?: readonly CustomResource[];
  readonly prometheusRules?: readonly CustomResource[];
  /** More resources that must exist first, e.g. the namespace. */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * Custom resources whose CRDs the add-ons install in the same deploy. `kubernetes_manifest`
 * would need the CRDs at plan time and break a first deploy into an empty account, so they are
 * rendered by Helm at apply time from the local chart `charts/stream-app-resources`.
 */
export class CustomResources extends Construct {
  readonly release: Release;
  /** The chart values, as the release receives them. */
  readonly values: {
    readonly serviceMonitors: readonly CustomResource[];
    readonly scaledObjects: readonly CustomResource[];
    readonly triggerAuthentications: readonly CustomResource[];
    readonly prometheusRules: readonly CustomResource[];
  };

  constructor(scope: Construct, id: string, props: CustomResourcesProps) {
    super(scope, id);
    this.values = {
      serviceMonitors: props.serviceMonitors ?? [],
      scaledObjects: props.scaledObjects ?? [],
      triggerAuthentications: props.triggerAuthentications ?? [],
      prometheusRules: props.prometheusRules ?? [],
    };
    const chart = localChart(this);
    this.release = new Release(this, 'release', {
      name: props.releaseName,
      namespace: props.namespace,
      // The asset path contains a hash of the chart, so any change to a template upgrades the release.
      chart: chart.path,
      version: chart.version,
      values: [toHelmValues(this.values)],
      // Values are checked against the chart's values.schema.json at plan time.
      lint: true,
      atomic: true,
      cleanupOnFail: true,
      maxHistory: 5,
      timeout: 300,
      dependsOn: [...props.addons.customResourceDependencies, ...(props.dependsOn ?? [])],
    });
  }
}

const CHART_DIR = 'charts/stream-app-resources';

/** The chart directory is staged once per stack as an asset, so Terraform finds it wherever it runs. */
function localChart(scope: Construct): { path: string; version: string } {
  const stack = TerraformStack.of(scope);
  const id = 'stream-app-resources-chart';
  const dir = repoPath(CHART_DIR);
  const asset = (stack.node.tryFindChild(id) as TerraformAsset | undefined) ?? new TerraformAsset(stack, id, { path: dir, type: AssetType.DIRECTORY });
  const version = String(parse(readFileSync(join(dir, 'Chart.yaml'), 'utf8')).version);
  return { path: asset.path, version };
}

// ---------------------------------------------------------------------------------------------
// Values

function validate(path: string, props: ClusterAddonsProps): void {
  const fail = (field: string, message: string) => {
    throw new Error(`${path}: ${field} ${message}`);
  };
  if (!CLUSTER_AUTOSCALER_IMAGE_TAGS[props.kubernetesVersion]) {
    fail('kubernetesVersion', `'${props.kubernetesVersion}' has no pinned cluster-autoscaler image; supported: ${Object.keys(CLUSTER_AUTOSCALER_IMAGE_TAGS).join(', ')}`);
  }
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

/** Finds a file or directory of the repository from this module, in the sources or in `dist/`. */
export function repoPath(relative: string): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`cannot find ${relative} above ${__dirname}`);
  }
}

function loadValues(addon: AddonName): Record<string, unknown> {
  return (parse(readFileSync(repoPath(`helm-values/${addon}.yaml`), 'utf8')) ?? {}) as Record<string, unknown>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars from `override` replace; `undefined` keeps `base`. */
export function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key] as Record<string, unknown>, value) : value;
  }
  return out;
}

/**
 * Chart values as YAML. Strings are double-quoted and never folded, so a Terraform reference
 * inside (a token resolved to `${...}`) stays one intact, valid YAML scalar after interpolation.
 */
export function toHelmValues(values: unknown): string {
  return stringify(values, { lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', aliasDuplicateObjects: false });
}

/** Terraform reads `${` and `%{` in strings as templates; literal text (dashboard JSON) must escape them. */
export function escapeTerraformTemplate(text: string): string {
  if (Token.isUnresolved(text)) throw new Error('escapeTerraformTemplate: text must not contain Terraform references');
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}
