import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformStack, Testing } from 'cdktf';
import { tables } from '../../apps/contracts/tables';
import { EncryptionKey } from '../../constructs/kms-key';
import { Monitoring, MonitoringProps } from '../../constructs/monitoring';

type Resources = Record<string, Record<string, any>>;
type PropsFn = (stack: TerraformStack) => Partial<MonitoringProps>;

const tableNames = tables.map((t) => t.name);
const full: Partial<MonitoringProps> = {
  alerts: { emails: ['oncall@example.com', 'data@example.com'] },
  msk: { clusterName: 'sdp-test', brokerCount: 3 },
  keyspaces: { keyspaceName: 'telemetry_test', tableNames },
  eks: { clusterName: 'sdp-test', autoscalingGroupNames: ['asg-general', 'asg-memory'] },
};

function build(props: Partial<MonitoringProps> | PropsFn = full, extend?: (m: Monitoring) => void) {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const overrides = typeof props === 'function' ? props(stack) : props;
  const monitoring = new Monitoring(stack, 'monitoring', { name: 'sdp-test', ...overrides });
  extend?.(monitoring);
  const r: Resources = JSON.parse(Testing.synth(stack)).resource;
  const alarms = Object.values(r.aws_cloudwatch_metric_alarm ?? {});
  const topicKey = Object.keys(r.aws_sns_topic)[0];
  return { r, monitoring, alarms, topicArn: `\${aws_sns_topic.${topicKey}.arn}` };
}

const named = (alarms: any[], pattern: RegExp) => alarms.filter((a) => pattern.test(a.alarm_name));

