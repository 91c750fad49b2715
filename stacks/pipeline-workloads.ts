import { Construct } from 'constructs';
import { apps, consumerApps } from '../apps/contracts/apps';
import { topics } from '../apps/contracts/topics';
import { EnvironmentConfig } from '../config';
import { ClusterAddons, ClusterAddonsProps } from '../constructs/cluster-addons';
import { DataLake } from '../constructs/data-lake';
import { KafkaCluster, KAFKA_PORTS } from '../constructs/kafka-cluster';
import { Keyspace } from '../constructs/keyspace';
import { configureKubernetesProviders } from '../constructs/kubernetes-providers';
import { KubernetesCluster } from '../constructs/kubernetes-cluster';
import { Monitoring } from '../constructs/monitoring';
import { PipelineObservability } from '../constructs/observability';
import { EgressRule, StreamApp } from '../constructs/stream-app';
import { TopicAdminJob } from '../constructs/topic-job';
import { lakeLayout } from '../apps/contracts/lake';

export interface PipelineWorkloadsProps {
  readonly config: EnvironmentConfig;
  readonly privateSubnetCidrs: readonly string[];
  readonly vpcCidr: string;
  readonly kafka: KafkaCluster;
  readonly kubernetes: KubernetesCluster;
  readonly keyspace: Keyspace;
  readonly lake: DataLake;
  /** ECR repository of the app image (the bootstrap stack's); the tag comes from config. */
  readonly imageRepositoryUrl: string;
  readonly monitoring: Monitoring;
}

/** HTTP ports of the apps (/metrics, /healthz, /readyz); the same as when run locally. */
export const APP_PORTS = { producer: 8080, processor: 8081, 'cassandra-sink': 8082, 'lake-sink': 8083 } as const;

/**
 * Everything that runs inside the environment's EKS cluster: the add-ons, the four bundled
 * apps with least-privilege roles, the topic job, and the pipeline's alerts and dashboard.
 * The IAM grants below are the whole of what each app may do.
 */
export class PipelineWorkloads extends Construct {
  readonly addons: ClusterAddons;
  readonly apps: Readonly<Record<keyof typeof APP_PORTS, StreamApp>>;
  readonly topicJob: TopicAdminJob;

