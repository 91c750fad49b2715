import { ClusterAddon, HelmChart } from './contract';

export const METRICS_SERVER_CHART: HelmChart = {
  repository: 'https://kubernetes-sigs.github.io/metrics-server',
  chart: 'metrics-server',
  version: '3.13.0',
};

export interface MetricsServerSettings {
  /** @default 1 */
  readonly replicas?: number;
}

/** metrics-server in kube-system; a PodDisruptionBudget only when there is a replica to spare. */
export function metricsServer(settings: MetricsServerSettings): ClusterAddon {
  const replicas = settings.replicas ?? 1;
  return {
    name: 'metrics-server',
    chart: METRICS_SERVER_CHART,
    namespace: 'kube-system',
    values: { replicas, podDisruptionBudget: { enabled: replicas > 1, maxUnavailable: 1 } },
  };
}
