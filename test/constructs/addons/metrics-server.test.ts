import { metricsServer } from '../../../constructs/addons';

describe('metrics-server add-on', () => {
  it('runs in kube-system without an AWS identity; a disruption budget only with a replica to spare', () => {
    const one = metricsServer({});
    expect(one.podIdentity).toBeUndefined();
    expect(one).toMatchObject({ namespace: 'kube-system', values: { replicas: 1, podDisruptionBudget: { enabled: false } } });
    expect(metricsServer({ replicas: 2 }).values.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: 1 });
  });
});
