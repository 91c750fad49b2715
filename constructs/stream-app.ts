import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { DeploymentV1 } from '@cdktf/provider-kubernetes/lib/deployment-v1';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { NetworkPolicyV1, NetworkPolicyV1SpecEgress } from '@cdktf/provider-kubernetes/lib/network-policy-v1';
import { PodDisruptionBudgetV1 } from '@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1';
import { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
import { ServiceV1 } from '@cdktf/provider-kubernetes/lib/service-v1';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { z } from 'zod';
import { kubernetesQuantity, parseCidr } from '../config/schema';
import { COLLECTOR_POD_LABELS, OTLP_HTTP_PORT, TRACING_NAMESPACE } from './addons/opentelemetry-collector';
import { AwsContext } from './aws-context';
import { CustomResource, CustomResources, namespace, PlatformAddons, PodIdentityHost, podIdentityDependencies } from './cluster-addons';

export type { PodIdentityHost } from './cluster-addons';

/** An image in the platform's ECR repository. */
export interface ContainerImage {
  readonly repositoryUrl: string;
  readonly tag: string;
}

/** Where a pod may open connections to, besides DNS and the Pod Identity agent. */
export interface EgressRule {
  /** What is there, e.g. 'MSK brokers'; shows up in test failures and reviews. */
  readonly description: string;
  /** IPv4 CIDRs: subnets of the VPC endpoints, the brokers' subnets, or 0.0.0.0/0 for NAT. */
  readonly cidrs: readonly string[];
  readonly ports: readonly number[];
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP';
}

/** A topic KEDA scales on: its name, and its partitions, the most consumers a group can use there. */
export interface ScalingTopic {
  readonly name: string;
  readonly partitions: number;
}

export interface KafkaConnection {
  /** Comma-separated `host:port` list (MSK's SASL/IAM brokers on 9098). */
  readonly bootstrapBrokers: string;
  /** Consumer group; apps without one are producers and get a fixed replica count. */
  readonly consumerGroup?: string;
  /**
   * Topics whose lag of `consumerGroup` KEDA scales on, one trigger each (the HPA follows the
   * largest). Required with `consumerGroup`.
   */
  readonly scalesOn?: readonly ScalingTopic[];
}

export interface ComputeResources {
  readonly cpu: string;
  readonly memory: string;
}

export interface StreamAppProps {
  /** App name: Deployment, service account and `app` metric label. A DNS label. */
  readonly name: string;
  /**
   * Namespace created for the app (restricted Pod Security Standard, default-deny network).
   * @default the app name
   */
  readonly namespace?: string;

  // Cluster
  readonly cluster: PodIdentityHost;
  readonly addons: PlatformAddons;

  // Container
  readonly image: ContainerImage;
  /** @default ['node', 'dist/apps/<name>/main.js'] */
  readonly command?: readonly string[];
  /** Port of the app's HTTP server: /metrics, /healthz, /readyz. */
  readonly httpPort: number;
  /**
   * Extra environment; wins over the variables the construct sets (APP_NAME, HTTP_PORT,
   * KAFKA_BROKERS, KAFKA_CLIENT_ID, KAFKA_AUTH=iam, KAFKA_TLS=true, AWS_REGION). Never secrets:
   * the apps authenticate with their IAM role.
   * @default {}
   */
  readonly env?: Readonly<Record<string, string>>;
  readonly resources?: {
    /** @default { cpu: '250m', memory: '256Mi' } */
    readonly requests?: ComputeResources;
    /** @default { cpu: '1', memory: '512Mi' } */
    readonly limits?: ComputeResources;
  };
  /**
   * Size limit of the writable emptyDir at /tmp (the root filesystem is read-only).
   * @default '256Mi'
   */
  readonly tmpSizeLimit?: string;

  // Kafka
  readonly kafka: KafkaConnection;

  // Scaling
  readonly scaling?: {
    /** Consumers: lowest replica count KEDA keeps. @default 2 */
    readonly minReplicas?: number;
    /** Consumers: at most the most partitions among `kafka.scalesOn`. @default that many */
    readonly maxReplicas?: number;
    /** Consumers: lag per replica KEDA aims for. @default 1000 */
    readonly lagThreshold?: number;
    /** Producers: fixed replica count; 0 keeps the Deployment but runs nothing. @default 2 */
    readonly replicas?: number;
  };

  // Network
  /** Everything the app connects to besides DNS: MSK (9098), Keyspaces (9142), S3/STS (443). */
  readonly egress: readonly EgressRule[];

  // Rollout
  /**
   * Make `cdktf deploy` wait until the new pods are Ready. Off by default: the deploy workflow
   * waits for every app's rollout after the apply instead (scripts/deploy/wait-for-rollout.sh),
   * so that a rollout that fails is rolled back to the tag that ran before.
   * @default false
   */
  readonly waitForRollout?: boolean;
}

/**
 * Seconds a rollout may go without a new pod becoming available before the Deployment reports
 * ProgressDeadlineExceeded (and `kubectl rollout status` fails): a node scale-up for the surge
 * pod (~3-5 min) plus the startup probe's minute.
 */
export const ROLLOUT_PROGRESS_DEADLINE_SECONDS = 600;
/** A new pod counts as available only after staying ready this long, so one that crashes right after its first ready probe stops the rollout. */
export const ROLLOUT_MIN_READY_SECONDS = 10;

/** Non-root user of the platform image. */
export const APP_USER_ID = 10001;
const APP_CONTAINER = 'app';
const HTTP_PORT_NAME = 'http';
/** EKS Pod Identity agent: a host-network daemon on every node, reached at a link-local address. */
export const POD_IDENTITY_AGENT_CIDR = '169.254.170.23/32';

/** Pod-level security context of the restricted Pod Security Standard. */
export function restrictedPodSecurityContext() {
  return {
    runAsNonRoot: true,
    runAsUser: String(APP_USER_ID),
    runAsGroup: String(APP_USER_ID),
    fsGroup: String(APP_USER_ID),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level security context of the restricted Pod Security Standard, with a read-only root. */
export function restrictedContainerSecurityContext() {
  return {
    runAsNonRoot: true,
    runAsUser: String(APP_USER_ID),
    runAsGroup: String(APP_USER_ID),
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Egress every pod needs: DNS to kube-dns and credentials from the Pod Identity agent. */
export function baseEgress(): NetworkPolicyV1SpecEgress[] {
  return [
    {
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ],
      ports: [
        { port: '53', protocol: 'UDP' },
        { port: '53', protocol: 'TCP' },
      ],
    },
    { to: [{ ipBlock: { cidr: POD_IDENTITY_AGENT_CIDR } }], ports: [{ port: '80', protocol: 'TCP' }] },
  ];
}

/** A stream app's spans to the OpenTelemetry collector (constructs/addons/opentelemetry-collector.ts). */
export function collectorEgress(): NetworkPolicyV1SpecEgress {
  return {
    to: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': TRACING_NAMESPACE } },
        podSelector: { matchLabels: { ...COLLECTOR_POD_LABELS } },
      },
    ],
    ports: [{ port: String(OTLP_HTTP_PORT), protocol: 'TCP' }],
  };
}

export function egressRules(rules: readonly EgressRule[]): NetworkPolicyV1SpecEgress[] {
  return rules.map((r) => ({
    to: r.cidrs.map((cidr) => ({ ipBlock: { cidr } })),
    ports: r.ports.map((port) => ({ port: String(port), protocol: r.protocol ?? 'TCP' })),
  }));
}

/** Default-deny for every pod of the namespace, in both directions; allow policies open what is needed. */
export function defaultDenyPolicy(scope: Construct, namespaceName: string): NetworkPolicyV1 {
  return new NetworkPolicyV1(scope, 'default-deny', {
    metadata: { name: 'default-deny', namespace: namespaceName },
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  });
}

const dnsLabel = z.string().regex(/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/, 'must be a DNS label of at most 40 lower-case letters, digits and "-"');
const resources = z.object({ cpu: kubernetesQuantity, memory: kubernetesQuantity }).strict();
const count = z.number().int().min(1);

/** Environment variables: names a shell and Node accept. */
export const envSchema = z.record(z.string(), z.string()).superRefine((env, ctx) => {
  for (const key of Object.keys(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'is not a valid environment variable name' });
  }
});
const port = z.number().int().min(1).max(65535);

export const egressRuleSchema = z
  .object({
    description: z.string().min(1),
    cidrs: z.array(z.string().refine((c) => Token.isUnresolved(c) || parseCidr(c) !== undefined, 'must be an IPv4 CIDR such as 10.0.0.0/16')).min(1),
    ports: z.array(port).min(1),
    protocol: z.enum(['TCP', 'UDP']).optional(),
  })
  .strict();

const propsSchema = z
  .object({
    name: dnsLabel,
    namespace: dnsLabel.optional(),
    // Non-root without capabilities cannot bind privileged ports.
    httpPort: z.number().int().min(1024, 'must be 1024 or higher (the container runs without NET_BIND_SERVICE)').max(65535),
    command: z.array(z.string()).min(1).optional(),
    env: envSchema.optional(),
    resources: z.object({ requests: resources.optional(), limits: resources.optional() }).strict().optional(),
    tmpSizeLimit: kubernetesQuantity.optional(),
    kafka: z
      .object({
        bootstrapBrokers: z.string().min(1),
        consumerGroup: z.string().min(1).optional(),
        scalesOn: z.array(z.object({ name: z.string().min(1), partitions: count })).optional(),
      })
      .strict(),
    scaling: z
      .object({ minReplicas: count.optional(), maxReplicas: count.optional(), lagThreshold: count.optional(), replicas: z.number().int().min(0).optional() })
      .strict()
      .optional(),
    egress: z.array(egressRuleSchema),
    waitForRollout: z.boolean().optional(),
  })
  .superRefine((p, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: path.split('.'), message });
    const s = p.scaling ?? {};
    const partitions = mostPartitions(p.kafka.scalesOn);
    if (p.kafka.consumerGroup) {
      if (partitions === undefined) issue('kafka.scalesOn', "needs at least one topic with kafka.consumerGroup: KEDA scales on the group's lag there");
      if (s.replicas !== undefined) issue('scaling.replicas', 'is for producers; a consumer takes scaling.minReplicas/maxReplicas');
      const max = s.maxReplicas ?? partitions;
      const min = s.minReplicas ?? Math.min(2, max ?? 2);
      if (partitions !== undefined && max !== undefined && max > partitions) {
        issue(
          'scaling.maxReplicas',
          `(${max}) must not exceed the ${partitions} partitions of kafka.scalesOn: a consumer group cannot use more consumers than the topic has partitions`,
        );
      }
      if (max !== undefined && min > max) issue('scaling.minReplicas', `(${min}) must not exceed scaling.maxReplicas (${max})`);
    } else {
      if (p.kafka.scalesOn !== undefined) issue('kafka.scalesOn', 'applies to consumers (kafka.consumerGroup)');
      for (const f of ['minReplicas', 'maxReplicas', 'lagThreshold'] as const) {
        if (s[f] !== undefined) issue(`scaling.${f}`, 'applies to consumers (kafka.consumerGroup); a producer takes scaling.replicas');
      }
    }
  });

