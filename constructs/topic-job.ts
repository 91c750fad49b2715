import { createHash } from 'node:crypto';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { JobV1 } from '@cdktf/provider-kubernetes/lib/job-v1';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { NetworkPolicyV1 } from '@cdktf/provider-kubernetes/lib/network-policy-v1';
import { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
import { Construct } from 'constructs';
import { z } from 'zod';
import { allTopics, TopicDeclaration } from '../apps/contracts/topics';
import { AwsContext } from './aws-context';
import { namespace, PodIdentityHost, podIdentityDependencies } from './cluster-addons';
import {
  baseEgress,
  ContainerImage,
  defaultDenyPolicy,
  EgressRule,
  egressRuleSchema,
  egressRules,
  envSchema,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
} from './stream-app';

export interface TopicAdminJobProps {
  readonly cluster: PodIdentityHost;
  /** The platform image; the job runs `node dist/apps/admin/main.js topics` in it. */
  readonly image: ContainerImage;
  readonly kafka: { readonly bootstrapBrokers: string };
  /** Where the job may connect besides DNS and the Pod Identity agent: the MSK brokers on 9098. */
  readonly egress: readonly EgressRule[];
  /**
   * Namespace created for the job (restricted Pod Security Standard, default-deny network).
   * @default 'topic-admin'
   */
  readonly namespace?: string;
  /**
   * Settings for the admin command, e.g. the environment's replication factor.
   * @default {}
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * The declarations the job applies; a change to them (or to `env` or the image) runs a new job.
   * @default allTopics from apps/contracts/topics.ts
   */
  readonly topics?: readonly TopicDeclaration[];
  /** @default 4 */
  readonly backoffLimit?: number;
  /**
   * Make `cdktf deploy` wait for the job to succeed, and fail the deploy if it does not: a failed
   * job is then tainted and the next deploy runs it again. The apps need the topics, so this
   * is on by default; the image must be in ECR before the deploy (see README, "Deploying").
   * @default true
   */
  readonly waitForCompletion?: boolean;
}

const propsSchema = z.object({
  namespace: z
    .string()
    .regex(/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/, 'must be a DNS label')
    .optional(),
  env: envSchema.optional(),
  topics: z
    .array(z.object({ name: z.string().min(1) }).passthrough())
    .min(1, 'must declare at least one topic')
    .optional(),
  backoffLimit: z.number().int().min(0).max(20).optional(),
  egress: z.array(egressRuleSchema).min(1, 'must allow the MSK brokers'),
});

/**
 * Digest of what the job applies and with what; it names the job, so a change runs it again.
 * The image is part of it because a Job's pod template cannot be changed in place.
 */
export function topicsDigest(topics: readonly TopicDeclaration[], env: Readonly<Record<string, string>> = {}, image = ''): string {
  const sorted = (o: object) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  const canonical = JSON.stringify({
    topics: [...topics].map(sorted).sort((a, b) => String(a.name).localeCompare(String(b.name))),
    env: sorted(env),
    image,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * The admin step that creates the declared Kafka topics, as a one-shot Kubernetes Job with its
 * own Pod Identity role (grant it `kafka.grantTopicAdmin(job.role, ...)`). The job is named after
 * a digest of the topic declarations, so every deploy that changes them replaces it: Terraform
 * deletes the old Job and runs the new one. A finished Job stays (no TTL), so a plan without
 * changes is empty instead of recreating a Job the TTL controller deleted.
 */
export class TopicAdminJob extends Construct {
  readonly role: IamRole;
  readonly namespace: NamespaceV1;
  readonly job: JobV1;
  readonly jobName: string;
  /** Digest of the declarations, settings and image (see `topicsDigest`). */
  readonly digest: string;

  constructor(scope: Construct, id: string, props: TopicAdminJobProps) {
    super(scope, id);
    const parsed = propsSchema.safeParse(props);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new Error(`TopicAdminJob ${this.node.path}: ${issues.join('; ')}`);
    }
    const ctx = AwsContext.of(this);
    const topics = props.topics ?? allTopics;
    const userEnv = props.env ?? {};
    const imageRef = `${props.image.repositoryUrl}:${props.image.tag}`;
    this.digest = topicsDigest(topics, userEnv, imageRef);
    this.jobName = `create-topics-${this.digest.slice(0, 10)}`;
    const labels = { 'app.kubernetes.io/name': 'topic-admin', 'app.kubernetes.io/part-of': 'streaming-data-platform' };

    this.namespace = namespace(this, 'namespace', props.namespace ?? 'topic-admin', 'restricted');
    const ns = this.namespace.metadata.name;
    this.role = props.cluster.addPodIdentityRole('topic-admin', ns, 'topic-admin');
    const serviceAccount = new ServiceAccountV1(this, 'service-account', {
      metadata: { name: 'topic-admin', namespace: ns, labels },
      automountServiceAccountToken: false,
    });

    const deny = defaultDenyPolicy(this, ns);
    const allow = new NetworkPolicyV1(this, 'allow', {
      metadata: { name: 'topic-admin-allow', namespace: ns, labels },
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'topic-admin' } },
        policyTypes: ['Ingress', 'Egress'],
        egress: [...baseEgress(), ...egressRules(props.egress)],
      },
    });

    const env: Record<string, string> = {
      APP_NAME: 'topic-admin',
      KAFKA_BROKERS: props.kafka.bootstrapBrokers,
      KAFKA_CLIENT_ID: 'topic-admin',
      KAFKA_AUTH: 'iam',
      KAFKA_TLS: 'true',
      AWS_REGION: ctx.region,
      ...userEnv,
    };
    this.job = new JobV1(this, 'job', {
      metadata: {
        name: this.jobName,
        namespace: ns,
        labels,
        annotations: { 'streaming-data-platform/topics-sha256': topicsDigest(topics) },
      },
      spec: {
        backoffLimit: props.backoffLimit ?? 4,
        activeDeadlineSeconds: 900,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'Never',
            serviceAccountName: serviceAccount.metadata.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(),
            container: [
              {
                name: 'topic-admin',
                image: imageRef,
                imagePullPolicy: 'Always',
                command: ['node', 'dist/apps/admin/main.js', 'topics'],
                env: Object.entries(env).map(([name, value]) => ({ name, value })),
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
                securityContext: restrictedContainerSecurityContext(),
                volumeMount: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volume: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
          },
        },
      },
      waitForCompletion: props.waitForCompletion ?? true,
      // Longer than activeDeadlineSeconds, so Kubernetes fails the Job before Terraform gives up on it.
      timeouts: { create: '20m', update: '20m' },
      dependsOn: [...podIdentityDependencies(this.role), deny, allow],
    });
  }
}
