import { parse } from 'yaml';
import { ClusterAddon, installAddon, METRICS_SERVER_CHART } from '../../../constructs/addons';
import { FakeCluster, synth, testStack } from './support';

const addon = (overrides: Partial<ClusterAddon> = {}): ClusterAddon => ({
  name: 'metrics-server',
  chart: METRICS_SERVER_CHART,
  namespace: 'kube-system',
  values: { replicas: 2, args: ['--typed'] },
  ...overrides,
});

describe('installAddon (the add-on contract)', () => {
  it('installs the pinned chart atomically, with base values, then typed values, then raw values', () => {
    const stack = testStack();
    installAddon(stack, new FakeCluster(stack, 'cluster'), addon(), { args: ['--raw'] });
    const [release] = Object.values(synth(stack).resource.helm_release);
    expect(release).toMatchObject({
      name: 'metrics-server',
      namespace: 'kube-system',
      ...METRICS_SERVER_CHART,
      atomic: true,
      cleanup_on_fail: true,
      timeout: 600,
    });
    const values = parse(release.values[0]);
    expect(values.replicas).toBe(2);
    expect(values.args).toEqual(['--raw']);
    expect(release.depends_on).toBeUndefined();
  });

  it('with Pod Identity needs: a role for exactly that service account, its one policy, and a release that waits for both', () => {
    const stack = testStack();
    const cluster = new FakeCluster(stack, 'cluster');
    const statements = [{ Sid: 'Read', Effect: 'Allow' as const, Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }];
    const { role } = installAddon(
      stack,
      cluster,
      addon({ podIdentity: { roleId: 'ms', serviceAccount: 'metrics-server', policy: { name: 'read', statements } } }),
    );
    expect(cluster.requested).toEqual([{ id: 'ms', namespace: 'kube-system', serviceAccount: 'metrics-server' }]);
    const r = synth(stack).resource;
    const [policyKey, policy] = Object.entries(r.aws_iam_role_policy)[0];
    expect(JSON.parse(policy.policy).Statement).toEqual(statements);
    expect(policy.role).toBe(`\${aws_iam_role.${role!.friendlyUniqueId}.name}`);
    const [release] = Object.values(r.helm_release);
    expect(release.depends_on).toEqual(
      expect.arrayContaining([
        `aws_iam_role.${role!.friendlyUniqueId}`,
        expect.stringMatching(/^aws_eks_pod_identity_association\./),
        `aws_iam_role_policy.${policyKey}`,
      ]),
    );
  });
});
