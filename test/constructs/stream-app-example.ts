import { Construct } from 'constructs';
import { ClusterAddons, DataLake, KafkaCluster, KubernetesCluster, StreamApp } from '../../constructs';

/** An `enricher` of your own on the platform's cluster, next to (not inside) the bundled apps. */
export function addEnricher(
  scope: Construct,
  deps: { cluster: KubernetesCluster; addons: ClusterAddons; kafka: KafkaCluster; lake: DataLake; privateSubnetCidrs: string[]; imageRepositoryUrl: string },
) {
  const { cluster, addons, kafka, lake } = deps;
  const enricher = new StreamApp(scope, 'enricher', {
    name: 'enricher',
    cluster, // Pod Identity host
    addons, // KEDA, Prometheus
    image: { repositoryUrl: deps.imageRepositoryUrl, tag: 'sha-1a2b3c4' },
    command: ['node', 'dist/apps/enricher/main.js'],
    httpPort: 8090, // /metrics, /healthz, /readyz
    kafka: {
      bootstrapBrokers: kafka.bootstrapBrokersSaslIam,
      consumerGroup: 'enricher',
      scalesOn: [{ name: 'telemetry.clean.v1', partitions: 12 }],
    },
    scaling: { minReplicas: 2, maxReplicas: 12, lagThreshold: 5000 },
    egress: [
      { description: 'MSK brokers', cidrs: deps.privateSubnetCidrs, ports: [9098] },
      { description: 'S3 via the gateway endpoint', cidrs: ['0.0.0.0/0'], ports: [443] },
    ],
  });
  kafka.grantConsume(enricher.role, ['telemetry.clean.v1'], 'enricher');
  kafka.grantProduce(enricher.role, ['telemetry.enriched.v1']);
  lake.grantWrite(enricher.role, 'enriched/');
  return enricher;
}
