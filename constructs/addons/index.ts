/** Cluster add-ons, one file each, behind one contract (`contract.ts`). */
import { AddonName, HelmChart } from './contract';
import { AWS_FOR_FLUENT_BIT_CHART } from './aws-for-fluent-bit';
import { CLUSTER_AUTOSCALER_CHART } from './cluster-autoscaler';
import { KEDA_CHART } from './keda';
import { KUBE_PROMETHEUS_STACK_CHART } from './kube-prometheus-stack';
import { METRICS_SERVER_CHART } from './metrics-server';
import { OPENTELEMETRY_COLLECTOR_CHART } from './opentelemetry-collector';

export * from './contract';
export * from './aws-for-fluent-bit';
export * from './cluster-autoscaler';
export * from './keda';
export * from './kube-prometheus-stack';
export * from './metrics-server';
export * from './opentelemetry-collector';

/** Pinned charts. Bump deliberately, read the chart's upgrade notes (CRDs!), and run a plan. */
export const ADDON_CHARTS: Readonly<Record<AddonName, HelmChart>> = {
  'kube-prometheus-stack': KUBE_PROMETHEUS_STACK_CHART,
  keda: KEDA_CHART,
  'metrics-server': METRICS_SERVER_CHART,
  'cluster-autoscaler': CLUSTER_AUTOSCALER_CHART,
  'aws-for-fluent-bit': AWS_FOR_FLUENT_BIT_CHART,
  'opentelemetry-collector': OPENTELEMETRY_COLLECTOR_CHART,
};
