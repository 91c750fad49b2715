import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EksPodIdentityAssociation } from '@cdktf/provider-aws/lib/eks-pod-identity-association';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { TerraformStack, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { parse, parseAllDocuments } from 'yaml';
import { prod as prodConfig } from '../../config/environments';
import { validateEnvironment } from '../../config/validate';
import {
  ADDON_CHARTS,
  CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS,
  ClusterAddons,
  ClusterAddonsProps,
  deepMerge,
  PodIdentityHost,
  repoPath,
  toHelmValues,
} from '../../constructs/cluster-addons';
import { addonSettingsFor } from '../../stacks/pipeline-workloads';
import { configureKubernetesProviders } from '../../constructs/kubernetes-providers';
import { StreamApp } from '../../constructs/stream-app';

class FakeCluster extends Construct implements PodIdentityHost {
  readonly clusterName = 'sdp-test';
  addPodIdentityRole(id: string, namespace: string, serviceAccount: string): IamRole {
    const scope = new Construct(this, `pod-identity-${id}`);
    const role = new IamRole(scope, 'role', { name: `sdp-test-${id}`, assumeRolePolicy: '{}' });
    new EksPodIdentityAssociation(scope, 'association', { clusterName: this.clusterName, namespace, serviceAccount, roleArn: role.arn });
    return role;
  }
}

type Synth = { resource: Record<string, Record<string, any>>; provider?: Record<string, any[]> };

function synthAddons(props: Partial<ClusterAddonsProps> = {}, withApp = false): Synth {
  const stack = new TerraformStack(Testing.app(), 'test');
  configureKubernetesProviders(stack, {
    clusterName: 'sdp-test',
    endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com',
    certificateAuthorityData: 'LS0tLS1CRUdJTg==',
    region: 'eu-west-1',
  });
  const cluster = new FakeCluster(stack, 'cluster');
  const addons = new ClusterAddons(stack, 'addons', { cluster, kubernetesVersion: '1.33', logging: { retentionInDays: 30 }, ...props });
  if (withApp) {
    new StreamApp(stack, 'processor', {
      name: 'processor',
      cluster,
      addons,
      image: { repositoryUrl: 'repo', tag: '1' },
      httpPort: 8081,
      kafka: { bootstrapBrokers: 'b-1:9098', consumerGroup: 'telemetry-processor', scalesOn: [{ name: 'telemetry.raw.v1', partitions: 12 }] },
      egress: [{ description: 'MSK', cidrs: ['10.0.0.0/16'], ports: [9098] }],
    });
  }
  return JSON.parse(Testing.synth(stack));
}

const release = (synth: Synth, name: string) => Object.values(synth.resource.helm_release).find((r: any) => r.name === name) as any;
const valuesOf = (synth: Synth, name: string) => parse(release(synth, name).values[0]);
const policies = (synth: Synth) =>
  Object.values(synth.resource.aws_iam_role_policy ?? {}).map((p: any) => ({ name: p.name as string, role: p.role as string, doc: JSON.parse(p.policy) }));

const X_RAY_PUTS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

describe('ClusterAddons', () => {
  const synth = synthAddons({}, true);

  it('installs every chart at a pinned, exact version from its repository', () => {
    const releases = Object.values(synth.resource.helm_release) as any[];
    expect(releases.map((r) => r.name).sort()).toEqual(
      ['aws-for-fluent-bit', 'cluster-autoscaler', 'keda', 'kube-prometheus-stack', 'metrics-server', 'opentelemetry-collector', 'processor-resources'].sort(),
    );
    for (const r of releases) {
      expect(r.version).toMatch(/^\d+\.\d+\.\d+$/);
      if (!r.chart.startsWith('assets/')) {
        const pinned = ADDON_CHARTS[r.name as keyof typeof ADDON_CHARTS];
        expect(r).toMatchObject({ chart: pinned.chart, version: pinned.version, repository: pinned.repository, atomic: true });
        expect(r.repository).toMatch(/^https:\/\//);
      }
    }
  });

  it('merges helm-values/<addon>.yaml with the typed settings', () => {
    const kps = valuesOf(synth, 'kube-prometheus-stack');
    // From the file:
    expect(kps.prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues).toBe(false);
    expect(kps.kubeEtcd.enabled).toBe(false);
    expect(kps.grafana.sidecar.dashboards).toMatchObject({ enabled: true, label: 'grafana_dashboard', labelValue: '1' });
    // Typed defaults:
    expect(kps.prometheus.prometheusSpec).toMatchObject({ replicas: 1, retention: '7d' });
    expect(kps.prometheus.prometheusSpec.storageSpec).toBeUndefined();
    expect(valuesOf(synth, 'cluster-autoscaler')).toMatchObject({
      autoDiscovery: { clusterName: 'sdp-test' },
      image: { tag: 'v1.33.3' },
      rbac: { serviceAccount: { name: 'cluster-autoscaler' } },
      extraArgs: { expander: 'least-waste' },
    });
    expect(valuesOf(synth, 'aws-for-fluent-bit').cloudWatchLogs).toMatchObject({ enabled: true, autoCreateGroup: false, logGroupTemplate: '' });
  });

  it('applies per-environment overrides and raw values last', () => {
    const prod = synthAddons({
      ...addonSettingsFor(validateEnvironment(prodConfig)),
      values: { 'metrics-server': { args: ['--kubelet-insecure-tls=false'] } },
    });
    const kps = valuesOf(prod, 'kube-prometheus-stack');
    expect(kps.prometheus.prometheusSpec).toMatchObject({ replicas: 2, retention: '15d' });
    expect(kps.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage).toBe('100Gi');
    expect(kps.alertmanager.alertmanagerSpec.replicas).toBe(2);
    expect(Object.values(prod.resource.kubernetes_storage_class_v1)[0]).toMatchObject({
      storage_provisioner: 'ebs.csi.aws.com',
      parameters: { encrypted: 'true', type: 'gp3' },
    });
    const ms = valuesOf(prod, 'metrics-server');
    expect(ms).toMatchObject({ replicas: 2, podDisruptionBudget: { enabled: true }, args: ['--kubelet-insecure-tls=false'] });
    const logGroup = Object.values(prod.resource.aws_cloudwatch_log_group)[0] as any;
    expect(logGroup.retention_in_days).toBe(validateEnvironment(prodConfig).kubernetes.controlPlaneLogRetentionDays);
  });

  it('never ships Grafana with the chart default admin password', () => {
    expect(valuesOf(synth, 'kube-prometheus-stack').grafana.adminPassword).toBe('');
    expect(JSON.stringify(synth)).not.toContain('prom-operator');
  });

  it('labels the add-on namespaces for Pod Security Admission', () => {
    const ns = (name: string) => (Object.values(synth.resource.kubernetes_namespace_v1) as any[]).find((n) => n.metadata.name === name).metadata.labels;
    expect(ns('keda')['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(ns('monitoring')['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(ns('logging')['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });

  it('encrypts the container log group with a CMK and lets Fluent Bit write only to it', () => {
    const logGroup = Object.values(synth.resource.aws_cloudwatch_log_group)[0] as any;
    expect(logGroup.name).toBe('/aws/eks/sdp-test/containers');
    expect(logGroup.kms_key_id).toMatch(/^\$\{aws_kms_key\./);
    const fluentBit = policies(synth).find((p) => p.name === 'write-container-logs')!;
    expect(fluentBit.doc.Statement).toEqual([
      {
        Sid: 'WriteContainerLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [expect.stringMatching(/^\$\{aws_cloudwatch_log_group\.addons_container-logs_\w+\.arn\}$/), expect.stringMatching(/\.arn\}:log-stream:\*$/)],
      },
    ]);
  });

  it('limits cluster-autoscaler to resizing the Auto Scaling groups of its own cluster', () => {
    const ca = policies(synth).find((p) => p.name === 'scale-node-groups')!;
    const [resize, discover, nodegroups] = ca.doc.Statement;
    expect(resize.Action).toEqual(['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup']);
    expect(resize.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/k8s.io/cluster-autoscaler/sdp-test': 'owned' } });
    expect(resize.Resource).toMatch(/:autoscaling:.*:autoScalingGroup:\*:autoScalingGroupName\/\*$/);
    expect(discover.Resource).toBe('*');
    expect(discover.Action.every((a: string) => /^(autoscaling|ec2):(Describe|Get)/.test(a))).toBe(true);
    expect(discover.Action).toEqual([...CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS]);
    expect(nodegroups).toMatchObject({ Action: 'eks:DescribeNodegroup', Resource: expect.stringMatching(/:nodegroup\/sdp-test\/\*\/\*$/) });
  });

  it('grants nothing with a wildcard resource except read-only calls that have no resource-level permissions', () => {
    const prod = synthAddons({
      monitoring: {
        alertmanager: { sns: { topicArn: 'arn:aws:sns:eu-west-1:123456789012:sdp-alerts', kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abc' } },
      },
    });
    const all = policies(prod).flatMap((p) => p.doc.Statement);
    expect(all.length).toBeGreaterThan(0);
    for (const s of all) {
      const resources = [s.Resource].flat();
      const actions = [s.Action].flat();
      expect(actions.some((a: string) => a.endsWith('*') && !a.startsWith('kms:GenerateDataKey'))).toBe(false);
      // X-Ray's Put actions have no resource-level permissions either (the collector's role).
      if (resources.includes('*')) expect(actions.every((a: string) => /:(Describe|Get)/.test(a) || X_RAY_PUTS.includes(a))).toBe(true);
    }
  });

  it('sends alerts to SNS with a role that may publish to that topic only', () => {
    const topicArn = 'arn:aws:sns:eu-west-1:123456789012:sdp-alerts';
    const withSns = synthAddons({ monitoring: { alertmanager: { sns: { topicArn } } } });
    const am = valuesOf(withSns, 'kube-prometheus-stack').alertmanager;
    expect(am.serviceAccount.name).toBe('kube-prometheus-stack-alertmanager');
    expect(am.config.route.receiver).toBe('sns');
    expect(am.config.receivers.find((r: any) => r.name === 'sns').sns_configs[0]).toMatchObject({ topic_arn: topicArn, send_resolved: true });
    const publish = policies(withSns).find((p) => p.name === 'publish-alerts')!;
    expect(publish.doc.Statement).toEqual([{ Sid: 'PublishAlerts', Effect: 'Allow', Action: 'sns:Publish', Resource: topicArn }]);
    const association = (Object.values(withSns.resource.aws_eks_pod_identity_association) as any[]).find(
      (a) => a.service_account === 'kube-prometheus-stack-alertmanager',
    );
    expect(association).toBeDefined();
    // Without a topic there is no Alertmanager role at all.
    expect(policies(synth).some((p) => p.name === 'publish-alerts')).toBe(false);
  });

  it('starts controllers only after their Pod Identity associations exist', () => {
    for (const [name, sa] of [
      ['keda', 'keda-operator'],
      ['cluster-autoscaler', 'cluster-autoscaler'],
      ['aws-for-fluent-bit', 'fluent-bit'],
    ]) {
      expect(release(synth, name).depends_on).toEqual(
        expect.arrayContaining([expect.stringMatching(new RegExp(`^aws_eks_pod_identity_association\\.cluster_pod-identity-${sa}_`))]),
      );
    }
  });

  it('rejects a Kubernetes version without a pinned cluster-autoscaler, naming the field', () => {
    expect(() => synthAddons({ kubernetesVersion: '1.29' })).toThrow(/test\/addons: kubernetesVersion '1\.29' has no pinned cluster-autoscaler image/);
    expect(() => synthAddons({ monitoring: { prometheus: { retention: '2 weeks' } } })).toThrow(/monitoring\.prometheus\.retention/);
    expect(() => synthAddons({ scaling: { kedaReplicas: 0 } })).toThrow(/scaling\.kedaReplicas \(0\) must be a positive integer/);
  });
});

describe('configureKubernetesProviders', () => {
  it('authenticates both providers with a short-lived token from aws eks get-token', () => {
    const synth = synthAddons();
    const args = ['eks', 'get-token', '--cluster-name', 'sdp-test', '--region', 'eu-west-1', '--output', 'json'];
    const kubernetes = synth.provider!.kubernetes[0];
    expect(kubernetes.host).toBe('https://ABC.gr7.eu-west-1.eks.amazonaws.com');
    expect(kubernetes.cluster_ca_certificate).toBe('${base64decode("LS0tLS1CRUdJTg==")}');
    expect(kubernetes.exec).toEqual([{ api_version: 'client.authentication.k8s.io/v1beta1', command: 'aws', args }]);
    const helm = synth.provider!.helm[0];
    expect(helm.kubernetes).toEqual({
      host: kubernetes.host,
      cluster_ca_certificate: kubernetes.cluster_ca_certificate,
      exec: { api_version: 'client.authentication.k8s.io/v1beta1', command: 'aws', args },
    });
    expect(JSON.stringify(synth.provider)).not.toMatch(/"token"|client_key|password/);
  });
});

describe('values helpers', () => {
  it('deep-merges objects and replaces arrays', () => {
    expect(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: undefined, e: 2 })).toEqual({ a: { b: 1, c: [3] }, d: 1, e: 2 });
  });

  it('keeps a long Terraform reference one quoted YAML scalar', () => {
    const ref = `\${aws_msk_cluster.kafka_cluster_0123456789ABCDEF.bootstrap_brokers_sasl_iam}`;
    const text = toHelmValues({ brokers: `${ref},${ref},${ref}` });
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(parse(text).brokers).toBe(`${ref},${ref},${ref}`);
  });
});

// Renders the local chart with the values a StreamApp produces, when a helm binary is available.
const cacheBin = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'streaming-data-platform', 'bin');
const helm = [process.env.HELM, join(cacheBin, 'helm'), join(homedir(), 'go/bin/helm'), '/usr/local/bin/helm', '/usr/bin/helm'].find((p) => p && existsSync(p));
(helm ? describe : describe.skip)('charts/stream-app-resources (helm template)', () => {
  const template = (values: string) => {
    const file = join(mkdtempSync(join(tmpdir(), 'chart-')), 'values.yaml');
    writeFileSync(file, values);
    return spawnSync(helm!, ['template', 'r', repoPath('charts/stream-app-resources'), '-n', 'processor', '--kube-version', '1.33', '-f', file], {
      encoding: 'utf8',
    });
  };

  it('renders the ServiceMonitor, ScaledObject and TriggerAuthentication of a consumer', () => {
    const synth = synthAddons({}, true);
    const values = release(synth, 'processor-resources').values[0].replace(/\$\{[^}]+\}/g, 'resolved');
    const out = template(values);
    expect(out.stderr).toBe('');
    const docs = parseAllDocuments(out.stdout)
      .map((d) => d.toJS())
      .filter(Boolean);
    expect(docs.map((d) => d.kind).sort()).toEqual(['ScaledObject', 'ServiceMonitor', 'TriggerAuthentication']);
    for (const d of docs)
      expect(d.metadata).toMatchObject({ namespace: 'processor', labels: { 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/name': 'processor' } });
  });

  it('rejects values that do not match the chart schema', () => {
    const out = template('serviceMonitors:\n  - name: Bad_Name\n    spec: {}\nconfigMaps: []\n');
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/serviceMonitors\.0\.name|Additional property configMaps/);
  });
});
