import { Construct } from 'constructs';
import { namespace } from '../kubernetes';
import { ClusterAddon, HelmChart } from './contract';

export const KEDA_CHART: HelmChart = { repository: 'https://kedacore.github.io/charts', chart: 'keda', version: '2.21.1' };

export interface KedaSettings {
  /** KEDA operator replicas. @default 1 */
  readonly replicas?: number;
}

/**
 * KEDA in a `restricted` namespace. The operator gets a Pod Identity role with no policy of its
 * own: whoever scales on a consumer group grants it read access to that group.
 */
export function keda(scope: Construct, settings: KedaSettings): ClusterAddon {
  const ns = namespace(scope, 'keda-namespace', 'keda', 'restricted');
  const replicas = settings.replicas ?? 1;
  return {
    name: 'keda',
    chart: KEDA_CHART,
    namespace: ns.metadata.name,
    podIdentity: { roleId: 'keda-operator', serviceAccount: 'keda-operator' },
    values: {
      operator: { replicaCount: replicas },
      podDisruptionBudget: replicas > 1 ? { operator: { maxUnavailable: 1 } } : {},
    },
  };
}
