import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { Construct } from 'constructs';

export type PodSecurityLevel = 'restricted' | 'baseline' | 'privileged';

/** A namespace with all three Pod Security Admission modes set to `level`. */
export function namespace(scope: Construct, id: string, name: string, level: PodSecurityLevel, labels: Record<string, string> = {}): NamespaceV1 {
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
