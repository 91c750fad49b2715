import { keda } from '../../../constructs/addons';
import { synth, testStack } from './support';

describe('keda add-on', () => {
  it('runs in a restricted namespace, with an operator role that has no policy of its own', () => {
    const stack = testStack();
    const addon = keda(stack, {});
    expect(addon.podIdentity).toEqual({ roleId: 'keda-operator', serviceAccount: 'keda-operator' });
    const [ns] = Object.values(synth(stack).resource.kubernetes_namespace_v1);
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('adds a disruption budget only when a second replica can take over', () => {
    expect(keda(testStack(), {}).values.podDisruptionBudget).toEqual({});
    expect(keda(testStack(), { replicas: 2 }).values).toMatchObject({
      operator: { replicaCount: 2 },
      podDisruptionBudget: { operator: { maxUnavailable: 1 } },
    });
  });
});