/** The most partitions among the scaling topics: beyond it every added consumer sits idle. */
function mostPartitions(topics: readonly ScalingTopic[] | undefined): number | undefined {
  return topics && topics.length > 0 ? Math.max(...topics.map((t) => t.partitions)) : undefined;
}

/**
 * A stream-processing app on the EKS cluster: its own namespace under the restricted Pod
 * Security Standard and a default-deny network policy, a service account bound to an IAM role
 * through EKS Pod Identity (grant it access with the Kafka, Keyspaces and lake constructs), a
 * hardened Deployment spread over zones and nodes, a PodDisruptionBudget, a metrics Service with
 * a ServiceMonitor, and for consumers a KEDA ScaledObject on consumer-group lag.
 */
export class StreamApp extends Construct {
  readonly appName: string;
  readonly namespaceName: string;
  readonly serviceAccountName: string;
  /** The app's identity; grant it exactly what it reads and writes. */
  readonly role: IamRole;
  readonly isConsumer: boolean;
  readonly namespace: NamespaceV1;
  readonly deployment: DeploymentV1;
  readonly service: ServiceV1;
  readonly podDisruptionBudget: PodDisruptionBudgetV1;
  readonly networkPolicies: readonly NetworkPolicyV1[];
  readonly customResources: CustomResources;

