import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { EksPodIdentityAssociation } from '@cdktf/provider-aws/lib/eks-pod-identity-association';
import { ITerraformDependable, TerraformStack, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { parse } from 'yaml';
import { apps } from '../../apps/contracts/apps';
import { allTopics, topics } from '../../apps/contracts/topics';
import { PlatformAddons, PodIdentityHost } from '../../constructs/cluster-addons';
import { EgressRule, StreamApp, StreamAppProps } from '../../constructs/stream-app';
import { TopicAdminJob, topicsDigest } from '../../constructs/topic-job';

/** Stands in for KubernetesCluster: a role plus its association, side by side like the real one. */
class FakeCluster extends Construct implements PodIdentityHost {
  readonly clusterName = 'sdp-test';
  addPodIdentityRole(id: string, namespace: string, serviceAccount: string): IamRole {
    const scope = new Construct(this, `pod-identity-${id}`);
    const role = new IamRole(scope, 'role', { name: `sdp-test-${id}`, assumeRolePolicy: '{}' });
    new EksPodIdentityAssociation(scope, 'association', { clusterName: this.clusterName, namespace, serviceAccount, roleArn: role.arn });
    return role;
  }
}

class FakeAddons extends Construct implements PlatformAddons {
  readonly monitoringNamespace = 'monitoring';
  readonly customResourceDependencies: ITerraformDependable[];
  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.customResourceDependencies = [new IamRole(this, 'crd-marker', { name: 'crd-marker', assumeRolePolicy: '{}' })];
  }
}

