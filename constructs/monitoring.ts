import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import { CloudwatchMetricAlarm, CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { Lazy } from 'cdktf';
import { Construct } from 'constructs';
import { z } from 'zod';
import { AwsContext } from './aws-context';
import { policyDocument, PolicyStatement } from './iam';
import { EncryptionKey } from './kms-key';

export interface MonitoringProps {
  /** Name prefix of the topic, alarms and dashboard, e.g. `sdp-dev`. */
  readonly name: string;

  // Alerting
  readonly alerts?: {
    /**
     * E-mail subscribers; each must confirm the subscription from the e-mail SNS sends.
     * @default []
     */
    readonly emails?: readonly string[];
    /**
     * Key for the alert topic. Its key policy must let CloudWatch use it
     * (see `Monitoring.alarmTopicKeyStatement`), or alarms fail to publish.
     * @default a new EncryptionKey with that statement, alias `<name>-alerts`
     */
    readonly kmsKey?: EncryptionKey;
  };

  // What to watch
  readonly msk?: {
    readonly clusterName: string;
    readonly brokerCount: number;
    /** @default 80 */
    readonly diskUsedPercentThreshold?: number;
    /** CpuUser + CpuSystem per broker. @default 80 */
    readonly cpuPercentThreshold?: number;
  };
  readonly keyspaces?: {
    readonly keyspaceName: string;
    readonly tableNames: readonly string[];
  };
  readonly eks?: {
    readonly clusterName: string;
    /** One entry per node group (tokens are fine, e.g. from the node group's resources). @default [] */
    readonly autoscalingGroupNames?: readonly string[];
    /** @default 80 */
    readonly cpuPercentThreshold?: number;
  };

  // Dashboard
  /**
   * A `<name>-platform` CloudWatch dashboard with MSK, Keyspaces and EKS widgets.
   * @default true
   */
  readonly dashboard?: boolean;

  // Protection
  /**
   * Terraform `prevent_destroy` on the alert topic's key.
   * @default false
   */
  readonly preventDestroy?: boolean;
}

/** An alarm to wire to the alert topic; actions are set by `addAlarm`. */
export type AlarmProps = Omit<CloudwatchMetricAlarmConfig, 'alarmActions' | 'okActions' | 'alarmName' | 'alarmDescription'> & {
  /** @default `<name>-<id>` */
  readonly alarmName?: string;
  /** What is wrong and what to do; it is the body of the alert e-mail. */
  readonly alarmDescription: string;
};

type Widget = Record<string, unknown>;

/** Keyspaces publishes throttles and errors per operation; Metrics Insights sums them per table. */
const cassandraQuery = (metric: string, keyspace: string, where: string, groupBy = '') =>
  `SELECT SUM(${metric}) FROM SCHEMA("AWS/Cassandra", Keyspace, Operation, TableName) ` +
  `WHERE Keyspace = '${keyspace}'${where}${groupBy ? ` GROUP BY ${groupBy}` : ''}`;

/**
 * Platform alerting: a CMK-encrypted SNS topic only this account's CloudWatch alarms may publish
 * to, alarms for MSK brokers, Keyspaces tables and EKS nodes (each with alarm and OK actions and a
 * description that says what to do), and one dashboard. `addAlarm` wires more alarms to the topic.
 */
export class Monitoring extends Construct {
  /** Key-policy statement that lets this account's CloudWatch alarms publish to a topic encrypted with the key. */
  static alarmTopicKeyStatement(scope: Construct): PolicyStatement {
    const ctx = AwsContext.of(scope);
    return {
      Sid: 'CloudWatchAlarmsUseKeyForAlertTopic',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      // In a key policy, `*` means this key.
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceAccount': ctx.accountId } },
    };
  }

  readonly topic: SnsTopic;
  readonly alertTopicArn: string;
  readonly kmsKey: EncryptionKey;
  readonly dashboard?: CloudwatchDashboard;
  readonly dashboardName?: string;

  private readonly name: string;
  private readonly alarmList: CloudwatchMetricAlarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    validate(props);
    this.name = props.name;
    const ctx = AwsContext.of(this);

    // Alerting
    this.kmsKey =
      props.alerts?.kmsKey ??
      new EncryptionKey(this, 'key', {
        alias: `${props.name}-alerts`,
        description: `Alert topic of ${props.name}`,
        additionalStatements: [Monitoring.alarmTopicKeyStatement(this)],
        preventDestroy: props.preventDestroy,
      });
    this.topic = new SnsTopic(this, 'topic', { name: `${props.name}-alerts`, kmsMasterKeyId: this.kmsKey.arn });
    this.alertTopicArn = this.topic.arn;
    new SnsTopicPolicy(this, 'topic-policy', {
      arn: this.topic.arn,
      policy: policyDocument([
        {
          Sid: 'CloudWatchAlarmsOfThisAccountPublish',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: this.topic.arn,
          Condition: {
            StringEquals: { 'aws:SourceAccount': ctx.accountId },
            ArnLike: { 'aws:SourceArn': ctx.arn('cloudwatch', 'alarm:*') },
          },
        },
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'sns:Publish',
          Resource: this.topic.arn,
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ]),
    });
    (props.alerts?.emails ?? []).forEach((email, i) => {
      new SnsTopicSubscription(this, `email-${i}`, { topicArn: this.topic.arn, protocol: 'email', endpoint: email });
    });

    // Alarms
    const widgets: Widget[] = [];
    if (props.msk) widgets.push(...this.mskAlarms(props.msk, ctx.region));
    if (props.keyspaces) widgets.push(...this.keyspacesAlarms(props.keyspaces, ctx.region));
    if (props.eks) widgets.push(...this.eksAlarms(props.eks, ctx.region));

    // Dashboard
    if (props.dashboard ?? true) {
      this.dashboardName = `${props.name}-platform`;
      this.dashboard = new CloudwatchDashboard(this, 'dashboard', {
        dashboardName: this.dashboardName,
        // Lazy: alarms added later with addAlarm still appear in the alarm status widget.
        dashboardBody: Lazy.stringValue({ produce: () => JSON.stringify({ widgets: [...widgets, ...this.alarmStatusWidgets()] }) }),
      });
    }
  }

  /** Every alarm wired to the alert topic, including those added with `addAlarm`. */
  get alarms(): readonly CloudwatchMetricAlarm[] {
    return [...this.alarmList];
  }

  /** Adds an alarm that notifies the alert topic when it fires and when it recovers. */
  addAlarm(id: string, props: AlarmProps): CloudwatchMetricAlarm {
    const alarm = new CloudwatchMetricAlarm(this, `alarm-${id}`, {
      ...props,
      alarmName: props.alarmName ?? `${this.name}-${id}`,
      alarmActions: [this.alertTopicArn],
      okActions: [this.alertTopicArn],
    });
    this.alarmList.push(alarm);
    return alarm;
  }

  private mskAlarms(msk: NonNullable<MonitoringProps['msk']>, region: string): Widget[] {
    const disk = msk.diskUsedPercentThreshold ?? 80;
    const cpu = msk.cpuPercentThreshold ?? 80;
    const cluster = msk.clusterName;
    const brokers = Array.from({ length: msk.brokerCount }, (_, i) => String(i + 1));
    const brokerDims = (b: string) => ({ 'Cluster Name': cluster, 'Broker ID': b });

    for (const b of brokers) {
      this.addAlarm(`msk-disk-used-broker-${b}`, {
        alarmDescription:
          `MSK ${cluster} broker ${b}: data volume above ${disk}% full. Storage autoscaling should grow it; ` +
          `if it is at its maximum size, raise the maximum or shorten topic retention before the broker stops accepting writes.`,
        namespace: 'AWS/Kafka',
        metricName: 'KafkaDataLogsDiskUsed',
        dimensions: brokerDims(b),
        statistic: 'Maximum',
        period: 300,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: disk,
        treatMissingData: 'missing',
      });
      this.addAlarm(`msk-cpu-broker-${b}`, {
        alarmDescription:
          `MSK ${cluster} broker ${b}: CPU (user + system) above ${cpu}% for 15 minutes. Look for partition-leader ` +
          `imbalance or a client request spike on the dashboard; otherwise move to a larger broker type or add brokers.`,
        metricQuery: [
          { id: 'user', metric: { namespace: 'AWS/Kafka', metricName: 'CpuUser', dimensions: brokerDims(b), stat: 'Average', period: 300 } },
          { id: 'system', metric: { namespace: 'AWS/Kafka', metricName: 'CpuSystem', dimensions: brokerDims(b), stat: 'Average', period: 300 } },
          { id: 'cpu', expression: 'user + system', label: `Broker ${b} CPU %`, returnData: true },
        ],
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: cpu,
        treatMissingData: 'missing',
      });
      this.addAlarm(`msk-under-replicated-broker-${b}`, {
        alarmDescription:
          `MSK ${cluster} broker ${b}: under-replicated partitions for 15 minutes (longer than a rolling patch). A follower is down or ` +
          `lagging; check broker health, disk and network throughput. If the ISR falls below min.insync.replicas, acks=all writes fail.`,
        namespace: 'AWS/Kafka',
        metricName: 'UnderReplicatedPartitions',
        dimensions: brokerDims(b),
        statistic: 'Maximum',
        period: 300,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 0,
        treatMissingData: 'missing',
      });
    }
    this.addAlarm('msk-offline-partitions', {
      alarmDescription:
        `MSK ${cluster}: partitions without a leader, so producers and consumers of those partitions fail now. ` +
        `Check broker state in the MSK console; open an AWS support case if a broker does not recover.`,
      namespace: 'AWS/Kafka',
      metricName: 'OfflinePartitionsCount',
      dimensions: { 'Cluster Name': cluster },
      statistic: 'Maximum',
      period: 60,
      evaluationPeriods: 1,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 0,
      treatMissingData: 'missing',
    });

    const perBroker = (metric: string) => brokers.map((b) => ['AWS/Kafka', metric, 'Cluster Name', cluster, 'Broker ID', b, { label: `Broker ${b}` }]);
    return [
      header(`MSK cluster ${cluster}`),
      metricWidget(region, 'MSK data volume used (%)', perBroker('KafkaDataLogsDiskUsed'), { stat: 'Maximum', threshold: disk }),
      metricWidget(
        region,
        'MSK CPU user + system (%)',
        brokers.flatMap((b) => [
          [{ expression: `u${b} + s${b}`, label: `Broker ${b}`, id: `cpu${b}` }],
          ['AWS/Kafka', 'CpuUser', 'Cluster Name', cluster, 'Broker ID', b, { id: `u${b}`, visible: false }],
          ['AWS/Kafka', 'CpuSystem', 'Cluster Name', cluster, 'Broker ID', b, { id: `s${b}`, visible: false }],
        ]),
        { stat: 'Average', threshold: cpu },
      ),
      metricWidget(
        region,
        'MSK partitions: under-replicated per broker, offline',
        [...perBroker('UnderReplicatedPartitions'), ['AWS/Kafka', 'OfflinePartitionsCount', 'Cluster Name', cluster, { label: 'Offline partitions' }]],
        { stat: 'Maximum' },
      ),
    ];
  }

  private keyspacesAlarms(ks: NonNullable<MonitoringProps['keyspaces']>, region: string): Widget[] {
    const keyspace = ks.keyspaceName;
    const insightsAlarm = (id: string, metric: string, table: string, periods: number, description: string) =>
      this.addAlarm(id, {
        alarmDescription: description,
        metricQuery: [
          {
            id: 'q',
            expression: cassandraQuery(metric, keyspace, ` AND TableName = '${table}'`),
            period: 300,
            label: `${keyspace}.${table} ${metric}`,
            returnData: true,
          },
        ],
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 0,
        // These metrics exist only while the event happens: no data means no throttles or errors.
        treatMissingData: 'notBreaching',
      });

    for (const table of ks.tableNames) {
      insightsAlarm(
        `keyspaces-${table}-write-throttles`,
        'WriteThrottleEvents',
        table,
        2,
        `Keyspaces ${keyspace}.${table}: writes throttled for 10 minutes; the sinks retry and consumer lag grows. ` +
          `Provisioned: raise write capacity. On-demand: look for a hot partition key or an account/table quota on the dashboard.`,
      );
      insightsAlarm(
        `keyspaces-${table}-read-throttles`,
        'ReadThrottleEvents',
        table,
        2,
        `Keyspaces ${keyspace}.${table}: reads throttled for 10 minutes. ` +
          `Provisioned: raise read capacity. On-demand: look for a hot partition key or an account/table quota on the dashboard.`,
      );
      insightsAlarm(
        `keyspaces-${table}-system-errors`,
        'SystemErrors',
        table,
        1,
        `Keyspaces ${keyspace}.${table}: the service returned server-side errors. Clients retry; if it persists, ` +
          `check the AWS Health Dashboard and open a support case.`,
      );
    }

    const perTable = (metric: string) => [
      [{ expression: cassandraQuery(metric, keyspace, '', 'TableName'), label: metric, id: metric.charAt(0).toLowerCase() + metric.slice(1) }],
    ];
    return [
      header(`Keyspaces keyspace ${keyspace}`),
      metricWidget(region, 'Keyspaces write throttles per table', perTable('WriteThrottleEvents'), { stat: 'Sum' }),
      metricWidget(region, 'Keyspaces read throttles per table', perTable('ReadThrottleEvents'), { stat: 'Sum' }),
      metricWidget(region, 'Keyspaces system errors per table', perTable('SystemErrors'), { stat: 'Sum' }),
      metricWidget(
        region,
        'Keyspaces consumed capacity units',
        ks.tableNames.flatMap((t) => [
          ['AWS/Cassandra', 'ConsumedWriteCapacityUnits', 'Keyspace', keyspace, 'TableName', t, { label: `${t} writes` }],
          ['AWS/Cassandra', 'ConsumedReadCapacityUnits', 'Keyspace', keyspace, 'TableName', t, { label: `${t} reads` }],
        ]),
        { stat: 'Sum' },
      ),
    ];
  }

  private eksAlarms(eks: NonNullable<MonitoringProps['eks']>, region: string): Widget[] {
    const cpu = eks.cpuPercentThreshold ?? 80;
    const groups = eks.autoscalingGroupNames ?? [];
    groups.forEach((asg, i) => {
      this.addAlarm(`eks-node-group-${i + 1}-cpu`, {
        alarmDescription:
          `EKS ${eks.clusterName}: nodes of node group ${i + 1} (${asg}) above ${cpu}% CPU on average for 15 minutes; pods are ` +
          `CPU-starved. Check the cluster autoscaler and pod requests; raise the node group's maxSize or use larger instances.`,
        namespace: 'AWS/EC2',
        metricName: 'CPUUtilization',
        dimensions: { AutoScalingGroupName: asg },
        statistic: 'Average',
        period: 300,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: cpu,
        treatMissingData: 'missing',
      });
    });
    if (groups.length === 0) return [];
    return [
      header(`EKS cluster ${eks.clusterName}`),
      metricWidget(
        region,
        'EKS node CPU by node group (%)',
        groups.map((asg, i) => ['AWS/EC2', 'CPUUtilization', 'AutoScalingGroupName', asg, { label: `Node group ${i + 1}` }]),
        { stat: 'Average', threshold: cpu },
      ),
    ];
  }

  /** The alarm widget takes at most 100 alarms. */
  private alarmStatusWidgets(): Widget[] {
    const widgets: Widget[] = [];
    for (let i = 0; i < this.alarmList.length; i += 100) {
      widgets.push({
        type: 'alarm',
        width: 24,
        height: 6,
        properties: { title: 'Alarms', alarms: this.alarmList.slice(i, i + 100).map((a) => a.arn), sortBy: 'stateUpdatedTimestamp' },
      });
    }
    return widgets;
  }
}

