import { Construct } from 'constructs';
import {
  AppDeclaration,
  allApps,
  AppName,
  consumedTopicNames,
  consumerApps,
  keyspaceTableNames,
  producedTopicNames,
  transactionalIdPrefixOf,
} from '../apps/contracts/apps';
import { contractsOnTopics } from '../apps/contracts/telemetry';
import { topics } from '../apps/contracts/topics';
import { EnvironmentConfig } from '../config';
import { appRuntimeSettings } from '../config/apps';
import { AwsContext } from '../constructs/aws-context';
import { ClusterAddons, ClusterAddonsProps } from '../constructs/cluster-addons';
import { DataLake } from '../constructs/data-lake';
import { KafkaCluster, KAFKA_PORTS } from '../constructs/kafka-cluster';
import { Keyspace } from '../constructs/keyspace';
import { configureKubernetesProviders } from '../constructs/kubernetes-providers';
import { KubernetesCluster } from '../constructs/kubernetes-cluster';
import { Monitoring } from '../constructs/monitoring';
import { SchemaRegistry } from '../constructs/schema-registry';
import { interfaceEndpointPorts } from '../constructs/network';
import { KafkaBrokerDashboard, KeyspacesMetrics, mskScrapeConfigs, PipelineObservability } from '../constructs/observability';
import { EgressRule, StreamApp } from '../constructs/stream-app';
import { TopicAdminJob } from '../constructs/topic-job';

export interface PipelineWorkloadsProps {
  readonly config: EnvironmentConfig;
  readonly privateSubnetCidrs: readonly string[];
  readonly kafka: KafkaCluster;
  readonly kubernetes: KubernetesCluster;
  readonly keyspace: Keyspace;
  readonly lake: DataLake;
  readonly schemaRegistry: SchemaRegistry;
  /** ECR repository of the app image (the bootstrap stack's); the tag comes from config. */
  readonly imageRepositoryUrl: string;
  readonly monitoring: Monitoring;
}

/** Amazon Keyspaces' CQL port (TLS only), through its interface endpoint. */
export const KEYSPACES_PORT = interfaceEndpointPorts('cassandra')[0];

/**
 * Something a workload on the cluster connects to. `destinationsOf` says which an app needs;
 * each becomes one NetworkPolicy egress rule here, and test/invariants/network-paths.test.ts
 * checks that every hop on the way (NetworkPolicy, node and endpoint security groups, the
 * brokers' security group) lets it through.
 */
export type Destination =
  /** kube-dns on 53 UDP and TCP; StreamApp and the topic job allow it for every pod. */
  | { readonly kind: 'cluster-dns'; readonly description: string }
  /** The MSK brokers, in the private subnets. */
  | { readonly kind: 'kafka'; readonly port: number; readonly description: string }
  /** An interface VPC endpoint (`com.amazonaws.<region>.<service>`), in the private subnets. */
  | { readonly kind: 'interface-endpoint'; readonly service: string; readonly port: number; readonly description: string }
  /** S3 through the gateway endpoint, whose addresses are S3's public prefixes. */
  | { readonly kind: 's3-gateway'; readonly port: number; readonly description: string };

/** What a workload reads, writes and touches: a catalog entry, or the topic job. */
export type WorkloadNeeds = Pick<AppDeclaration, 'consumes' | 'produces' | 'aws'> & { readonly administersTopics?: boolean };

