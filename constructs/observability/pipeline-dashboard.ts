/**
 * The pipeline's Grafana dashboard as code, built with the Grafana Foundation SDK (schema of
 * Grafana 12, which kube-prometheus-stack ships). Provisioned by the Grafana sidecar from a
 * ConfigMap (see PipelineObservability), so it is read-only in the UI and reviewed in git.
 */
import { LegendDisplayMode, LegendPlacement, VizLegendOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { Dashboard, DashboardBuilder, DatasourceVariableBuilder, QueryVariableBuilder, VariableRefresh } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { DEFAULT_SINK_APPS } from './pipeline-alerts';

export interface PipelineDashboardConfig {
  /** Namespaces of the pipeline's pods, for the restarts panel. */
  readonly namespaces: readonly string[];
  /**
   * Apps that write to a sink, for the sink-errors panel.
   * @default ['cassandra-sink', 'lake-sink']
   */
  readonly sinkApps?: readonly string[];
  /**
   * Stable uid, so links and bookmarks survive redeploys.
   * @default 'sdp-pipeline'
   */
  readonly uid?: string;
  /** @default 'Streaming data platform / Pipeline' */
  readonly title?: string;
}

/** The dashboard's `datasource` variable, so it works with whichever Prometheus Grafana has. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const APP = 'app=~"$app"';
const WIDTH = 12;
const HEIGHT = 8;

/** A Prometheus range query with a legend. */
export function query(expr: string, legend: string): DataqueryBuilder {
  return new DataqueryBuilder().datasource(DATASOURCE).expr(expr).legendFormat(legend).range();
}

/** A time-series panel in a two-column grid, position `index`, with a table legend. */
export function panel(title: string, description: string, unit: string, queries: DataqueryBuilder[], index: number): PanelBuilder {
  const p = new PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .min(0)
    .gridPos({ x: (index % 2) * WIDTH, y: Math.floor(index / 2) * HEIGHT, w: WIDTH, h: HEIGHT })
    .legend(
      new VizLegendOptionsBuilder().displayMode(LegendDisplayMode.Table).placement(LegendPlacement.Bottom).showLegend(true).calcs(['lastNotNull', 'max']),
    );
  queries.forEach((q, i) => p.withTarget(q.refId(String.fromCharCode(65 + i))));
  return p;
}

export function pipelineDashboard(config: PipelineDashboardConfig): Dashboard {
  const sinks = (config.sinkApps ?? DEFAULT_SINK_APPS).join('|');
  const namespaces = config.namespaces.join('|');
  const panels = [
    panel(
      'Throughput',
      'Records read and written per second, per app.',
      'short',
      [
        query(`sum by (app) (rate(sdp_records_in_total{${APP}}[$__rate_interval]))`, '{{app}} in'),
        query(`sum by (app) (rate(sdp_records_out_total{${APP}}[$__rate_interval]))`, '{{app}} out'),
      ],
      0,
    ),
    panel(
      'End-to-end latency',
      'Time from the Kafka record timestamp to the sink write.',
      's',
      [0.5, 0.95, 0.99].map((q) =>
        query(
          `histogram_quantile(${q}, sum by (app, le) (rate(sdp_end_to_end_latency_seconds_bucket{${APP}}[$__rate_interval])))`,
          `{{app}} p${Math.round(q * 100)}`,
        ),
      ),
      1,
    ),
    panel(
      'Consumer lag',
      'Records behind the end of each topic, per consumer group (one group per app), summed over partitions.',
      'short',
      [query(`sum by (app, topic) (max by (app, topic, partition) (sdp_consumer_lag{${APP}}))`, '{{app}} / {{topic}}')],
      2,
    ),
    panel(
      'Dead-letter rate',
      'Records sent to the DLQ per second, by reason.',
      'short',
      [query(`sum by (app, reason) (rate(sdp_dlq_records_total{${APP}}[$__rate_interval]))`, '{{app}}: {{reason}}')],
      3,
    ),
    panel(
      'Sink errors',
      'Failed writes to Keyspaces and S3 per second, by kind. Failed batches are retried, not committed.',
      'short',
      [query(`sum by (app, kind) (rate(sdp_errors_total{app=~"${sinks}"}[$__rate_interval]))`, '{{app}}: {{kind}}')],
      4,
    ),
    panel(
      'Pod restarts',
      'Container restarts in the pipeline namespaces over the last 10 minutes.',
      'short',
      [query(`sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{namespace=~"${namespaces}"}[10m]))`, '{{namespace}}/{{pod}}')],
      5,
    ),
  ];

  const builder = new DashboardBuilder(config.title ?? 'Streaming data platform / Pipeline')
    .uid(config.uid ?? 'sdp-pipeline')
    .tags(['sdp', 'generated'])
    .readonly()
    .refresh('30s')
    .time({ from: 'now-3h', to: 'now' })
    .timezone('utc')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('app')
        .label('App')
        .datasource(DATASOURCE)
        .query('label_values(sdp_records_in_total, app)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .multi(true)
        .includeAll(true),
    );
  for (const p of panels) builder.withPanel(p);
  return builder.build();
}
