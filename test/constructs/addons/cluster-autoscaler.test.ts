import { CLUSTER_AUTOSCALER_IMAGE_TAGS, clusterAutoscaler } from '../../../constructs/addons';
import { testStack } from './support';

describe('cluster-autoscaler add-on', () => {
  it('runs the image of the cluster minor version', () => {
    for (const [version, tag] of Object.entries(CLUSTER_AUTOSCALER_IMAGE_TAGS)) {
      expect((clusterAutoscaler(testStack(), { clusterName: 'c', kubernetesVersion: version }).values.image as any).tag).toBe(tag);
    }
    expect(() => clusterAutoscaler(testStack(), { clusterName: 'c', kubernetesVersion: '1.20' })).toThrow(/test: kubernetesVersion '1\.20' has no pinned/);
  });

  it('may resize only groups tagged as its own cluster, and uses wildcards only on read-only calls', () => {
    const { statements } = clusterAutoscaler(testStack(), { clusterName: 'sdp-x', kubernetesVersion: '1.33' }).podIdentity!.policy!;
    const resize = statements.find((s) => s.Sid === 'ResizeOwnNodeGroups')!;
    expect(resize.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/k8s.io/cluster-autoscaler/sdp-x': 'owned' } });
    for (const s of statements.filter((x) => x.Resource === '*')) {
      expect([s.Action].flat().every((a) => /:(Describe|Get)/.test(a))).toBe(true);
    }
  });
});