/** Everything a workload connects to, derived from what the catalog says it reads, writes and touches. */
export function destinationsOf(workload: WorkloadNeeds): Destination[] {
  const usesKafka = workload.consumes.length > 0 || workload.produces.length > 0 || workload.administersTopics === true;
  return [
    { kind: 'cluster-dns', description: 'kube-dns' },
    ...(usesKafka ? [{ kind: 'kafka' as const, port: KAFKA_PORTS.saslIam, description: 'MSK brokers (SASL/IAM over TLS)' }] : []),
    // The SDK's credential providers call regional STS when a role is assumed (e.g. from a profile or a web identity).
    { kind: 'interface-endpoint', service: 'sts', port: 443, description: 'STS interface endpoint' },
    ...((workload.aws.keyspacesWrite ?? []).length > 0
      ? [{ kind: 'interface-endpoint' as const, service: 'cassandra', port: KEYSPACES_PORT, description: 'Keyspaces interface endpoint (CQL over TLS)' }]
      : []),
    ...(workload.aws.lakeWritePrefix !== undefined
      ? [{ kind: 's3-gateway' as const, port: 443, description: 'S3 via the gateway endpoint (public prefixes)' }]
      : []),
  ];
}

/** The topic job: DNS, the brokers as topic admin, STS. */
export const TOPIC_ADMIN_NEEDS: WorkloadNeeds = { consumes: [], produces: [], aws: {}, administersTopics: true };

/**
 * Everything that runs inside the environment's EKS cluster: the add-ons, one StreamApp per
 * catalog entry (apps/contracts/apps.ts) with least-privilege grants derived from it, the topic
 * job, the pipeline's alerts, SLOs and dashboards. The grants below are the whole of what each app may do.
 */
export class PipelineWorkloads extends Construct {
  readonly addons: ClusterAddons;
  readonly apps: Readonly<Record<AppName, StreamApp>>;
  readonly topicJob: TopicAdminJob;

