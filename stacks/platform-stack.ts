import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Aspects, Op, S3Backend, TerraformLocal, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { aggregatesTable, allContracts, readingsTable, tables } from '../apps/contracts';
import { EnvironmentConfig, PLACEHOLDER_IMAGE_TAG } from '../config';
import { DataProtection } from '../constructs/data-protection';
import { DeployOrdering } from '../constructs/deploy-ordering';
import { lakeLayout } from '../apps/contracts/lake';
import { DataLake } from '../constructs/data-lake';
import { KafkaCluster } from '../constructs/kafka-cluster';
import { Keyspace } from '../constructs/keyspace';
import { KubernetesCluster } from '../constructs/kubernetes-cluster';
import { Monitoring } from '../constructs/monitoring';
import { DEFAULT_INTERFACE_ENDPOINTS, Network } from '../constructs/network';
import { SchemaRegistry } from '../constructs/schema-registry';
import { PipelineWorkloads } from './pipeline-workloads';

/** What the bootstrap stack (CI prerequisites, shared per account) provides to an environment. */
export interface DeliverySettings {
  /** The AWS account the environment lives in; the provider refuses any other. */
  readonly accountId: string;
  /**
   * The bootstrap's `namePrefix`: resources are named `<namePrefix>-<env>-*`, the only IAM names
   * the deploy role may manage.
   */
  readonly namePrefix: string;
  /** ECR repository of the bundled apps' image (`<acct>.dkr.ecr.<region>.amazonaws.com/sdp/apps`). */
  readonly imageRepositoryUrl: string;
  /** KMS key (or alias ARN) the S3 backend encrypts state with; the state bucket refuses others. */
  readonly stateKmsKeyId?: string;
  /** CI deploy role: cluster admin, since it installs the Helm charts. */
  readonly deployRoleArn?: string;
  /** CI plan role: read-only cluster access, since plans refresh Kubernetes resources. */
  readonly planRoleArn?: string;
}

export interface PlatformStackProps {
  readonly config: EnvironmentConfig;
  readonly delivery: DeliverySettings;
}

const DAY_SECONDS = 86_400;

/**
 * One whole environment. The stack id is the environment name, so `cdktf deploy staging`
 * and `cdktf diff staging` address exactly that environment.
 */
export class PlatformStack extends TerraformStack {
  readonly config: EnvironmentConfig;
  readonly network: Network;
  readonly kafka: KafkaCluster;
  readonly kubernetes: KubernetesCluster;
  readonly keyspace: Keyspace;
  readonly lake: DataLake;
  readonly schemaRegistry: SchemaRegistry;
  readonly monitoring: Monitoring;
  readonly workloads: PipelineWorkloads;

