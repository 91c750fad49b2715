import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { Construct } from 'constructs';
import { CustomResources, escapeTerraformTemplate, PlatformAddons } from '../cluster-addons';
import { pipelineAlertRules, PipelineAlertsConfig, prometheusRuleGroups } from './pipeline-alerts';
import { pipelineDashboard } from './pipeline-dashboard';

export interface PipelineObservabilityProps extends PipelineAlertsConfig {
  readonly addons: PlatformAddons;
}

/**
 * The pipeline's alert rules (a PrometheusRule) and its Grafana dashboard (a ConfigMap the
 * Grafana sidecar provisions), both in the monitoring namespace.
 */
export class PipelineObservability extends Construct {
  readonly rules: CustomResources;
  readonly dashboard: ConfigMapV1;

  constructor(scope: Construct, id: string, props: PipelineObservabilityProps) {
    super(scope, id);
    const ns = props.addons.monitoringNamespace;
    const labels = { 'app.kubernetes.io/part-of': 'streaming-data-platform' };

    this.rules = new CustomResources(this, 'alert-rules', {
      addons: props.addons,
      namespace: ns,
      releaseName: 'sdp-pipeline-alerts',
      prometheusRules: [{ name: 'sdp-pipeline', labels, spec: { groups: prometheusRuleGroups(pipelineAlertRules(props), props.runbookBaseUrl) } }],
    });

    const dashboard = pipelineDashboard({ namespaces: props.namespaces, sinkApps: props.sinkApps });
    this.dashboard = new ConfigMapV1(this, 'dashboard', {
      metadata: {
        name: 'sdp-pipeline-dashboard',
        namespace: ns,
        // The label the kube-prometheus-stack Grafana sidecar watches (helm-values/kube-prometheus-stack.yaml).
        labels: { ...labels, grafana_dashboard: '1' },
      },
      data: { 'sdp-pipeline.json': escapeTerraformTemplate(JSON.stringify(dashboard, null, 2)) },
    });
  }
}