  constructor(scope: Construct, id: string, props: PipelineWorkloadsProps) {
    super(scope, id);
    const { config, kafka, kubernetes, keyspace, lake, schemaRegistry } = props;
    const ctx = AwsContext.of(this);

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
      values: {
        'kube-prometheus-stack': {
          prometheus: {
            prometheusSpec: {
              additionalScrapeConfigs: mskScrapeConfigs(this, {
                bootstrapBrokers: kafka.bootstrapBrokersSaslIam,
                brokerCount: config.kafka.brokerCount,
                clusterName: kafka.clusterName,
              }),
            },
          },
        },
      },
    });
    // KEDA reads consumer-group lag on the topics the apps scale on: describe only, never read data or move offsets.
    const scaledOn = [...new Set(consumerApps.flatMap((a) => a.scalesOn.map((k) => topics[k].name)))];
    kafka.grantDescribeGroups(
      this.addons.kedaOperatorRole,
      scaledOn,
      consumerApps.map((a) => a.consumerGroup!),
    );

    // Prometheus (on the nodes, in the cluster security group) scrapes the brokers' exporters.
    kafka.allowOpenMonitoringFrom(kubernetes.clusterSecurityGroupId, 'Prometheus on EKS');

    const egressFor = (d: Destination): EgressRule | undefined => {
      switch (d.kind) {
        case 'cluster-dns':
          return undefined; // in every pod's base policy
        case 'kafka':
        case 'interface-endpoint':
          return { description: d.description, cidrs: props.privateSubnetCidrs, ports: [d.port] };
        case 's3-gateway':
          return { description: d.description, cidrs: ['0.0.0.0/0'], ports: [d.port] };
      }
    };
    const egressOf = (needs: WorkloadNeeds) => destinationsOf(needs).flatMap((d) => egressFor(d) ?? []);

    const image = { repositoryUrl: props.imageRepositoryUrl, tag: config.apps.imageTag };
    const brokers = kafka.bootstrapBrokersSaslIam;
    const keyspacesEnv = {
      CASSANDRA_CONTACT_POINTS: `cassandra.${config.region}.${ctx.dnsSuffix}`,
      CASSANDRA_PORT: String(KEYSPACES_PORT),
      CASSANDRA_LOCAL_DC: config.region,
      CASSANDRA_KEYSPACE: keyspace.keyspaceName,
      CASSANDRA_AUTH: 'sigv4',
      CASSANDRA_TLS: 'true',
    };

    const deployed: Partial<Record<AppName, StreamApp>> = {};
    for (const app of allApps) {
      const run = appRuntimeSettings(app, config);
      const streamApp = new StreamApp(this, app.name, {
        cluster: kubernetes,
        addons: this.addons,
        image,
        name: app.name,
        httpPort: app.httpPort,
        kafka: {
          bootstrapBrokers: brokers,
          consumerGroup: app.consumerGroup,
          scalesOn: app.consumerGroup === undefined ? undefined : app.scalesOn.map((k) => topics[k]),
        },
        scaling:
          app.consumerGroup === undefined
            ? { replicas: run.replicas }
            : { minReplicas: run.minReplicas, maxReplicas: run.maxReplicas, lagThreshold: run.lagThreshold },
        resources: run.resources,
        env: {
          ...tracingEnvFor(this.addons.otlpEndpoint),
          ...run.env,
          ...(app.aws.keyspacesWrite ? keyspacesEnv : {}),
          ...(app.aws.lakeWritePrefix !== undefined ? { S3_BUCKET: lake.bucketName } : {}),
        },
        egress: egressOf(app),
      });
      if (app.consumes.length > 0) kafka.grantConsume(streamApp.role, consumedTopicNames(app), app.consumerGroup!);
      if (app.produces.length > 0) kafka.grantProduce(streamApp.role, producedTopicNames(app));
      if (app.exactlyOnce) kafka.grantTransactions(streamApp.role, transactionalIdPrefixOf(app.consumerGroup!));
      if (app.aws.keyspacesWrite) keyspace.grantWrite(streamApp.role, keyspaceTableNames(app));
      if (app.aws.lakeWritePrefix !== undefined) lake.grantWrite(streamApp.role, app.aws.lakeWritePrefix);
      if (app.aws.schemaRead)
        schemaRegistry.grantRead(
          streamApp.role,
          contractsOnTopics(app.consumes).map((c) => c.name),
        );
      deployed[app.name as AppName] = streamApp;
    }
    this.apps = deployed as Record<AppName, StreamApp>;

    this.topicJob = new TopicAdminJob(this, 'topics', {
      cluster: kubernetes,
      image,
      kafka: { bootstrapBrokers: brokers },
      egress: egressOf(TOPIC_ADMIN_NEEDS),
      env: {
        KAFKA_REPLICATION_FACTOR: String(config.kafka.replicationFactor),
        KAFKA_MIN_INSYNC_REPLICAS: String(config.kafka.minInsyncReplicas),
      },
    });
    kafka.grantTopicAdmin(
      this.topicJob.role,
      Object.values(topics).map((t) => t.name),
    );

    new KafkaBrokerDashboard(this, 'kafka-dashboard', { addons: this.addons });
    new KeyspacesMetrics(this, 'keyspaces-metrics', {
      cluster: kubernetes,
      addons: this.addons,
      keyspace: { keyspaceName: keyspace.keyspaceName, tableNames: keyspace.tableNames },
      region: config.region,
    });
    new PipelineObservability(this, 'observability', {
      addons: this.addons,
      // Plain names (each app's namespace is its name): the rules are rendered at synth time.
      namespaces: allApps.map((a) => a.name),
      consumerApps: consumerApps.map((a) => a.name),
      sinkApps: allApps.filter((a) => a.aws.keyspacesWrite || a.aws.lakeWritePrefix !== undefined).map((a) => a.name),
    });
  }
}

/** Per-environment defaults for the typed settings, from the validated environment config. */
/**
 * Share of traces recorded: each producer batch (or, without a producer's header, each processor
 * chunk) starts one, and later stages follow its decision. X-Ray bills per trace recorded; at the
 * ~50 traces a second of today's load, 1% is about 1.3 million a month (README, cluster section).
 */
export const TRACE_SAMPLING_RATIO = 0.01;

/** The apps' OpenTelemetry settings: OTLP to the cluster's collector, parent-based ratio sampling. */
export function tracingEnvFor(otlpEndpoint: string): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: String(TRACE_SAMPLING_RATIO),
  };
}

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