describe('Monitoring', () => {
  test('alert topic is encrypted with a CMK that CloudWatch of this account may use', () => {
    const { r } = build();
    const [topic] = Object.values(r.aws_sns_topic);
    expect(topic.name).toBe('sdp-test-alerts');
    expect(topic.kms_master_key_id).toMatch(/^\$\{aws_kms_key\..+\.arn\}$/);
    const [key] = Object.values(r.aws_kms_key);
    expect(key.enable_key_rotation).toBe(true);
    const statement = JSON.parse(key.policy).Statement.find((s: any) => s.Sid === 'CloudWatchAlarmsUseKeyForAlertTopic');
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
    });
    expect(statement.Condition.StringEquals['aws:SourceAccount']).toMatch(/account_id/);
  });

  test('topic policy lets only CloudWatch alarms of this account publish, over TLS', () => {
    const { r, topicArn } = build();
    const [policy] = Object.values(r.aws_sns_topic_policy);
    expect(policy.arn).toBe(topicArn);
    const statements = JSON.parse(policy.policy).Statement;
    const allows = statements.filter((s: any) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Resource: topicArn });
    expect(allows[0].Condition.StringEquals['aws:SourceAccount']).toMatch(/account_id/);
    expect(allows[0].Condition.ArnLike['aws:SourceArn']).toMatch(/:cloudwatch:.+:alarm:\*$/);
    expect(statements.find((s: any) => s.Effect === 'Deny').Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
  });

  test('e-mail subscriptions come from props', () => {
    const { r, topicArn } = build();
    const subs = Object.values(r.aws_sns_topic_subscription);
    expect(subs.map((s: any) => [s.protocol, s.endpoint, s.topic_arn])).toEqual([
      ['email', 'oncall@example.com', topicArn],
      ['email', 'data@example.com', topicArn],
    ]);
    expect(build({ ...full, alerts: {} }).r.aws_sns_topic_subscription).toBeUndefined();
  });

  test('every alarm notifies the topic when it fires and when it recovers, and says what to do', () => {
    const { alarms, topicArn, monitoring } = build();
    expect(alarms.length).toBeGreaterThan(0);
    expect(monitoring.alarms).toHaveLength(alarms.length);
    for (const a of alarms) {
      expect(a.alarm_actions).toEqual([topicArn]);
      expect(a.ok_actions).toEqual([topicArn]);
      expect(a.alarm_description.length).toBeGreaterThan(60);
      expect(['missing', 'notBreaching', 'breaching', 'ignore']).toContain(a.treat_missing_data);
    }
  });

  test.each([1, 3, 6])('MSK alarms scale with brokerCount (%i brokers)', (brokerCount) => {
    const { alarms } = build({ msk: { clusterName: 'sdp-test', brokerCount } });
    const disk = named(alarms, /-msk-disk-used-broker-\d+$/);
    expect(disk).toHaveLength(brokerCount);
    expect(disk.map((a) => a.dimensions['Broker ID']).sort()).toEqual(Array.from({ length: brokerCount }, (_, i) => String(i + 1)).sort());
    for (const a of disk) {
      expect(a).toMatchObject({ namespace: 'AWS/Kafka', metric_name: 'KafkaDataLogsDiskUsed', threshold: 80 });
      expect(a.dimensions['Cluster Name']).toBe('sdp-test');
    }
    const cpu = named(alarms, /-msk-cpu-broker-\d+$/);
    expect(cpu).toHaveLength(brokerCount);
    for (const a of cpu) {
      expect(a.metric_query.map((q: any) => q.metric?.metric_name).filter(Boolean)).toEqual(['CpuUser', 'CpuSystem']);
      expect(a.threshold).toBe(80);
    }
    expect(named(alarms, /-msk-under-replicated-broker-\d+$/)).toHaveLength(brokerCount);
    const offline = named(alarms, /-msk-offline-partitions$/);
    expect(offline).toHaveLength(1);
    expect(offline[0]).toMatchObject({ metric_name: 'OfflinePartitionsCount', comparison_operator: 'GreaterThanThreshold', threshold: 0 });
    expect(offline[0].dimensions).toEqual({ 'Cluster Name': 'sdp-test' });
    expect(alarms).toHaveLength(3 * brokerCount + 1);
  });

  test('MSK thresholds are configurable', () => {
    const { alarms } = build({ msk: { clusterName: 'c', brokerCount: 2, diskUsedPercentThreshold: 70, cpuPercentThreshold: 60 } });
    expect(named(alarms, /disk-used/).map((a) => a.threshold)).toEqual([70, 70]);
    expect(named(alarms, /msk-cpu/).map((a) => a.threshold)).toEqual([60, 60]);
  });

  test('Keyspaces: write/read throttle and system error alarms per table, summed over operations', () => {
    const { alarms } = build({ keyspaces: { keyspaceName: 'telemetry_test', tableNames } });
    expect(alarms).toHaveLength(3 * tableNames.length);
    for (const table of tableNames) {
      for (const metric of ['WriteThrottleEvents', 'ReadThrottleEvents', 'SystemErrors']) {
        const match = alarms.filter((a) => a.metric_query[0].expression.includes(`SUM(${metric})`) && a.metric_query[0].expression.includes(`'${table}'`));
        expect(match).toHaveLength(1);
        const [q] = match[0].metric_query;
        expect(q.expression).toBe(
          `SELECT SUM(${metric}) FROM SCHEMA("AWS/Cassandra", Keyspace, Operation, TableName) WHERE Keyspace = 'telemetry_test' AND TableName = '${table}'`,
        );
        expect(q.return_data).toBe(true);
        expect(q.period).toBe(300);
        expect(match[0].treat_missing_data).toBe('notBreaching');
      }
    }
  });

  test('EKS: one CPU alarm per node group ASG', () => {
    const { alarms } = build({ eks: { clusterName: 'c', autoscalingGroupNames: ['a', 'b', 'c'], cpuPercentThreshold: 90 } });
    expect(alarms.map((a) => [a.namespace, a.metric_name, a.dimensions.AutoScalingGroupName, a.threshold])).toEqual([
      ['AWS/EC2', 'CPUUtilization', 'a', 90],
      ['AWS/EC2', 'CPUUtilization', 'b', 90],
      ['AWS/EC2', 'CPUUtilization', 'c', 90],
    ]);
  });

  test('dashboard has MSK, Keyspaces and EKS widgets and the status of every alarm', () => {
    const { r, monitoring } = build();
    const [dashboard] = Object.values(r.aws_cloudwatch_dashboard);
    expect(dashboard.dashboard_name).toBe('sdp-test-platform');
    expect(monitoring.dashboardName).toBe('sdp-test-platform');
    const body = JSON.parse(dashboard.dashboard_body);
    const metricsJson = JSON.stringify(body.widgets.filter((w: any) => w.type === 'metric'));
    for (const needle of ['KafkaDataLogsDiskUsed', 'UnderReplicatedPartitions', 'WriteThrottleEvents', 'SystemErrors', 'CPUUtilization', 'asg-memory']) {
      expect(metricsJson).toContain(needle);
    }
    const alarmWidgets = body.widgets.filter((w: any) => w.type === 'alarm');
    expect(alarmWidgets.flatMap((w: any) => w.properties.alarms)).toHaveLength(monitoring.alarms.length);
  });

  test('addAlarm wires extra alarms to the topic and onto the dashboard', () => {
    const { r, alarms, topicArn } = build({ dashboard: true }, (m) =>
      m.addAlarm('sink-lag', {
        alarmDescription: 'Lake sink consumer lag above 100k records for 15 minutes: scale the sink deployment.',
        namespace: 'SDP/Apps',
        metricName: 'ConsumerLag',
        statistic: 'Maximum',
        period: 300,
        evaluationPeriods: 3,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 100000,
        treatMissingData: 'breaching',
      }),
    );
    const [extra] = named(alarms, /^sdp-test-sink-lag$/);
    expect(extra.alarm_actions).toEqual([topicArn]);
    expect(extra.ok_actions).toEqual([topicArn]);
    const body = JSON.parse(Object.values(r.aws_cloudwatch_dashboard)[0].dashboard_body);
    expect(JSON.stringify(body)).toContain('sink-lag');
  });

  test('dashboard can be turned off; a passed-in key is used as is', () => {
    const { r, monitoring } = build((stack) => ({
      ...full,
      dashboard: false,
      alerts: {
        kmsKey: new EncryptionKey(stack, 'own-key', { alias: 'own', description: 'own', additionalStatements: [Monitoring.alarmTopicKeyStatement(stack)] }),
      },
    }));
    expect(r.aws_cloudwatch_dashboard).toBeUndefined();
    expect(monitoring.dashboardName).toBeUndefined();
    expect(Object.keys(r.aws_kms_key)).toEqual([expect.stringMatching(/^own-key/)]);
  });

  test('rejects invalid props naming the field', () => {
    expect(() => build({ msk: { clusterName: 'c', brokerCount: 0 } })).toThrow(/msk\.brokerCount/);
    expect(() => build({ alerts: { emails: ['not-an-email'] } })).toThrow(/alerts\.emails\.0/);
    expect(() => build({ msk: { clusterName: 'c', brokerCount: 2, cpuPercentThreshold: 150 } })).toThrow(/msk\.cpuPercentThreshold/);
  });
});
