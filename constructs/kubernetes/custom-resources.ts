import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Release } from '@cdktf/provider-helm/lib/release';
import { AssetType, ITerraformDependable, TerraformAsset, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { parse } from 'yaml';
import { repoPath, toHelmValues } from './helm-values';

/** What custom resources (ServiceMonitor, ScaledObject, ...) need from the add-ons. */
export interface PlatformAddons {
  /** Namespace of Prometheus, Alertmanager and Grafana. */
  readonly monitoringNamespace: string;
  /** Releases that install the CRDs of ServiceMonitor, PrometheusRule, ScaledObject and TriggerAuthentication. */
  readonly customResourceDependencies: readonly ITerraformDependable[];
}

export interface CustomResource {
  /** Object name (DNS label). */
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly spec: Record<string, unknown>;
}

export interface CustomResourcesProps {
  readonly addons: PlatformAddons;
  readonly namespace: string;
  /** Helm release name, unique in the namespace. */
  readonly releaseName: string;
  readonly serviceMonitors?: readonly CustomResource[];
  readonly scaledObjects?: readonly CustomResource[];
  readonly triggerAuthentications?: readonly CustomResource[];
  readonly prometheusRules?: readonly CustomResource[];
  /** More resources that must exist first, e.g. the namespace. */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * Custom resources whose CRDs the add-ons install in the same deploy. `kubernetes_manifest`
 * would need the CRDs at plan time and break a first deploy into an empty account, so they are
 * rendered by Helm at apply time from the local chart `charts/stream-app-resources`.
 */
export class CustomResources extends Construct {
  readonly release: Release;
  /** The chart values, as the release receives them. */
  readonly values: {
    readonly serviceMonitors: readonly CustomResource[];
    readonly scaledObjects: readonly CustomResource[];
    readonly triggerAuthentications: readonly CustomResource[];
    readonly prometheusRules: readonly CustomResource[];
  };

  constructor(scope: Construct, id: string, props: CustomResourcesProps) {
    super(scope, id);
    this.values = {
      serviceMonitors: props.serviceMonitors ?? [],
      scaledObjects: props.scaledObjects ?? [],
      triggerAuthentications: props.triggerAuthentications ?? [],
      prometheusRules: props.prometheusRules ?? [],
    };
    const chart = localChart(this);
    this.release = new Release(this, 'release', {
      name: props.releaseName,
      namespace: props.namespace,
      // The asset path contains a hash of the chart, so any change to a template upgrades the release.
      chart: chart.path,
      version: chart.version,
      values: [toHelmValues(this.values)],
      // Values are checked against the chart's values.schema.json at plan time.
      lint: true,
      atomic: true,
      cleanupOnFail: true,
      maxHistory: 5,
      timeout: 300,
      dependsOn: [...props.addons.customResourceDependencies, ...(props.dependsOn ?? [])],
    });
  }
}

const CHART_DIR = 'charts/stream-app-resources';

/** The chart directory is staged once per stack as an asset, so Terraform finds it wherever it runs. */
function localChart(scope: Construct): { path: string; version: string } {
  const stack = TerraformStack.of(scope);
  const id = 'stream-app-resources-chart';
  const dir = repoPath(CHART_DIR);
  const asset = (stack.node.tryFindChild(id) as TerraformAsset | undefined) ?? new TerraformAsset(stack, id, { path: dir, type: AssetType.DIRECTORY });
  const version = String(parse(readFileSync(join(dir, 'Chart.yaml'), 'utf8')).version);
  return { path: asset.path, version };
}
