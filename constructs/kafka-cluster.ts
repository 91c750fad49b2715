import { AppautoscalingPolicy } from '@cdktf/provider-aws/lib/appautoscaling-policy';
import { AppautoscalingTarget } from '@cdktf/provider-aws/lib/appautoscaling-target';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { MskCluster } from '@cdktf/provider-aws/lib/msk-cluster';
import { MskConfiguration } from '@cdktf/provider-aws/lib/msk-configuration';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Construct } from 'constructs';
import { AwsContext } from './aws-context';
import { grant, PolicyStatement } from './iam';
import { cloudWatchLogsKeyStatement, EncryptionKey } from './kms-key';

export type EnhancedMonitoring = 'DEFAULT' | 'PER_BROKER' | 'PER_TOPIC_PER_BROKER' | 'PER_TOPIC_PER_PARTITION';

/** Broker listener ports MSK uses for SASL over TLS. */
export const KAFKA_PORTS = { saslIam: 9098, saslScram: 9096 } as const;
/** Open monitoring: each broker serves Prometheus metrics over plain HTTP on these ports. */
export const MSK_OPEN_MONITORING_PORTS = { jmxExporter: 11001, nodeExporter: 11002 } as const;

export interface KafkaClusterProps {
  /** Cluster name and prefix of every resource name, e.g. `sdp-dev`. */
  readonly name: string;

  // Network
  readonly vpcId: string;
  /** Private subnets, one per AZ; the broker count must be a multiple of their number. */
  readonly subnetIds: readonly string[];

  // Brokers
  /** MSK Kafka version, e.g. `3.8.x`. Changing it also replaces the MSK configuration. */
  readonly kafkaVersion: string;
  readonly brokerCount: number;
  /** e.g. `kafka.m7g.large`. */
  readonly instanceType: string;
  /** Broker default for topics that do not set `retention.ms`. */
  readonly logRetentionHours: number;

  // Scaling
  readonly storage: {
    /** Initial EBS volume per broker; autoscaling grows it and Terraform then leaves it alone. */
    readonly volumeSizeGiB: number;
    /** Autoscaling ceiling per broker. */
    readonly maxVolumeSizeGiB: number;
    /**
     * Disk utilisation that triggers a volume increase; MSK accepts 10 to 80.
     * @default 60
     */
    readonly targetUtilizationPercent?: number;
  };

  // Durability
  readonly durability?: {
    /** @default min(3, brokerCount) */
    readonly replicationFactor?: number;
    /** @default 2 when the replication factor is at least 3, else 1 */
    readonly minInsyncReplicas?: number;
  };

  // Auth
  readonly auth?: {
    /**
     * SASL/IAM on port 9098: clients authenticate with their IAM role; grant with the `grant*` methods.
     * @default true
     */
    readonly iam?: boolean;
    /**
     * SASL/SCRAM on port 9096 for clients that cannot sign with IAM. Users are Secrets Manager
     * secrets associated separately, and need Kafka ACLs (`allow.everyone.if.no.acl.found=false`).
     * @default false
     */
    readonly scram?: boolean;
  };

  // Encryption
  readonly encryption?: {
    /**
     * ARN of the CMK for data at rest.
     * @default a key created for this cluster
     */
    readonly kmsKey?: string;
  };

  // Logging
  readonly logging: {
    /** Retention of the broker log group. */
    readonly retentionInDays: number;
    /**
     * ARN of the CMK encrypting broker logs; its key policy must let `logs.<region>.amazonaws.com` use it.
     * @default the cluster's own key
     */
    readonly kmsKey?: string;
  };

  // Monitoring
  readonly monitoring?: {
    /**
     * CloudWatch metric granularity; per-topic metrics are what consumer-lag alarms need.
     * @default 'PER_TOPIC_PER_BROKER'
     */
    readonly enhancedMonitoring?: EnhancedMonitoring;
  };

  // Protection
  /**
   * Terraform `prevent_destroy` on the cluster and on the key it creates.
   * @default false
   */
  readonly preventDestroy?: boolean;
}

/**
 * A provisioned MSK cluster that is private, encrypted and IAM-authenticated: TLS only, no
 * unauthenticated access, brokers reachable only from `clientSecurityGroupId`, broker storage
 * that grows on its own, and a configuration that fails safe (no topic auto-creation, no
 * unclean leader election).
 */