  constructor(scope: Construct, id: string, props: PipelineWorkloadsProps) {
    super(scope, id);
    const { config, kafka, kubernetes, keyspace, lake } = props;

    configureKubernetesProviders(this, {
      clusterName: kubernetes.clusterName,
      endpoint: kubernetes.endpoint,
      certificateAuthorityData: kubernetes.certificateAuthorityData,
      region: config.region,
    });

    const settings = addonSettingsFor(config);
    this.addons = new ClusterAddons(this, 'addons', {
      cluster: kubernetes,
      kubernetesVersion: config.kubernetes.version,
      ...settings,
      monitoring: {
        ...settings.monitoring,
        alertmanager: {
          ...settings.monitoring?.alertmanager,
          sns: { topicArn: props.monitoring.alertTopicArn, kmsKeyArn: props.monitoring.kmsKey.arn },
        },
      },
    });
    // KEDA reads consumer-group lag: describe only, never read data or move offsets.
    const consumed = [topics.raw.name, topics.clean.name];
    kafka.grantDescribeGroups(this.addons.kedaOperatorRole, consumed, consumerApps.map((a) => a.consumerGroup as string));

    // Egress: brokers sit in the private subnets; STS and Keyspaces through interface endpoints
    // in the VPC; S3 through the gateway endpoint, whose addresses are public prefixes.
    const toKafka: EgressRule = { description: 'MSK brokers (SASL/IAM over TLS)', cidrs: props.privateSubnetCidrs, ports: [KAFKA_PORTS.saslIam] };
    const toVpcEndpoints: EgressRule = { description: 'STS and Keyspaces interface endpoints', cidrs: [props.vpcCidr], ports: [443, 9142] };
    const toS3: EgressRule = { description: 'S3 via the gateway endpoint (public prefixes)', cidrs: ['0.0.0.0/0'], ports: [443] };

    const image = { repositoryUrl: props.imageRepositoryUrl, tag: config.apps.imageTag };
    const common = { cluster: kubernetes, addons: this.addons, image };
    const brokers = kafka.bootstrapBrokersSaslIam;
    const consumer = (topic: { name: string; partitions: number }, group: string) => ({
      bootstrapBrokers: brokers,
      topic: topic.name,
      consumerGroup: group,
      partitions: topic.partitions,
    });
    const scaling = (s: { minReplicas: number; maxReplicas: number }) => ({ ...s, lagThreshold: config.apps.lagThreshold });

    const producer = new StreamApp(this, 'producer', {
      ...common,
      name: 'producer',
      httpPort: APP_PORTS.producer,
      kafka: { bootstrapBrokers: brokers },
      scaling: { replicas: config.apps.producer.replicas },
      env: {
        PRODUCER_RATE: String(config.apps.producer.ratePerSecond),
        PRODUCER_DEVICES: String(config.apps.producer.devices),
        PRODUCER_EVENTS: '0',
      },
      egress: [toKafka, toVpcEndpoints],
    });
    kafka.grantProduce(producer.role, [topics.raw.name]);

    const processor = new StreamApp(this, 'processor', {
      ...common,
      name: 'processor',
      httpPort: APP_PORTS.processor,
      kafka: consumer(topics.raw, apps.processor.consumerGroup),
      scaling: scaling(config.apps.processor),
      egress: [toKafka, toVpcEndpoints],
    });
    kafka.grantConsume(processor.role, [topics.raw.name], apps.processor.consumerGroup);
    kafka.grantProduce(processor.role, [topics.clean.name, topics.aggregates.name, topics.deadLetter.name]);

    const cassandraSink = new StreamApp(this, 'cassandra-sink', {
      ...common,
      name: 'cassandra-sink',
      httpPort: APP_PORTS['cassandra-sink'],
      kafka: consumer(topics.clean, apps.cassandraSink.consumerGroup),
      scaling: scaling(config.apps.cassandraSink),
      env: {
        CASSANDRA_CONTACT_POINTS: `cassandra.${config.region}.amazonaws.com`,
        CASSANDRA_PORT: '9142',
        CASSANDRA_LOCAL_DC: config.region,
        CASSANDRA_KEYSPACE: keyspace.keyspaceName,
        CASSANDRA_AUTH: 'sigv4',
        CASSANDRA_TLS: 'true',
      },
      egress: [toKafka, toVpcEndpoints],
    });
    kafka.grantConsume(cassandraSink.role, [topics.clean.name, topics.aggregates.name], apps.cassandraSink.consumerGroup);
    kafka.grantProduce(cassandraSink.role, [topics.deadLetter.name]);
    keyspace.grantWrite(cassandraSink.role);

    const lakeSink = new StreamApp(this, 'lake-sink', {
      ...common,
      name: 'lake-sink',
      httpPort: APP_PORTS['lake-sink'],
      kafka: consumer(topics.clean, apps.lakeSink.consumerGroup),
      scaling: scaling(config.apps.lakeSink),
      env: { S3_BUCKET: lake.bucketName },
      egress: [toKafka, toVpcEndpoints, toS3],
    });
    kafka.grantConsume(lakeSink.role, [topics.clean.name], apps.lakeSink.consumerGroup);
    lake.grantWrite(lakeSink.role, lakeLayout.prefix);

    this.apps = { producer, processor, 'cassandra-sink': cassandraSink, 'lake-sink': lakeSink };

    this.topicJob = new TopicAdminJob(this, 'topics', {
      cluster: kubernetes,
      image,
      kafka: { bootstrapBrokers: brokers },
      egress: [toKafka, toVpcEndpoints],
      env: {
        KAFKA_REPLICATION_FACTOR: String(config.kafka.replicationFactor),
        KAFKA_MIN_INSYNC_REPLICAS: String(config.kafka.minInsyncReplicas),
      },
    });
    kafka.grantTopicAdmin(this.topicJob.role, Object.values(topics).map((t) => t.name));

    new PipelineObservability(this, 'observability', {
      addons: this.addons,
      // Plain names (each app's namespace is its name): the rules are rendered at synth time.
      namespaces: Object.keys(APP_PORTS),
    });
  }
}

/** Per-environment defaults for the typed settings, from the validated environment config. */
export function addonSettingsFor(env: EnvironmentConfig): Pick<ClusterAddonsProps, 'monitoring' | 'scaling' | 'logging'> {
  const production = env.tier === 'production';
  const replicas = production ? 2 : 1;
  return {
    monitoring: {
      prometheus: { replicas, retention: production ? '15d' : '7d', storage: production ? { sizeGiB: 100 } : undefined },
      alertmanager: { replicas },
      grafana: { replicas: 1 },
    },
    scaling: { kedaReplicas: replicas, metricsServerReplicas: replicas, clusterAutoscalerReplicas: 1 },
    logging: { retentionInDays: env.kubernetes.controlPlaneLogRetentionDays, preventDestroy: env.protectData },
  };
}