const msk: EgressRule = { description: 'MSK brokers', cidrs: ['10.10.16.0/20', '10.10.32.0/20'], ports: [9098] };
const keyspaces: EgressRule = { description: 'Keyspaces endpoint', cidrs: ['10.10.16.0/20'], ports: [9142] };
const https: EgressRule = { description: 'S3 and STS endpoints', cidrs: ['10.10.16.0/20'], ports: [443] };
const image = { repositoryUrl: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/sdp-dev', tag: '1.4.2' };
const brokers = 'b-1.sdp.kafka.eu-west-1.amazonaws.com:9098,b-2.sdp.kafka.eu-west-1.amazonaws.com:9098';

type Synth = { resource: Record<string, Record<string, any>> };

function build(extra: (scope: Construct, common: Pick<StreamAppProps, 'cluster' | 'addons' | 'image'>) => void): Synth {
  const stack = new TerraformStack(Testing.app(), 'test');
  const cluster = new FakeCluster(stack, 'cluster');
  const addons = new FakeAddons(stack, 'addons');
  extra(stack, { cluster, addons, image });
  return JSON.parse(Testing.synth(stack));
}

function pipeline(): Synth {
  return build((scope, common) => {
    new StreamApp(scope, 'producer', { ...common, name: 'producer', httpPort: 8080, kafka: { bootstrapBrokers: brokers }, egress: [msk] });
    new StreamApp(scope, 'processor', {
      ...common,
      name: 'processor',
      httpPort: 8081,
      kafka: { bootstrapBrokers: brokers, consumerGroup: apps.processor.consumerGroup, scalesOn: [topics.raw] },
      scaling: { minReplicas: 2, maxReplicas: 12 },
      egress: [msk],
    });
    new StreamApp(scope, 'cassandra-sink', {
      ...common,
      name: 'cassandra-sink',
      httpPort: 8082,
      kafka: { bootstrapBrokers: brokers, consumerGroup: apps.cassandraSink.consumerGroup, scalesOn: [topics.clean, topics.aggregates] },
      egress: [msk, keyspaces, https],
    });
    new StreamApp(scope, 'lake-sink', {
      ...common,
      name: 'lake-sink',
      httpPort: 8083,
      kafka: { bootstrapBrokers: brokers, consumerGroup: apps.lakeSink.consumerGroup, scalesOn: [topics.clean] },
      egress: [msk, https],
    });
    new TopicAdminJob(scope, 'topics', {
      cluster: common.cluster,
      image,
      kafka: { bootstrapBrokers: brokers },
      egress: [msk],
      env: { KAFKA_REPLICATION_FACTOR: '3' },
    });
  });
}

const APPS = ['producer', 'processor', 'cassandra-sink', 'lake-sink'];
const CONSUMERS = ['processor', 'cassandra-sink', 'lake-sink'];

function byName(synth: Synth, type: string, name: string): any {
  const found = Object.values(synth.resource[type] ?? {}).filter((r: any) => r.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
  return found[0];
}

function chartValues(synth: Synth, releaseName: string): any {
  const release = Object.values(synth.resource.helm_release).find((r: any) => r.name === releaseName) as any;
  if (!release) throw new Error(`no helm_release ${releaseName}`);
  return parse(release.values[0]);
}

function expectRestricted(pod: any, container: any) {
  expect(pod.security_context).toMatchObject({ run_as_non_root: true, run_as_user: '10001', seccomp_profile: { type: 'RuntimeDefault' } });
  expect(container.security_context).toMatchObject({
    run_as_non_root: true,
    run_as_user: '10001',
    allow_privilege_escalation: false,
    privileged: false,
    read_only_root_filesystem: true,
    capabilities: { drop: ['ALL'] },
    seccomp_profile: { type: 'RuntimeDefault' },
  });
  expect(pod.host_network).toBeUndefined();
  expect(pod.automount_service_account_token).toBe(false);
  // The only writable path is the emptyDir at /tmp.
  expect(container.volume_mount).toEqual([expect.objectContaining({ name: 'tmp', mount_path: '/tmp' })]);
  expect(pod.volume).toEqual([expect.objectContaining({ name: 'tmp', empty_dir: expect.objectContaining({ size_limit: expect.any(String) }) })]);
}

describe('StreamApp', () => {
  const synth = pipeline();

  it.each(APPS)('%s runs under the restricted Pod Security Standard', (app) => {
    const deployment = byName(synth, 'kubernetes_deployment_v1', app);
    const pod = deployment.spec.template.spec;
    expectRestricted(pod, pod.container[0]);
    const ns = byName(synth, 'kubernetes_namespace_v1', app);
    for (const mode of ['enforce', 'audit', 'warn']) expect(ns.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
  });

  it.each(APPS)('%s has probes on its HTTP port, requests and limits, a pinned image and zone/host spreading', (app) => {
    const pod = byName(synth, 'kubernetes_deployment_v1', app).spec.template.spec;
    const c = pod.container[0];
    expect(c.liveness_probe.http_get).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readiness_probe.http_get).toEqual({ path: '/readyz', port: 'http' });
    expect(c.startup_probe.http_get.path).toBe('/healthz');
    expect(c.port).toEqual([{ name: 'http', container_port: expect.any(Number), protocol: 'TCP' }]);
    expect(c.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources.limits).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.image).toBe(`${image.repositoryUrl}:${image.tag}`);
    expect(c.image_pull_policy).toBe('Always');
    expect(pod.topology_spread_constraint.map((t: any) => t.topology_key)).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    expect(pod.service_account_name).toMatch(new RegExp(`^\\$\\{kubernetes_service_account_v1\\.${app}_service-account_`));
  });

  it('gives each app its own port, name and MSK IAM settings in the environment', () => {
    const env = (app: string) =>
      Object.fromEntries(byName(synth, 'kubernetes_deployment_v1', app).spec.template.spec.container[0].env.map((e: any) => [e.name, e.value]));
    expect(env('processor')).toMatchObject({ APP_NAME: 'processor', HTTP_PORT: '8081', KAFKA_BROKERS: brokers, KAFKA_AUTH: 'iam', KAFKA_TLS: 'true' });
    expect(env('lake-sink').HTTP_PORT).toBe('8083');
    expect(env('processor').AWS_REGION).toMatch(/^\$\{data\.aws_region\./);
  });

  it.each(APPS)('%s has a PodDisruptionBudget and a metrics Service selecting its pods', (app) => {
    const pdb = byName(synth, 'kubernetes_pod_disruption_budget_v1', app);
    expect(pdb.spec.max_unavailable).toBe('1');
    expect(pdb.spec.selector.match_labels).toEqual({ 'app.kubernetes.io/name': app });
    const svc = byName(synth, 'kubernetes_service_v1', app);
    expect(svc.spec.selector).toEqual({ 'app.kubernetes.io/name': app });
    expect(svc.spec.port[0]).toMatchObject({ name: 'http', target_port: 'http' });
  });

  it.each(APPS)('%s namespace denies all traffic by default and allows only DNS, the Pod Identity agent, the trace collector and its egress list', (app) => {
    const allow = byName(synth, 'kubernetes_network_policy_v1', `${app}-allow`);
    const deny = Object.values(synth.resource.kubernetes_network_policy_v1).find(
      (p: any) => p.metadata.name === 'default-deny' && p.metadata.namespace === allow.metadata.namespace,
    ) as any;
    expect(deny.spec.pod_selector).toEqual({});
    expect(deny.spec.policy_types).toEqual(['Ingress', 'Egress']);
    expect(deny.spec.ingress).toBeUndefined();
    expect(deny.spec.egress).toBeUndefined();

    expect(allow.spec.ingress).toEqual([
      {
        from: [{ namespace_selector: { match_labels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
        ports: [{ port: expect.stringMatching(/^808\d$/), protocol: 'TCP' }],
      },
    ]);
    const egress = allow.spec.egress;
    expect(egress[0].to[0].pod_selector.match_labels).toEqual({ 'k8s-app': 'kube-dns' });
    expect(egress[0].ports.map((p: any) => `${p.protocol}/${p.port}`)).toEqual(['UDP/53', 'TCP/53']);
    expect(egress[1]).toEqual({ to: [{ ip_block: { cidr: '169.254.170.23/32' } }], ports: [{ port: '80', protocol: 'TCP' }] });
    expect(egress[2]).toEqual({
      to: [
        {
          namespace_selector: { match_labels: { 'kubernetes.io/metadata.name': 'tracing' } },
          pod_selector: { match_labels: { 'app.kubernetes.io/name': 'opentelemetry-collector' } },
        },
      ],
      ports: [{ port: '4318', protocol: 'TCP' }],
    });
    const ports = egress.slice(3).flatMap((e: any) => e.ports.map((p: any) => p.port));
    expect(ports).toContain('9098');
    // Nothing is open to the whole internet unless a rule says so.
    expect(JSON.stringify(egress)).not.toContain('0.0.0.0/0');
  });

  it('opens Keyspaces only to the Cassandra sink', () => {
    const allowPorts = (app: string) => JSON.stringify(byName(synth, 'kubernetes_network_policy_v1', `${app}-allow`).spec.egress);
    expect(allowPorts('cassandra-sink')).toContain('"9142"');
    expect(allowPorts('lake-sink')).not.toContain('"9142"');
    expect(allowPorts('processor')).not.toContain('"443"');
  });

  it.each(APPS)('%s has a ServiceMonitor for its metrics port in its chart values', (app) => {
    const values = chartValues(synth, `${app}-resources`);
    expect(values.serviceMonitors).toHaveLength(1);
    expect(values.serviceMonitors[0].spec).toMatchObject({
      selector: { matchLabels: { 'app.kubernetes.io/name': app } },
      endpoints: [{ port: 'http', path: '/metrics' }],
    });
  });

  it.each(CONSUMERS)('%s scales with KEDA on its consumer-group lag through MSK IAM', (app) => {
    const values = chartValues(synth, `${app}-resources`);
    expect(values.scaledObjects).toHaveLength(1);
    const so = values.scaledObjects[0].spec;
    expect(so.scaleTargetRef).toEqual({ name: app });
    expect(so.minReplicaCount).toBeGreaterThanOrEqual(1);
    const trigger = so.triggers[0];
    expect(trigger.type).toBe('kafka');
    expect(trigger.metadata).toMatchObject({
      sasl: 'oauthbearer',
      saslTokenProvider: 'aws_msk_iam',
      tls: 'enable',
      bootstrapServers: brokers,
      allowIdleConsumers: 'false',
    });
    const auth = values.triggerAuthentications.find((t: any) => t.name === trigger.authenticationRef.name);
    expect(auth.spec).toEqual({ podIdentity: { provider: 'aws' } });
    // KEDA owns the replica count; Terraform must not reset it on every apply.
    expect(byName(synth, 'kubernetes_deployment_v1', app).lifecycle.ignore_changes).toEqual(['spec[0].replicas']);
  });

  it('scales the processor up to the partition count of its topic on its own group', () => {
    const so = chartValues(synth, 'processor-resources').scaledObjects[0].spec;
    expect(so).toMatchObject({ minReplicaCount: 2, maxReplicaCount: topics.raw.partitions });
    expect(so.triggers[0].metadata).toMatchObject({ consumerGroup: apps.processor.consumerGroup, topic: topics.raw.name });
    // Defaults: the sinks go up to their topic's partitions.
    expect(chartValues(synth, 'lake-sink-resources').scaledObjects[0].spec.maxReplicaCount).toBe(topics.clean.partitions);
  });

  it('adds one lag trigger per scaling topic, capped by the largest of them', () => {
    const so = chartValues(synth, 'cassandra-sink-resources').scaledObjects[0].spec;
    expect(so.triggers.map((t: any) => t.metadata.topic)).toEqual([topics.clean.name, topics.aggregates.name]);
    expect(
      so.triggers.every((t: any) => t.metadata.consumerGroup === apps.cassandraSink.consumerGroup && t.authenticationRef.name === 'cassandra-sink-msk-iam'),
    ).toBe(true);
    expect(so.maxReplicaCount).toBe(Math.max(topics.clean.partitions, topics.aggregates.partitions));
  });

  it('runs the producer at a fixed replica count without a ScaledObject', () => {
    const values = chartValues(synth, 'producer-resources');
    expect(values.scaledObjects).toEqual([]);
    expect(values.triggerAuthentications).toEqual([]);
    const deployment = byName(synth, 'kubernetes_deployment_v1', 'producer');
    expect(deployment.spec.replicas).toBe('2');
    expect(deployment.lifecycle).toBeUndefined();
  });

  it('renders custom resources through the local chart after the CRD releases and the Deployment', () => {
    const release = Object.values(synth.resource.helm_release).find((r: any) => r.name === 'processor-resources') as any;
    expect(release.chart).toMatch(/^assets\/stream-app-resources-chart\/[0-9A-F]+/i);
    expect(release.version).toBe('1.0.0');
    expect(release.lint).toBe(true);
    expect(release.depends_on.some((d: string) => d.startsWith('aws_iam_role.addons_crd-marker'))).toBe(true);
    expect(release.depends_on.some((d: string) => d.startsWith('kubernetes_deployment_v1.'))).toBe(true);
  });

  it('creates pods only after their Pod Identity association exists', () => {
    for (const app of APPS) {
      const deployment = byName(synth, 'kubernetes_deployment_v1', app);
      expect(deployment.depends_on).toEqual(
        expect.arrayContaining([expect.stringMatching(new RegExp(`^aws_eks_pod_identity_association\\.cluster_pod-identity-${app}_association`))]),
      );
    }
    const association = Object.values(synth.resource.aws_eks_pod_identity_association).find((a: any) => a.service_account === 'processor') as any;
    expect(association.namespace).toMatch(/kubernetes_namespace_v1\.processor_namespace/);
  });

  it('does not wait for rollouts by default, so a first deploy works before the image is pushed', () => {
    for (const app of APPS) expect(byName(synth, 'kubernetes_deployment_v1', app).wait_for_rollout).toBe(false);
  });

  describe('validation', () => {
    const consumer = (overrides: Partial<StreamAppProps>) => () =>
      build((scope, common) => {
        new StreamApp(scope, 'app', {
          ...common,
          name: 'processor',
          httpPort: 8081,
          kafka: { bootstrapBrokers: brokers, consumerGroup: apps.processor.consumerGroup, scalesOn: [{ name: topics.raw.name, partitions: 12 }] },
          egress: [msk],
          ...overrides,
        });
      });

    it('rejects more replicas than partitions, naming the app and the field', () => {
      expect(consumer({ scaling: { maxReplicas: 24 } })).toThrow(
        'StreamApp "processor": scaling.maxReplicas: (24) must not exceed the 12 partitions of kafka.scalesOn',
      );
    });

    it('rejects minReplicas above maxReplicas', () => {
      expect(consumer({ scaling: { minReplicas: 6, maxReplicas: 4 } })).toThrow(/scaling\.minReplicas: \(6\) must not exceed scaling\.maxReplicas \(4\)/);
    });

    it('requires the topics a consumer group scales on', () => {
      expect(consumer({ kafka: { bootstrapBrokers: brokers, consumerGroup: 'g' } })).toThrow(/kafka\.scalesOn: needs at least one topic/);
      expect(consumer({ kafka: { bootstrapBrokers: brokers, consumerGroup: 'g', scalesOn: [] } })).toThrow(/kafka\.scalesOn: needs at least one topic/);
    });

    it('rejects consumer scaling settings on a producer', () => {
      expect(consumer({ kafka: { bootstrapBrokers: brokers }, scaling: { maxReplicas: 3 } })).toThrow(/scaling\.maxReplicas: applies to consumers/);
    });

    it('rejects privileged ports, bad names, bad CIDRs and bad env names', () => {
      expect(consumer({ httpPort: 80 })).toThrow(/httpPort: must be 1024 or higher/);
      expect(consumer({ name: 'Processor_1' })).toThrow(/name: must be a DNS label/);
      expect(consumer({ egress: [{ description: 'typo', cidrs: ['10.0.1.0/16'], ports: [9098] }] })).toThrow(/egress\.0\.cidrs\.0: must be an IPv4 CIDR/);
      expect(consumer({ env: { 'BAD-NAME': 'x' } })).toThrow(/env\.BAD-NAME: is not a valid environment variable name/);
    });
  });
});

describe('TopicAdminJob', () => {
  const synth = pipeline();
  const job = Object.values(synth.resource.kubernetes_job_v1)[0] as any;

  it('runs the admin command in the platform image under the restricted profile', () => {
    const pod = job.spec.template.spec;
    expectRestricted(pod, pod.container[0]);
    expect(pod.container[0].command).toEqual(['node', 'dist/apps/admin/main.js', 'topics']);
    expect(pod.container[0].image).toBe(`${image.repositoryUrl}:${image.tag}`);
    expect(pod.restart_policy).toBe('Never');
    expect(pod.service_account_name).toMatch(/^\$\{kubernetes_service_account_v1\.topics_service-account_/);
    expect(job.spec.backoff_limit).toBe(4);
    // Kept after it finishes: a TTL would make every plan recreate it.
    expect(job.spec.ttl_seconds_after_finished).toBeUndefined();
    expect(job.wait_for_completion).toBe(true);
    expect(job.spec.active_deadline_seconds).toBe(900);
    expect(job.timeouts.create).toBe('20m');
  });

  it('is named after a digest of the topic declarations, so a change runs it again', () => {
    const env = { KAFKA_REPLICATION_FACTOR: '3' };
    const ref = `${image.repositoryUrl}:${image.tag}`;
    const digest = topicsDigest(allTopics, env, ref);
    expect(job.metadata.name).toBe(`create-topics-${digest.slice(0, 10)}`);
    expect(job.metadata.annotations['streaming-data-platform/topics-sha256']).toBe(topicsDigest(allTopics));
    const changed = allTopics.map((t) => (t.name === topics.raw.name ? { ...t, partitions: t.partitions + 6 } : t));
    expect(topicsDigest(changed, env, ref)).not.toBe(digest);
    expect(topicsDigest(allTopics, { KAFKA_REPLICATION_FACTOR: '2' }, ref)).not.toBe(digest);
    // A Job's pod template is immutable: a new image needs a new Job.
    expect(topicsDigest(allTopics, env, `${image.repositoryUrl}:1.4.3`)).not.toBe(digest);
    // Order of declarations or keys does not matter.
    expect(topicsDigest([...allTopics].reverse(), env, ref)).toBe(digest);
  });

  it('may only reach DNS, the Pod Identity agent and the brokers, and accepts no ingress', () => {
    const allow = byName(synth, 'kubernetes_network_policy_v1', 'topic-admin-allow');
    expect(allow.spec.ingress).toBeUndefined();
    expect(allow.spec.policy_types).toEqual(['Ingress', 'Egress']);
    expect(allow.spec.egress.slice(2)).toEqual([{ to: msk.cidrs.map((cidr) => ({ ip_block: { cidr } })), ports: [{ port: '9098', protocol: 'TCP' }] }]);
    expect(job.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^aws_eks_pod_identity_association\.cluster_pod-identity-topic-admin/)]));
  });

  it('requires egress to the brokers', () => {
    expect(() =>
      build((scope, common) => new TopicAdminJob(scope, 'topics', { cluster: common.cluster, image, kafka: { bootstrapBrokers: brokers }, egress: [] })),
    ).toThrow(/egress: must allow the MSK brokers/);
  });
});