  constructor(scope: Construct, id: string, props: StreamAppProps) {
    super(scope, id);
    const parsed = propsSchema.safeParse(props);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(props)'}: ${i.message}`);
      throw new Error(`StreamApp "${props.name}": ${issues.join('; ')}`);
    }
    const ctx = AwsContext.of(this);
    const name = props.name;
    this.appName = name;
    this.isConsumer = props.kafka.consumerGroup !== undefined;
    const scaling = props.scaling ?? {};
    const maxReplicas = scaling.maxReplicas ?? mostPartitions(props.kafka.scalesOn) ?? 1;
    const minReplicas = scaling.minReplicas ?? Math.min(2, maxReplicas);
    const replicas = this.isConsumer ? minReplicas : (scaling.replicas ?? 2);
    const labels = {
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/part-of': 'streaming-data-platform',
      'app.kubernetes.io/component': this.isConsumer ? 'consumer' : 'producer',
    };
    const selector = { 'app.kubernetes.io/name': name };

    // Namespace and identity
    this.namespace = namespace(this, 'namespace', props.namespace ?? name, 'restricted');
    this.namespaceName = this.namespace.metadata.name;
    this.serviceAccountName = name;
    this.role = props.cluster.addPodIdentityRole(name, this.namespaceName, this.serviceAccountName);
    const serviceAccount = new ServiceAccountV1(this, 'service-account', {
      metadata: { name: this.serviceAccountName, namespace: this.namespaceName, labels },
      // The app never calls the Kubernetes API. Pod Identity does not need this token: its
      // webhook adds a separate projected token (audience pods.eks.amazonaws.com) to every pod.
      automountServiceAccountToken: false,
    });