  constructor(scope: Construct, props: PlatformStackProps) {
    const { config, delivery } = props;
    super(scope, config.name);
    this.config = config;
    const name = platformResourcePrefix(delivery.namePrefix, config.name);
    const protect = config.protectData;
    Aspects.of(this).add(new DataProtection({ kmsDeletionWindowDays: config.kmsDeletionWindowDays, preventLogGroupDestroy: protect }));

    new S3Backend(this, {
      bucket: config.state.bucket,
      key: `${config.name}/terraform.tfstate`,
      region: config.state.region,
      encrypt: true,
      kmsKeyId: delivery.stateKmsKeyId,
    });
    // cdktf 0.21 has no typed `use_lockfile`; S3-native locking replaces the DynamoDB table.
    this.addOverride('terraform.backend.s3.use_lockfile', true);

    new AwsProvider(this, 'aws', {
      region: config.region,
      allowedAccountIds: [delivery.accountId],
      defaultTags: [{ tags: { Project: 'streaming-data-platform', Environment: config.name, ManagedBy: 'cdktf', ...config.tags } }],
    });

    // Network
    this.network = new Network(this, 'network', {
      name,
      vpcCidr: config.network.vpcCidr,
      availabilityZones: config.network.availabilityZones,
      publicSubnetCidrs: config.network.publicSubnetCidrs,
      privateSubnetCidrs: config.network.privateSubnetCidrs,
      natGateways: config.network.natGateways,
      // Keyspaces through an interface endpoint keeps CQL traffic off the NAT gateways.
      interfaceEndpoints: [...DEFAULT_INTERFACE_ENDPOINTS, 'cassandra'],
      flowLogs: { retentionInDays: config.network.flowLogsRetentionDays },
      clusterName: name,
      preventDestroy: protect,
    });

    // Kafka
    this.kafka = new KafkaCluster(this, 'kafka', {
      name,
      vpcId: this.network.vpcId,
      subnetIds: this.network.privateSubnetIds,
      kafkaVersion: config.kafka.kafkaVersion,
      brokerCount: config.kafka.brokerCount,
      instanceType: config.kafka.instanceType,
      logRetentionHours: config.kafka.logRetentionHours,
      storage: {
        volumeSizeGiB: config.kafka.volumeSizeGiB,
        maxVolumeSizeGiB: config.kafka.maxVolumeSizeGiB,
        targetUtilizationPercent: config.kafka.storageAutoscalingTargetPercent,
      },
      durability: { replicationFactor: config.kafka.replicationFactor, minInsyncReplicas: config.kafka.minInsyncReplicas },
      auth: { iam: true, scram: config.kafka.scramAuthentication },
      logging: { retentionInDays: config.kafka.brokerLogRetentionDays },
      monitoring: { enhancedMonitoring: config.kafka.enhancedMonitoring },
      preventDestroy: protect,
    });

    // Kubernetes
    this.kubernetes = new KubernetesCluster(this, 'kubernetes', {
      name,
      version: config.kubernetes.version,
      vpcId: this.network.vpcId,
      subnetIds: this.network.privateSubnetIds,
      availabilityZones: config.network.availabilityZones,
      endpoint: apiEndpointProps(config.kubernetes.endpoint),
      logging: { retentionInDays: config.kubernetes.controlPlaneLogRetentionDays },
      access: {
        adminRoleArns: [...(delivery.deployRoleArn ? [delivery.deployRoleArn] : []), ...config.kubernetes.adminRoleArns],
        viewerRoleArns: [...(delivery.planRoleArn ? [delivery.planRoleArn] : []), ...config.kubernetes.viewerRoleArns],
      },
      nodeGroups: config.kubernetes.nodeGroups,
      addonVersions: config.kubernetes.addonVersions,
      preventDestroy: protect,
    });
    // Every in-cluster resource waits for cluster access, and pods for nodes and add-ons.
    Aspects.of(this).add(new DeployOrdering(this.kubernetes));
    // Pods reach the brokers through the EKS cluster security group that every node carries.
    this.kafka.allowClientsFrom(this.kubernetes.clusterSecurityGroupId, 'EKS pods and nodes');

    // Keyspaces (tables from the one schema declaration in apps/contracts)
    this.keyspace = new Keyspace(this, 'keyspace', {
      keyspaceName: config.keyspaces.keyspaceName,
      tables,
      ttlSeconds: {
        [readingsTable.name]: config.keyspaces.readingsTtlDays * DAY_SECONDS,
        [aggregatesTable.name]: config.keyspaces.aggregatesTtlDays * DAY_SECONDS,
      },
      pointInTimeRecovery: config.keyspaces.pointInTimeRecovery,
      capacity: {
        mode: config.keyspaces.capacityMode,
        readCapacityUnits: config.keyspaces.readCapacityUnits,
        writeCapacityUnits: config.keyspaces.writeCapacityUnits,
      },
      preventDestroy: protect,
    });

    // Data lake
    this.lake = new DataLake(this, 'lake', {
      name,
      lifecycle: {
        infrequentAccessAfterDays: config.lake.infrequentAccessAfterDays,
        glacierAfterDays: config.lake.glacierAfterDays,
        expireAfterDays: config.lake.expireAfterDays,
      },
      accessLogs: { expireAfterDays: config.lake.accessLogsExpireAfterDays },
      tables: [lakeLayout],
      catalog: { databaseName: `${name.replace(/-/g, '_')}_lake` },
      athena: { resultsExpireAfterDays: config.lake.athenaResultsExpireAfterDays },
      forceDestroy: !protect && config.tier !== 'production',
      preventDestroy: protect,
    });

    // Schema registry (one schema per event contract, from the same declarations as the apps)
    this.schemaRegistry = new SchemaRegistry(this, 'schema-registry', { name, contracts: allContracts, preventDestroy: protect });

    // Monitoring
    this.monitoring = new Monitoring(this, 'monitoring', {
      name,
      alerts: { emails: config.monitoring.alertEmails },
      msk: {
        clusterName: this.kafka.clusterName,
        brokerCount: config.kafka.brokerCount,
        diskUsedPercentThreshold: config.monitoring.mskDiskUsedPercentThreshold,
        cpuPercentThreshold: config.monitoring.mskCpuPercentThreshold,
      },
      keyspaces: { keyspaceName: this.keyspace.keyspaceName, tableNames: this.keyspace.tableNames },
      eks: {
        clusterName: this.kubernetes.clusterName,
        autoscalingGroupNames: this.kubernetes.nodeGroups.map((g) => g.resources.get(0).autoscalingGroups.get(0).name),
        cpuPercentThreshold: config.monitoring.nodeCpuPercentThreshold,
      },
      preventDestroy: protect,
    });

    // In-cluster: add-ons, the bundled apps, the topic job, alerts and dashboards.
    this.workloads = new PipelineWorkloads(this, 'workloads', {
      config,
      privateSubnetCidrs: config.network.privateSubnetCidrs,
      kafka: this.kafka,
      kubernetes: this.kubernetes,
      keyspace: this.keyspace,
      lake: this.lake,
      schemaRegistry: this.schemaRegistry,
      imageRepositoryUrl: delivery.imageRepositoryUrl,
      monitoring: this.monitoring,
    });

    // Outputs: identifiers only, never credentials.
    const output = (id: string, value: string, description: string) => new TerraformOutput(this, id, { value, description });
    output('kafka_bootstrap_brokers_iam', this.kafka.bootstrapBrokersSaslIam, 'MSK bootstrap brokers (SASL/IAM, TLS, port 9098)');
    output('kafka_cluster_arn', this.kafka.clusterArn, 'MSK cluster ARN');
    output('eks_cluster_name', this.kubernetes.clusterName, 'EKS cluster name (aws eks update-kubeconfig --name ...)');
    output('keyspace_name', this.keyspace.keyspaceName, 'Amazon Keyspaces keyspace');
    output('lake_bucket', this.lake.bucketName, 'Data lake bucket');
    output('athena_workgroup', this.lake.workgroupName, 'Athena workgroup for lake queries');
    output('alert_topic_arn', this.monitoring.alertTopicArn, 'SNS topic receiving every alarm');
    // Synth without a tag (tests, checks) works; a plan of such a stack stops here, before anything is changed.
    const imageTag = new TerraformLocal(this, 'app_image_tag_local', config.apps.imageTag);
    const imageTagOutput = new TerraformOutput(this, 'app_image_tag', { value: imageTag.asString, description: 'Tag of the app image the workloads run' });
    // cdktf 0.21 does not render an output's `precondition` config, hence the override.
    imageTagOutput.addOverride('precondition', {
      condition: Op.neq(imageTag.asString, PLACEHOLDER_IMAGE_TAG),
      error_message:
        'This stack was synthesized without an app image tag. Set APP_IMAGE_TAG to a tag published to the app image repository ' +
        '(scripts/deploy/push-image.sh builds, pushes and prints one) and synthesize again.',
    });
  }
}

/** `<namePrefix>-<env>`: the prefix of every resource name of an environment. */
export const platformResourcePrefix = (namePrefix: string, environment: string): string => `${namePrefix}-${environment}`;

/** The construct's endpoint props from the environment's endpoint choice. */
function apiEndpointProps(endpoint: EnvironmentConfig['kubernetes']['endpoint']) {
  return endpoint.access === 'private'
    ? { publicAccessCidrs: [], privateAccessCidrs: endpoint.terraformRunnerCidrs }
    : { publicAccessCidrs: endpoint.publicAccessCidrs, privateAccessCidrs: [] };
}
