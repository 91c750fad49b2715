/**
 * The MSK brokers in the in-cluster Prometheus: scrape configs for the open-monitoring exporters
 * (JMX on 11001, node on 11002, plain HTTP inside the VPC) and a broker dashboard built with the
 * Grafana Foundation SDK like the pipeline's.
 *
 * Targets are static: MSK names its brokers `b-1` to `b-<brokerCount>` under one cluster domain,
 * which Terraform reads from the bootstrap broker string at apply time, so the scrape works on
 * the first deploy and follows a change of broker count on the next one.
 */
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { Fn, TerraformLocal } from 'cdktf';
import { Construct } from 'constructs';
import { Dashboard, DashboardBuilder, DatasourceVariableBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { escapeTerraformTemplate, PlatformAddons } from '../cluster-addons';
import { MSK_OPEN_MONITORING_PORTS } from '../kafka-cluster';
import { panel, query } from './pipeline-dashboard';

export interface MskScrapeProps {
  /** Any of the cluster's bootstrap broker strings (`b-1.<domain>:9098,...`). */
  readonly bootstrapBrokers: string;
  readonly brokerCount: number;
  /** Value of the `cluster` label on every series, e.g. the MSK cluster name. */
  readonly clusterName: string;
}

/** Job names of the two exporters; the dashboard selects on them. */
export const MSK_SCRAPE_JOBS = { jmxExporter: 'msk-jmx', nodeExporter: 'msk-node' } as const;

/**
 * Prometheus `additionalScrapeConfigs` for the brokers (kube-prometheus-stack values). Creates a
 * Terraform local with the brokers' domain in `scope`.
 */
export function mskScrapeConfigs(scope: Construct, props: MskScrapeProps): Record<string, unknown>[] {
  if (!Number.isInteger(props.brokerCount) || props.brokerCount < 1)
    throw new Error(`mskScrapeConfigs: brokerCount (${props.brokerCount}) must be a positive integer`);
  // A local keeps the quoted regex out of the YAML the reference ends up in.
  const domain = new TerraformLocal(scope, 'msk_broker_domain', Fn.element(Fn.regex('^b-[0-9]+[.]([^:,]+)', props.bootstrapBrokers), 0)).asString;
  const hosts = Array.from({ length: props.brokerCount }, (_, i) => `b-${i + 1}.${domain}`);
  return (Object.keys(MSK_SCRAPE_JOBS) as (keyof typeof MSK_SCRAPE_JOBS)[]).map((exporter) => ({
    job_name: MSK_SCRAPE_JOBS[exporter],
    scheme: 'http',
    scrape_interval: '60s',
    static_configs: [{ targets: hosts.map((h) => `${h}:${MSK_OPEN_MONITORING_PORTS[exporter]}`), labels: { cluster: props.clusterName } }],
    // `broker` = MSK's broker id, from the host name.
    relabel_configs: [{ source_labels: ['__address__'], regex: 'b-([0-9]+)[.].*', target_label: 'broker', replacement: '$1' }],
  }));
}

const JMX = `job="${MSK_SCRAPE_JOBS.jmxExporter}"`;

export function kafkaBrokerDashboard(config: { readonly uid?: string; readonly title?: string } = {}): Dashboard {
  const panels = [
    panel(
      'Under-replicated partitions',
      'Partitions with fewer in-sync replicas than replicas, per broker. Anything above 0 for minutes means a slow or lost broker.',
      'short',
      [
        query(`sum by (broker) (kafka_server_ReplicaManager_Value{${JMX}, name="UnderReplicatedPartitions"})`, 'broker {{broker}}'),
        query(`sum(kafka_controller_KafkaController_Value{${JMX}, name="OfflinePartitionsCount"})`, 'offline partitions'),
      ],
      0,
    ),
    panel(
      'ISR shrinks and expands',
      'In-sync replica set changes per second, per broker; steady shrinks mean followers cannot keep up.',
      'short',
      [
        query(`sum by (broker) (rate(kafka_server_ReplicaManager_Count{${JMX}, name="IsrShrinksPerSec"}[$__rate_interval]))`, 'shrinks, broker {{broker}}'),
        query(`sum by (broker) (rate(kafka_server_ReplicaManager_Count{${JMX}, name="IsrExpandsPerSec"}[$__rate_interval]))`, 'expands, broker {{broker}}'),
      ],
      1,
    ),
    panel(
      'Request latency p99',
      'Total time of produce and fetch requests on the broker, 99th percentile.',
      'ms',
      [
        query(
          `max by (request) (kafka_network_RequestMetrics_99thPercentile{${JMX}, name="TotalTimeMs", request=~"Produce|FetchConsumer|FetchFollower"})`,
          '{{request}}',
        ),
      ],
      2,
    ),
    panel(
      'Request latency mean',
      'Mean total time of produce and fetch requests, per broker.',
      'ms',
      [
        query(
          `avg by (broker, request) (kafka_network_RequestMetrics_Mean{${JMX}, name="TotalTimeMs", request=~"Produce|FetchConsumer"})`,
          '{{request}}, broker {{broker}}',
        ),
      ],
      3,
    ),
    panel(
      'Bytes in per topic',
      'Bytes produced per second, per topic, summed over brokers.',
      'Bps',
      [query(`sum by (topic) (rate(kafka_server_BrokerTopicMetrics_Count{${JMX}, name="BytesInPerSec", topic!=""}[$__rate_interval]))`, '{{topic}}')],
      4,
    ),
    panel(
      'Bytes out per topic',
      'Bytes fetched per second by consumers and followers, per topic.',
      'Bps',
      [query(`sum by (topic) (rate(kafka_server_BrokerTopicMetrics_Count{${JMX}, name="BytesOutPerSec", topic!=""}[$__rate_interval]))`, '{{topic}}')],
      5,
    ),
  ];
  const builder = new DashboardBuilder(config.title ?? 'Streaming data platform / Kafka brokers')
    .uid(config.uid ?? 'sdp-kafka-brokers')
    .tags(['sdp', 'kafka', 'generated'])
    .readonly()
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('utc')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'));
  for (const p of panels) builder.withPanel(p);
  return builder.build();
}

export interface KafkaBrokerDashboardProps {
  readonly addons: PlatformAddons;
}

/** The broker dashboard as a ConfigMap the Grafana sidecar provisions. */
export class KafkaBrokerDashboard extends Construct {
  readonly configMap: ConfigMapV1;

  constructor(scope: Construct, id: string, props: KafkaBrokerDashboardProps) {
    super(scope, id);
    this.configMap = new ConfigMapV1(this, 'dashboard', {
      metadata: {
        name: 'sdp-kafka-brokers-dashboard',
        namespace: props.addons.monitoringNamespace,
        labels: { 'app.kubernetes.io/part-of': 'streaming-data-platform', grafana_dashboard: '1' },
      },
      data: { 'sdp-kafka-brokers.json': escapeTerraformTemplate(JSON.stringify(kafkaBrokerDashboard(), null, 2)) },
    });
  }
}