    // Network: nothing in or out unless listed here.
    const deny = defaultDenyPolicy(this, this.namespaceName);
    const allow = new NetworkPolicyV1(this, 'allow', {
      metadata: { name: `${name}-allow`, namespace: this.namespaceName, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.addons.monitoringNamespace } } }],
            ports: [{ port: String(props.httpPort), protocol: 'TCP' }],
          },
        ],
        egress: [...baseEgress(), collectorEgress(), ...egressRules(props.egress)],
      },
    });
    this.networkPolicies = [deny, allow];

    // Workload
    const env: Record<string, string> = {
      APP_NAME: name,
      HTTP_PORT: String(props.httpPort),
      KAFKA_BROKERS: props.kafka.bootstrapBrokers,
      KAFKA_CLIENT_ID: name,
      KAFKA_AUTH: 'iam',
      KAFKA_TLS: 'true',
      AWS_REGION: ctx.region,
      ...(props.env ?? {}),
    };
    const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
      httpGet: { path, port: HTTP_PORT_NAME },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 2,
    });
    this.deployment = new DeploymentV1(this, 'deployment', {
      metadata: { name, namespace: this.namespaceName, labels },
      spec: {
        replicas: String(replicas),
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        // Safe by default: no old pod goes before a new one is ready, and a rollout that stalls
        // is marked failed, which the deploy workflow turns into a rollback (docs/ci.md).
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '1', maxUnavailable: '0' } },
        progressDeadlineSeconds: ROLLOUT_PROGRESS_DEADLINE_SECONDS,
        minReadySeconds: ROLLOUT_MIN_READY_SECONDS,
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: serviceAccount.metadata.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            // Time for the in-flight batch to finish and commit after SIGTERM.
            terminationGracePeriodSeconds: 60,
            securityContext: restrictedPodSecurityContext(),
            topologySpreadConstraint: [
              // Preferred, not required: the autoscaler cannot always add a node in a given zone.
              ...['topology.kubernetes.io/zone', 'kubernetes.io/hostname'].map((topologyKey) => ({
                maxSkew: 1,
                topologyKey,
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: [{ matchLabels: selector }],
                // Spread each rollout's pods, not old and new together.
                matchLabelKeys: ['pod-template-hash'],
              })),
            ],
            container: [
              {
                name: APP_CONTAINER,
                image: `${props.image.repositoryUrl}:${props.image.tag}`,
                imagePullPolicy: 'Always',
                command: [...(props.command ?? ['node', `dist/apps/${name}/main.js`])],
                port: [{ name: HTTP_PORT_NAME, containerPort: props.httpPort, protocol: 'TCP' }],
                env: Object.entries(env).map(([envName, value]) => ({ name: envName, value })),
                resources: {
                  requests: { ...(props.resources?.requests ?? { cpu: '250m', memory: '256Mi' }) },
                  limits: { ...(props.resources?.limits ?? { cpu: '1', memory: '512Mi' }) },
                },
                // Startup gets a minute to connect and join the group before liveness counts.
                startupProbe: probe('/healthz', 2, 30),
                livenessProbe: probe('/healthz', 10, 3),
                readinessProbe: probe('/readyz', 5, 3),
                securityContext: restrictedContainerSecurityContext(),
                volumeMount: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volume: [{ name: 'tmp', emptyDir: { sizeLimit: props.tmpSizeLimit ?? '256Mi' } }],
          },
        },
      },
      waitForRollout: props.waitForRollout ?? false,
      // KEDA owns the replica count of consumers.
      lifecycle: this.isConsumer ? { ignoreChanges: ['spec[0].replicas'] } : undefined,
      dependsOn: podIdentityDependencies(this.role),
    });

    this.podDisruptionBudget = new PodDisruptionBudgetV1(this, 'pdb', {
      metadata: { name, namespace: this.namespaceName, labels },
      // maxUnavailable, not minAvailable: a single replica must not block node drains.
      spec: { maxUnavailable: '1', selector: { matchLabels: selector } },
    });

    this.service = new ServiceV1(this, 'service', {
      metadata: { name, namespace: this.namespaceName, labels },
      spec: {
        type: 'ClusterIP',
        selector,
        port: [{ name: HTTP_PORT_NAME, port: props.httpPort, targetPort: HTTP_PORT_NAME, protocol: 'TCP' }],
      },
    });

    // Custom resources
    const serviceMonitor: CustomResource = {
      name,
      labels,
      spec: {
        selector: { matchLabels: selector },
        namespaceSelector: { matchNames: [this.namespaceName] },
        endpoints: [{ port: HTTP_PORT_NAME, path: '/metrics', interval: '30s', scrapeTimeout: '10s' }],
      },
    };
    const triggerAuthentications: CustomResource[] = [];
    const scaledObjects: CustomResource[] = [];
    if (this.isConsumer) {
      const auth = `${name}-msk-iam`;
      // KEDA's operator reads the lag with its own Pod Identity role (identityOwner: keda).
      triggerAuthentications.push({ name: auth, labels, spec: { podIdentity: { provider: 'aws' } } });
      scaledObjects.push({
        name,
        labels,
        spec: {
          scaleTargetRef: { name },
          minReplicaCount: minReplicas,
          maxReplicaCount: maxReplicas,
          pollingInterval: 30,
          cooldownPeriod: 300,
          advanced: {
            horizontalPodAutoscalerConfig: {
              // Every scale step rebalances the group; scale down one pod at a time.
              behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }] } },
            },
          },
          triggers: (props.kafka.scalesOn ?? []).map((topic) => ({
            type: 'kafka',
            metadata: {
              bootstrapServers: props.kafka.bootstrapBrokers,
              consumerGroup: props.kafka.consumerGroup,
              topic: topic.name,
              lagThreshold: String(scaling.lagThreshold ?? 1000),
              offsetResetPolicy: 'earliest',
              allowIdleConsumers: 'false',
              sasl: 'oauthbearer',
              saslTokenProvider: 'aws_msk_iam',
              tls: 'enable',
              awsRegion: ctx.region,
            },
            authenticationRef: { name: auth },
          })),
        },
      });
    }
    this.customResources = new CustomResources(this, 'custom-resources', {
      addons: props.addons,
      namespace: this.namespaceName,
      releaseName: `${name}-resources`,
      serviceMonitors: [serviceMonitor],
      scaledObjects,
      triggerAuthentications,
      // The ScaledObject takes over a Deployment that must already exist.
      dependsOn: [this.deployment, this.service],
    });
  }
}
