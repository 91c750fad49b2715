import { ALERTMANAGER_SERVICE_ACCOUNT, kubePrometheusStack } from '../../../constructs/addons';
import { synth, testStack } from './support';

describe('kube-prometheus-stack add-on', () => {
  it('runs in a privileged monitoring namespace with no AWS identity unless alerts go to SNS', () => {
    const stack = testStack();
    const addon = kubePrometheusStack(stack, {});
    expect(addon.podIdentity).toBeUndefined();
    expect(addon.values).toMatchObject({
      prometheus: { prometheusSpec: { replicas: 1, retention: '7d' } },
      alertmanager: { serviceAccount: { name: ALERTMANAGER_SERVICE_ACCOUNT } },
    });
    const [ns] = Object.values(synth(stack).resource.kubernetes_namespace_v1);
    expect(ns.metadata.name).toBe('monitoring');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });

  it('with SNS: Alertmanager publishes to that topic only, as its own service account', () => {
    const topicArn = 'arn:aws:sns:eu-west-1:111111111111:alerts';
    const addon = kubePrometheusStack(testStack(), { alertmanager: { sns: { topicArn, kmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/k' } } });
    expect(addon.podIdentity).toMatchObject({ roleId: 'alertmanager', serviceAccount: ALERTMANAGER_SERVICE_ACCOUNT });
    expect(addon.podIdentity!.policy!.statements.map((s) => [s.Action, s.Resource])).toEqual([
      ['sns:Publish', topicArn],
      [['kms:GenerateDataKey*', 'kms:Decrypt'], 'arn:aws:kms:eu-west-1:111111111111:key/k'],
    ]);
    expect((addon.values.alertmanager as any).config.receivers[1].sns_configs[0].topic_arn).toBe(topicArn);
  });

  it('with storage: an encrypted gp3 class and a claim per replica', () => {
    const stack = testStack();
    const addon = kubePrometheusStack(stack, { prometheus: { storage: { sizeGiB: 50 } } });
    const [sc] = Object.values(synth(stack).resource.kubernetes_storage_class_v1);
    expect(sc.parameters).toEqual({ type: 'gp3', encrypted: 'true' });
    expect((addon.values.prometheus as any).prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage).toBe('50Gi');
  });
});
