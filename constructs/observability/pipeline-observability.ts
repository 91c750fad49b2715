import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { Construct } from 'constructs';
import { CustomResources, escapeTerraformTemplate, PlatformAddons } from '../cluster-addons';
import { pipelineAlertRules, PipelineAlertsConfig, prometheusRuleGroups } from './pipeline-alerts';
import { pipelineDashboard } from './pipeline-dashboard';
import { sloDashboard } from './slo-dashboard';
import { sloRuleGroups } from './slo-rules';
import { platformSlos, ServiceLevelObjective } from './slos';

export interface PipelineObservabilityProps extends PipelineAlertsConfig {
  readonly addons: PlatformAddons;
  /**
   * SLOs whose recording rules, burn-rate alerts and dashboard are deployed.
   * @default platformSlos (constructs/observability/slos.ts)
   */
  readonly slos?: readonly ServiceLevelObjective[];
}

/**
 * The pipeline's alert rules and SLO rules (PrometheusRules) and its Grafana dashboards
 * (ConfigMaps the Grafana sidecar provisions), all in the monitoring namespace.
 */
export class PipelineObservability extends Construct {
  readonly rules: CustomResources;
  readonly dashboard: ConfigMapV1;
  readonly sloDashboard: ConfigMapV1;

  constructor(scope: Construct, id: string, props: PipelineObservabilityProps) {
    super(scope, id);
    const ns = props.addons.monitoringNamespace;
    const labels = { 'app.kubernetes.io/part-of': 'streaming-data-platform' };
    const slos = props.slos ?? platformSlos;

    this.rules = new CustomResources(this, 'alert-rules', {
      addons: props.addons,
      namespace: ns,
      releaseName: 'sdp-pipeline-alerts',
      prometheusRules: [
        { name: 'sdp-pipeline', labels, spec: { groups: prometheusRuleGroups(pipelineAlertRules(props), props.runbookBaseUrl) } },
        { name: 'sdp-slos', labels, spec: { groups: sloRuleGroups(slos, { runbookBaseUrl: props.runbookBaseUrl }) } },
      ],
    });

    const dashboard = (id: string, name: string, json: unknown) =>
      new ConfigMapV1(this, id, {
        metadata: {
          name: `${name}-dashboard`,
          namespace: ns,
          // The label the kube-prometheus-stack Grafana sidecar watches (helm-values/kube-prometheus-stack.yaml).
          labels: { ...labels, grafana_dashboard: '1' },
        },
        data: { [`${name}.json`]: escapeTerraformTemplate(JSON.stringify(json, null, 2)) },
      });
    this.dashboard = dashboard('dashboard', 'sdp-pipeline', pipelineDashboard({ namespaces: props.namespaces, sinkApps: props.sinkApps }));
    this.sloDashboard = dashboard('slo-dashboard', 'sdp-slos', sloDashboard(slos));
  }
}
