/**
 * Amazon Keyspaces metrics in the in-cluster Grafana: a CloudWatch data source that signs its
 * calls with a role of its own (EKS Pod Identity on Grafana's service account, read-only on
 * CloudWatch metrics), and a dashboard of throttling, latency and consumed capacity per table.
 *
 * Keyspaces publishes to CloudWatch only; nothing in the cluster can scrape it. Both the data
 * source and the dashboard are ConfigMaps that Grafana's sidecars provision.
 */
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { Release } from '@cdktf/provider-helm/lib/release';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { dependable } from 'cdktf';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { MetricEditorMode, MetricQueryType, MetricsQueryBuilder, QueryMode } from '@grafana/grafana-foundation-sdk/cloudwatch';
import { Dashboard, DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { AddonName, GRAFANA_SERVICE_ACCOUNT } from '../addons';
import { AwsContext } from '../aws-context';
import { escapeTerraformTemplate } from '../cluster-addons';
import { grant, PolicyStatement } from '../iam';
import { PodIdentityHost, podIdentityDependencies } from '../kubernetes';

/**
 * What the data source calls to draw metric panels: GetMetricData for the queries, ListMetrics
 * for the query editor's pickers and search expressions, GetMetricStatistics for older queries.
 * None of them supports resource-level permissions or condition keys that name a metric, so they
 * are allowed on `*`: this is how CloudWatch read access works. Nothing here writes, and nothing
 * reads logs, alarms or other services (AWS's AmazonGrafanaCloudWatchAccess grants all of those).
 */
export const GRAFANA_CLOUDWATCH_READ_ACTIONS = ['cloudwatch:GetMetricData', 'cloudwatch:GetMetricStatistics', 'cloudwatch:ListMetrics'] as const;

export const GRAFANA_CLOUDWATCH_STATEMENTS: readonly PolicyStatement[] = [
  { Sid: 'ReadCloudWatchMetrics', Effect: 'Allow', Action: [...GRAFANA_CLOUDWATCH_READ_ACTIONS], Resource: '*' },
];

/** Stable uid of the data source: the dashboard names it instead of a variable. */
export const CLOUDWATCH_DATASOURCE_UID = 'sdp-cloudwatch';
const CLOUDWATCH = { type: 'cloudwatch', uid: CLOUDWATCH_DATASOURCE_UID };

/**
 * The data source as a Grafana provisioning file. `authType: default` is the AWS SDK's default
 * credential chain, which picks up the Pod Identity credentials EKS injects into Grafana's pods.
 */
export function cloudWatchDatasource(region: string): Record<string, unknown> {
  return {
    apiVersion: 1,
    datasources: [
      {
        name: 'CloudWatch',
        type: 'cloudwatch',
        uid: CLOUDWATCH_DATASOURCE_UID,
        access: 'proxy',
        // Provisioned from git: the UI must not drift from it.
        editable: false,
        jsonData: { authType: 'default', defaultRegion: region },
      },
    ],
  };
}

export interface KeyspacesDashboardConfig {
  readonly keyspaceName: string;
  readonly tableNames: readonly string[];
  /** Stable uid, so links and bookmarks survive redeploys. @default 'sdp-keyspaces' */
  readonly uid?: string;
  /** @default 'Streaming data platform / Keyspaces' */
  readonly title?: string;
}

/** How often the dashboard re-queries CloudWatch: each refresh is billed per metric (README, "What runs in the cluster"). */
export const KEYSPACES_DASHBOARD_REFRESH = '5m';

interface CloudWatchMetric {
  readonly metricName: string;
  readonly statistic: string;
  /** Legend; `${PROP('Dim.Operation')}` is CloudWatch's dynamic label for the operation. */
  readonly label: string;
}

const PANEL_HEIGHT = 8;
const PANEL_WIDTH = 8;

function metricsPanel(
  keyspace: string,
  table: string,
  title: string,
  description: string,
  unit: string,
  metrics: readonly CloudWatchMetric[],
  x: number,
  y: number,
) {
  const p = new PanelBuilder()
    .title(`${table}: ${title}`)
    .description(description)
    .datasource(CLOUDWATCH)
    .unit(unit)
    .min(0)
    .gridPos({ x, y, w: PANEL_WIDTH, h: PANEL_HEIGHT });
  metrics.forEach((m, i) =>
    p.withTarget(
      new MetricsQueryBuilder()
        .datasource(CLOUDWATCH)
        .queryMode(QueryMode.Metrics)
        .metricQueryType(MetricQueryType.Search)
        .metricEditorMode(MetricEditorMode.Builder)
        .region('default')
        .namespace('AWS/Cassandra')
        .metricName(m.metricName)
        // Not exact: the throttle and latency metrics also have an Operation dimension, one series each.
        .dimensions({ Keyspace: keyspace, TableName: table })
        .matchExact(false)
        .statistic(m.statistic)
        .label(m.label)
        .id('')
        .refId(String.fromCharCode(65 + i)),
    ),
  );
  return p;
}

const byOperation = (name: string) => `${name} \${PROP('Dim.Operation')}`;

/** Per table of the keyspace, a row: throttling, latency and consumed capacity. */
export function keyspacesDashboard(config: KeyspacesDashboardConfig): Dashboard {
  if (config.tableNames.length === 0) throw new Error(`keyspacesDashboard: keyspace '${config.keyspaceName}' has no tables to show`);
  const ks = config.keyspaceName;
  const builder = new DashboardBuilder(config.title ?? 'Streaming data platform / Keyspaces')
    .uid(config.uid ?? 'sdp-keyspaces')
    .tags(['sdp', 'keyspaces', 'cloudwatch', 'generated'])
    .readonly()
    .refresh(KEYSPACES_DASHBOARD_REFRESH)
    .time({ from: 'now-6h', to: 'now' })
    .timezone('utc');
  config.tableNames.forEach((table, i) => {
    const y = i * (PANEL_HEIGHT + 1);
    builder.withRow(new RowBuilder(`${ks}.${table}`).gridPos({ x: 0, y, w: 24, h: 1 }));
    builder
      .withPanel(
        metricsPanel(
          ks,
          table,
          'throttling',
          'Requests Keyspaces rejected per period: over the table capacity (read/write throttles), or over what one storage partition serves (a hot partition key). The sinks retry them.',
          'short',
          [
            { metricName: 'ReadThrottleEvents', statistic: 'Sum', label: byOperation('read throttles') },
            { metricName: 'WriteThrottleEvents', statistic: 'Sum', label: byOperation('write throttles') },
            { metricName: 'StoragePartitionThroughputCapacityExceeded', statistic: 'Sum', label: byOperation('partition capacity exceeded') },
          ],
          0,
          y + 1,
        ),
      )
      .withPanel(
        metricsPanel(
          ks,
          table,
          'latency',
          'Server-side latency of successful requests, per operation: average and 99th percentile.',
          'ms',
          [
            { metricName: 'SuccessfulRequestLatency', statistic: 'Average', label: byOperation('avg') },
            { metricName: 'SuccessfulRequestLatency', statistic: 'p99', label: byOperation('p99') },
          ],
          PANEL_WIDTH,
          y + 1,
        ),
      )
      .withPanel(
        metricsPanel(
          ks,
          table,
          'consumed capacity',
          'Read and write capacity units consumed per period (on-demand: request units billed).',
          'short',
          [
            { metricName: 'ConsumedReadCapacityUnits', statistic: 'Sum', label: 'read units' },
            { metricName: 'ConsumedWriteCapacityUnits', statistic: 'Sum', label: 'write units' },
          ],
          2 * PANEL_WIDTH,
          y + 1,
        ),
      );
  });
  return builder.build();
}

/** What the construct needs of the add-ons: where Grafana runs and the release that starts it. */
export interface GrafanaHost {
  readonly monitoringNamespace: string;
  readonly releases: Readonly<Pick<Record<AddonName, Release>, 'kube-prometheus-stack'>>;
}

export interface KeyspacesMetricsProps {
  readonly cluster: PodIdentityHost;
  readonly addons: GrafanaHost;
  readonly keyspace: { readonly keyspaceName: string; readonly tableNames: readonly string[] };
  /** Region of the keyspace. @default the stack's region */
  readonly region?: string;
}

/**
 * The Grafana role (CloudWatch metrics, read-only), the CloudWatch data source and the Keyspaces
 * dashboard, in the monitoring namespace.
 */
export class KeyspacesMetrics extends Construct {
  readonly role: IamRole;
  readonly datasource: ConfigMapV1;
  readonly dashboard: ConfigMapV1;

  constructor(scope: Construct, id: string, props: KeyspacesMetricsProps) {
    super(scope, id);
    const ns = props.addons.monitoringNamespace;
    const labels = { 'app.kubernetes.io/part-of': 'streaming-data-platform' };

    this.role = props.cluster.addPodIdentityRole('grafana-cloudwatch', ns, GRAFANA_SERVICE_ACCOUNT);
    const policy = grant(this, this.role, 'read-cloudwatch-metrics', GRAFANA_CLOUDWATCH_STATEMENTS);
    // EKS injects Pod Identity credentials when a pod is admitted: Grafana's pods must be created
    // after the association (and the policy, or the first queries are denied).
    const release = props.addons.releases['kube-prometheus-stack'];
    release.dependsOn = [...(release.dependsOn ?? []), ...[...podIdentityDependencies(this.role), policy].map((d) => dependable(d))];

    this.datasource = new ConfigMapV1(this, 'datasource', {
      metadata: {
        name: 'sdp-cloudwatch-datasource',
        namespace: ns,
        // The label the Grafana datasource sidecar watches (helm-values/kube-prometheus-stack.yaml).
        labels: { ...labels, grafana_datasource: '1' },
      },
      data: { 'sdp-cloudwatch.yaml': stringify(cloudWatchDatasource(props.region ?? AwsContext.of(this).region)) },
    });

    this.dashboard = new ConfigMapV1(this, 'dashboard', {
      metadata: { name: 'sdp-keyspaces-dashboard', namespace: ns, labels: { ...labels, grafana_dashboard: '1' } },
      data: { 'sdp-keyspaces.json': escapeTerraformTemplate(JSON.stringify(keyspacesDashboard(props.keyspace), null, 2)) },
    });
  }
}