function header(text: string): Widget {
  return { type: 'text', width: 24, height: 1, properties: { markdown: `## ${text}` } };
}

function metricWidget(region: string, title: string, metrics: unknown[], opts: { stat: string; threshold?: number }): Widget {
  return {
    type: 'metric',
    width: 12,
    height: 6,
    properties: {
      title,
      region,
      view: 'timeSeries',
      stat: opts.stat,
      period: 300,
      metrics,
      ...(opts.threshold !== undefined ? { annotations: { horizontal: [{ label: 'Alarm threshold', value: opts.threshold }] } } : {}),
    },
  };
}

const percent = z.number().min(1).max(100);
const propsSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'must be letters, digits, "-" or "_"'),
  alerts: z.object({ emails: z.array(z.email()).optional() }).optional(),
  msk: z
    .object({
      clusterName: z.string().min(1),
      brokerCount: z.number().int().min(1),
      diskUsedPercentThreshold: percent.optional(),
      cpuPercentThreshold: percent.optional(),
    })
    .optional(),
  keyspaces: z.object({ keyspaceName: z.string().min(1), tableNames: z.array(z.string().min(1)).min(1) }).optional(),
  eks: z
    .object({ clusterName: z.string().min(1), autoscalingGroupNames: z.array(z.string().min(1)).optional(), cpuPercentThreshold: percent.optional() })
    .optional(),
});

function validate(props: MonitoringProps): void {
  const parsed = propsSchema.safeParse({ ...props, alerts: { emails: props.alerts?.emails } });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid Monitoring props for '${props.name}':\n${issues.join('\n')}`);
  }
}