export class KafkaCluster extends Construct {
  readonly cluster: MskCluster;
  readonly configuration: MskConfiguration;
  readonly securityGroup: SecurityGroup;
  readonly clientSecurityGroup: SecurityGroup;
  readonly logGroup: CloudwatchLogGroup;
  readonly storageScaling: AppautoscalingPolicy;

  readonly clusterArn: string;
  readonly clusterName: string;
  /** The UUID in the cluster ARN, part of every topic and group ARN. */
  readonly clusterUuid: string;
  readonly bootstrapBrokersSaslIam: string;
  readonly bootstrapBrokersSaslScram: string;
  readonly clientSecurityGroupId: string;
  readonly kmsKeyArn: string;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  /** Listener ports clients are allowed to reach. */
  readonly clientPorts: readonly number[];

  private clientSources = 0;
  private monitoringSources = 0;

  constructor(scope: Construct, id: string, props: KafkaClusterProps) {
    super(scope, id);
    const { name } = props;
    this.clusterName = name;
    this.replicationFactor = props.durability?.replicationFactor ?? Math.min(3, props.brokerCount);
    this.minInsyncReplicas = props.durability?.minInsyncReplicas ?? (this.replicationFactor >= 3 ? 2 : 1);
    const iam = props.auth?.iam ?? true;
    const scram = props.auth?.scram ?? false;
    validate(this.node.path, props, this.replicationFactor, this.minInsyncReplicas, iam || scram);
    this.clientPorts = [...(iam ? [KAFKA_PORTS.saslIam] : []), ...(scram ? [KAFKA_PORTS.saslScram] : [])];
    const preventDestroy = props.preventDestroy ?? false;

    // Encryption
    const logGroupName = `/aws/msk/${name}`;
    const needsOwnKey = !props.encryption?.kmsKey || !props.logging.kmsKey;
    const ownKey = needsOwnKey
      ? new EncryptionKey(this, 'key', {
          alias: `${name}-msk`,
          description: `Encrypts MSK cluster ${name} at rest and its broker logs`,
          additionalStatements: props.logging.kmsKey ? [] : [cloudWatchLogsKeyStatement(this, logGroupName, 'CloudWatchLogsEncryptsBrokerLogs')],
          preventDestroy,
        })
      : undefined;
    this.kmsKeyArn = props.encryption?.kmsKey ?? ownKey!.arn;

    // Logging
    this.logGroup = new CloudwatchLogGroup(this, 'broker-logs', {
      name: logGroupName,
      retentionInDays: props.logging.retentionInDays,
      kmsKeyId: props.logging.kmsKey ?? ownKey!.arn,
    });

    // Network: brokers accept only clients that carry the client group (or were allowed explicitly).
    this.securityGroup = new SecurityGroup(this, 'broker-sg', {
      name: `${name}-msk-brokers`,
      description: `MSK brokers of ${name}; ingress only from allowed client groups`,
      vpcId: props.vpcId,
      tags: { Name: `${name}-msk-brokers` },
    });
    this.clientSecurityGroup = new SecurityGroup(this, 'client-sg', {
      name: `${name}-msk-clients`,
      description: `Attach to workloads that may connect to MSK cluster ${name}`,
      vpcId: props.vpcId,
      tags: { Name: `${name}-msk-clients` },
    });
    this.clientSecurityGroupId = this.clientSecurityGroup.id;
    for (const port of this.clientPorts) {
      new VpcSecurityGroupEgressRule(this, `client-to-brokers-${port}`, {
        securityGroupId: this.clientSecurityGroup.id,
        description: `Kafka SASL/TLS to the ${name} brokers`,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        referencedSecurityGroupId: this.securityGroup.id,
      });
    }
    this.allowClientsFrom(this.clientSecurityGroup.id, `Clients of ${name} (client security group)`);

    // Configuration: named after the version so an upgrade creates a new one before the old goes.
    this.configuration = new MskConfiguration(this, 'configuration', {
      name: `${name}-${props.kafkaVersion.replace(/[^0-9A-Za-z]+/g, '-')}`,
      description: `Broker defaults for ${name} on Kafka ${props.kafkaVersion}`,
      kafkaVersions: [props.kafkaVersion],
      serverProperties: serverProperties({
        rf: this.replicationFactor,
        minIsr: this.minInsyncReplicas,
        retentionHours: props.logRetentionHours,
        scram,
      }),
      lifecycle: { createBeforeDestroy: true },
    });

    this.cluster = new MskCluster(this, 'cluster', {
      clusterName: name,
      kafkaVersion: props.kafkaVersion,
      numberOfBrokerNodes: props.brokerCount,
      brokerNodeGroupInfo: {
        instanceType: props.instanceType,
        clientSubnets: [...props.subnetIds],
        securityGroups: [this.securityGroup.id],
        storageInfo: { ebsStorageInfo: { volumeSize: props.storage.volumeSizeGiB } },
      },
      configurationInfo: { arn: this.configuration.arn, revision: this.configuration.latestRevision },
      clientAuthentication: { unauthenticated: false, sasl: { iam, scram } },
      encryptionInfo: {
        encryptionAtRestKmsKeyArn: this.kmsKeyArn,
        encryptionInTransit: { clientBroker: 'TLS', inCluster: true },
      },
      loggingInfo: { brokerLogs: { cloudwatchLogs: { enabled: true, logGroup: this.logGroup.name } } },
      enhancedMonitoring: props.monitoring?.enhancedMonitoring ?? 'PER_TOPIC_PER_BROKER',
      openMonitoring: {
        prometheus: { jmxExporter: { enabledInBroker: true }, nodeExporter: { enabledInBroker: true } },
      },
      lifecycle: {
        preventDestroy,
        // Storage autoscaling grows the volume; without this the next apply would try to shrink it.
        ignoreChanges: ['broker_node_group_info[0].storage_info[0].ebs_storage_info[0].volume_size'],
      },
    });
    this.clusterArn = this.cluster.arn;
    // The provider exposes the ARN's UUID segment; a plain reference keeps grant policies valid JSON before apply.
    this.clusterUuid = this.cluster.clusterUuid;
    this.bootstrapBrokersSaslIam = this.cluster.bootstrapBrokersSaslIam;
    this.bootstrapBrokersSaslScram = this.cluster.bootstrapBrokersSaslScram;

    // Scaling
    const storageTarget = new AppautoscalingTarget(this, 'storage-scaling-target', {
      serviceNamespace: 'kafka',
      resourceId: this.cluster.arn,
      scalableDimension: 'kafka:broker-storage:VolumeSize',
      minCapacity: 1,
      maxCapacity: props.storage.maxVolumeSizeGiB,
    });
    this.storageScaling = new AppautoscalingPolicy(this, 'storage-scaling-policy', {
      name: `${name}-broker-storage`,
      policyType: 'TargetTrackingScaling',
      serviceNamespace: storageTarget.serviceNamespace,
      resourceId: storageTarget.resourceId,
      scalableDimension: storageTarget.scalableDimension,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: props.storage.targetUtilizationPercent ?? 60,
        predefinedMetricSpecification: { predefinedMetricType: 'KafkaBrokerStorageUtilization' },
        // MSK volumes cannot shrink.
        disableScaleIn: true,
      },
    });
  }

  /** Lets members of another security group (e.g. the EKS cluster group) reach the client listeners. */
  allowClientsFrom(securityGroupId: string, description: string): void {
    const source = this.clientSources++;
    for (const port of this.clientPorts) {
      new VpcSecurityGroupIngressRule(this, `brokers-from-${source}-${port}`, {
        securityGroupId: this.securityGroup.id,
        description: `${description}, port ${port}`,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        referencedSecurityGroupId: securityGroupId,
      });
    }
  }

  /** Lets members of another security group (e.g. the EKS cluster group, where Prometheus runs) scrape the open-monitoring exporters. */
  allowOpenMonitoringFrom(securityGroupId: string, description: string): void {
    for (const [exporter, port] of Object.entries(MSK_OPEN_MONITORING_PORTS)) {
      new VpcSecurityGroupIngressRule(this, `brokers-${exporter}-from-${this.monitoringSources}`, {
        securityGroupId: this.securityGroup.id,
        description: `${description}, ${exporter} (${port})`,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        referencedSecurityGroupId: securityGroupId,
      });
    }
    this.monitoringSources++;
  }

  /** Write to exactly these topics (IAM auth). */
  grantProduce(role: IamRole, topicNames: readonly string[]): IamRolePolicy {
    return this.grantStatements(role, 'produce', [
      ...this.connectStatements(),
      // Idempotent writes are authorised against the cluster, not a topic (Kafka's IdempotentWrite).
      { Sid: 'IdempotentWrites', Effect: 'Allow', Action: 'kafka-cluster:WriteDataIdempotently', Resource: this.clusterArn },
      {
        Sid: 'WriteTopics',
        Effect: 'Allow',
        Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        Resource: this.topicArns(topicNames),
      },
    ]);
  }

  /**
   * Use Kafka transactions with the transactional ids that start with `transactionalIdPrefix`
   * (a literal prefix, e.g. the consumer group's `telemetry-processor.`). Offsets committed in a
   * transaction still need the group's AlterGroup from `grantConsume`.
   */
  grantTransactions(role: IamRole, transactionalIdPrefix: string): IamRolePolicy {
    if (!/^[a-zA-Z0-9._-]+$/.test(transactionalIdPrefix)) {
      throw new Error(`${this.node.path}: transactionalIdPrefix must be a literal prefix (letters, digits, '.', '_', '-'), got '${transactionalIdPrefix}'`);
    }
    return this.grantStatements(role, 'transactions', [
      ...this.connectStatements(),
      { Sid: 'IdempotentWrites', Effect: 'Allow', Action: 'kafka-cluster:WriteDataIdempotently', Resource: this.clusterArn },
      {
        Sid: 'UseTransactionalIds',
        Effect: 'Allow',
        Action: ['kafka-cluster:DescribeTransactionalId', 'kafka-cluster:AlterTransactionalId'],
        Resource: this.kafkaArn('transactional-id', `${transactionalIdPrefix}*`),
      },
    ]);
  }

  /** Read these topics as members of one consumer group (IAM auth). */
  grantConsume(role: IamRole, topicNames: readonly string[], groupId: string): IamRolePolicy {
    if (!groupId || groupId.includes('*')) throw new Error(`${this.node.path}: groupId must be a literal consumer group id, got '${groupId}'`);
    return this.grantStatements(role, `consume-${groupId}`, [
      ...this.connectStatements(),
      {
        Sid: 'ReadTopics',
        Effect: 'Allow',
        Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
        Resource: this.topicArns(topicNames),
      },
      {
        Sid: 'UseGroup',
        Effect: 'Allow',
        Action: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
        Resource: this.kafkaArn('group', groupId),
      },
    ]);
  }

  /**
   * Read consumer-group lag without consuming: describe the topics and groups (for KEDA's Kafka
   * scaler). No ReadData, no AlterGroup.
   */
  grantDescribeGroups(role: IamRole, topicNames: readonly string[], groupIds: readonly string[]): IamRolePolicy {
    if (groupIds.length === 0) throw new Error(`KafkaCluster ${this.clusterName}: grantDescribeGroups needs at least one group`);
    return this.grantStatements(role, 'describe-groups', [
      ...this.connectStatements(),
      { Sid: 'DescribeTopics', Effect: 'Allow', Action: 'kafka-cluster:DescribeTopic', Resource: this.topicArns(topicNames) },
      {
        Sid: 'DescribeGroups',
        Effect: 'Allow',
        Action: 'kafka-cluster:DescribeGroup',
        Resource: groupIds.map((g) => this.kafkaArn('group', g)),
      },
    ]);
  }

  /** Create and reconfigure exactly these topics, e.g. for the job that applies topic declarations. */
  grantTopicAdmin(role: IamRole, topicNames: readonly string[]): IamRolePolicy {
    return this.grantStatements(role, 'topic-admin', [
      ...this.connectStatements(),
      {
        Sid: 'ManageTopics',
        Effect: 'Allow',
        Action: [
          'kafka-cluster:CreateTopic',
          'kafka-cluster:DescribeTopic',
          'kafka-cluster:AlterTopic',
          'kafka-cluster:DescribeTopicDynamicConfiguration',
          'kafka-cluster:AlterTopicDynamicConfiguration',
        ],
        Resource: this.topicArns(topicNames),
      },
    ]);
  }

  private connectStatements(): PolicyStatement[] {
    return [
      {
        Sid: 'ConnectToCluster',
        Effect: 'Allow',
        Action: ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'],
        Resource: this.clusterArn,
      },
    ];
  }

  private topicArns(topicNames: readonly string[]): string[] {
    if (topicNames.length === 0) throw new Error(`${this.node.path}: a grant needs at least one topic name`);
    const bad = topicNames.find((t) => !/^[a-zA-Z0-9._-]{1,249}$/.test(t));
    if (bad !== undefined) {
      throw new Error(`${this.node.path}: '${bad}' is not a Kafka topic name (letters, digits, '.', '_', '-'); wildcards are not granted`);
    }
    return [...new Set(topicNames)].map((t) => this.kafkaArn('topic', t));
  }

  /** `arn:<p>:kafka:<region>:<account>:<kind>/<clusterName>/<clusterUuid>/<name>` */
  private kafkaArn(kind: 'topic' | 'group' | 'transactional-id', resourceName: string): string {
    return AwsContext.of(this).arn('kafka', `${kind}/${this.clusterName}/${this.clusterUuid}/${resourceName}`);
  }

  /** One inline policy per grant; a repeated grant to the same role gets a numbered name (ids as `grant()` builds them). */
  private grantStatements(role: IamRole, action: string, statements: PolicyStatement[]): IamRolePolicy {
    const base = `msk-${this.clusterName}-${action}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 120);
    let purpose = base;
    for (let n = 2; this.node.tryFindChild(`grant-${role.node.id}-${purpose}`); n++) purpose = `${base}-${n}`;
    return grant(this, role, purpose, statements);
  }
}

/** Broker defaults. Topics declared in apps/contracts override per topic where they need to. */
function serverProperties(p: { rf: number; minIsr: number; retentionHours: number; scram: boolean }): string {
  const props: Record<string, string | number | boolean> = {
    // Topics are declared and created explicitly; a typo must not create a new topic.
    'auto.create.topics.enable': false,
    // Never elect an out-of-sync replica: that silently drops acknowledged writes.
    'unclean.leader.election.enable': false,
    'default.replication.factor': p.rf,
    'min.insync.replicas': p.minIsr,
    'offsets.topic.replication.factor': p.rf,
    'transaction.state.log.replication.factor': p.rf,
    'transaction.state.log.min.isr': p.minIsr,
    'log.retention.hours': p.retentionHours,
    // SCRAM users are governed by Kafka ACLs; without this, a user with no ACL may do anything.
    ...(p.scram ? { 'allow.everyone.if.no.acl.found': false } : {}),
  };
  return Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

function validate(path: string, props: KafkaClusterProps, rf: number, minIsr: number, anyAuth: boolean): void {
  const fail = (field: string, message: string) => {
    throw new Error(`${path}: ${field} ${message}`);
  };
  const subnets = props.subnetIds.length;
  if (subnets < 2) fail('subnetIds', `has ${subnets} entries; MSK needs subnets in at least 2 AZs`);
  if (props.brokerCount % subnets !== 0) {
    fail('brokerCount', `(${props.brokerCount}) must be a multiple of the number of subnets (${subnets}); MSK spreads brokers evenly over AZs`);
  }
  if (props.storage.maxVolumeSizeGiB < props.storage.volumeSizeGiB) {
    fail('storage.maxVolumeSizeGiB', `(${props.storage.maxVolumeSizeGiB}) must be at least storage.volumeSizeGiB (${props.storage.volumeSizeGiB})`);
  }
  const target = props.storage.targetUtilizationPercent;
  if (target !== undefined && (target < 10 || target > 80))
    fail('storage.targetUtilizationPercent', `(${target}) must be between 10 and 80, the range MSK storage autoscaling accepts`);
  if (rf < 1 || rf > props.brokerCount) fail('durability.replicationFactor', `(${rf}) must be between 1 and brokerCount (${props.brokerCount})`);
  if (minIsr < 1 || minIsr > rf) fail('durability.minInsyncReplicas', `(${minIsr}) must be between 1 and the replication factor (${rf})`);
  if (!anyAuth) fail('auth', 'must enable iam or scram; unauthenticated access is never allowed');
}
