import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { MskCluster } from '@cdktf/provider-aws/lib/msk-cluster';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformStack, Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest'; // types for the cdktf matchers (as in the cdktf project template)
import { KafkaCluster, KafkaClusterProps } from '../../constructs/kafka-cluster';

type Block = Record<string, any>;

const base: KafkaClusterProps = {
  name: 'sdp-test',
  vpcId: 'vpc-123',
  subnetIds: ['subnet-a', 'subnet-b', 'subnet-c'],
  kafkaVersion: '3.8.x',
  brokerCount: 3,
  instanceType: 'kafka.m7g.large',
  storage: { volumeSizeGiB: 100, maxVolumeSizeGiB: 500 },
  logRetentionHours: 72,
  logging: { retentionInDays: 30 },
};

function synth(overrides: Partial<KafkaClusterProps> = {}, wire: (kafka: KafkaCluster, stack: TerraformStack) => void = () => undefined) {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const kafka = new KafkaCluster(stack, 'kafka', { ...base, ...overrides });
  wire(kafka, stack);
  const raw = Testing.synth(stack);
  const json = JSON.parse(raw) as { resource: Record<string, Record<string, Block>> };
  const all = (type: string): Block[] => Object.values(json.resource[type] ?? {});
  const ref = (type: string, predicate: (b: Block) => boolean): string => {
    const entry = Object.entries(json.resource[type] ?? {}).find(([, b]) => predicate(b));
    if (!entry) throw new Error(`no ${type} matched`);
    return `${type}.${entry[0]}`;
  };
  const serverProperties = (): Record<string, string> =>
    Object.fromEntries((all('aws_msk_configuration')[0].server_properties as string).split('\n').map((line) => line.split('=') as [string, string]));
  const policies = (): Block[] => all('aws_iam_role_policy').map((p) => ({ name: p.name, doc: JSON.parse(p.policy) }));
  return { raw, all, ref, serverProperties, policies, kafka };
}

const role = (stack: TerraformStack, id: string) =>
  new IamRole(stack, id, { name: id, assumeRolePolicy: JSON.stringify({ Version: '2012-10-17', Statement: [] }) });

describe('KafkaCluster', () => {
  describe('secure defaults', () => {
    it('encrypts at rest with a created CMK and in transit with TLS only', () => {
      const { raw, ref } = synth();
      const keyRef = ref('aws_kms_key', () => true);
      expect(raw).toHaveResourceWithProperties(MskCluster, {
        encryption_info: {
          encryption_at_rest_kms_key_arn: `\${${keyRef}.arn}`,
          encryption_in_transit: { client_broker: 'TLS', in_cluster: true },
        },
      });
    });

    it('authenticates with IAM only; unauthenticated and SCRAM are off', () => {
      const { raw } = synth();
      expect(raw).toHaveResourceWithProperties(MskCluster, {
        client_authentication: { unauthenticated: false, sasl: { iam: true, scram: false } },
      });
    });

    it('ships broker logs to a KMS-encrypted log group and enables enhanced and open monitoring', () => {
      const { all, ref } = synth();
      const [cluster] = all('aws_msk_cluster');
      const logGroupRef = ref('aws_cloudwatch_log_group', (g) => g.name === '/aws/msk/sdp-test');
      expect(cluster.logging_info.broker_logs.cloudwatch_logs).toEqual({ enabled: true, log_group: `\${${logGroupRef}.name}` });
      expect(all('aws_cloudwatch_log_group')[0]).toMatchObject({ retention_in_days: 30, kms_key_id: expect.stringMatching(/aws_kms_key/) });
      expect(cluster.enhanced_monitoring).toBe('PER_TOPIC_PER_BROKER');
      expect(cluster.open_monitoring.prometheus).toEqual({ jmx_exporter: { enabled_in_broker: true }, node_exporter: { enabled_in_broker: true } });
    });

    it('admits only the client security group, on the IAM port, with descriptions on every rule', () => {
      const { all, ref } = synth();
      const brokers = ref('aws_security_group', (sg) => sg.name === 'sdp-test-msk-brokers');
      const clients = ref('aws_security_group', (sg) => sg.name === 'sdp-test-msk-clients');
      const ingress = all('aws_vpc_security_group_ingress_rule');
      expect(ingress).toEqual([
        expect.objectContaining({
          security_group_id: `\${${brokers}.id}`,
          referenced_security_group_id: `\${${clients}.id}`,
          from_port: 9098,
          to_port: 9098,
        }),
      ]);
      expect(ingress.some((r) => r.cidr_ipv4)).toBe(false);
      const egress = all('aws_vpc_security_group_egress_rule');
      expect(egress).toEqual([
        expect.objectContaining({ security_group_id: `\${${clients}.id}`, referenced_security_group_id: `\${${brokers}.id}`, from_port: 9098 }),
      ]);
      const rules = [...ingress, ...egress, ...all('aws_security_group')];
      expect(rules.every((r) => typeof r.description === 'string' && r.description.length > 0)).toBe(true);
    });

    it('adds the SCRAM port and ACL enforcement when SCRAM is on', () => {
      const { all, serverProperties, raw } = synth({ auth: { scram: true } });
      expect(raw).toHaveResourceWithProperties(MskCluster, { client_authentication: { sasl: { iam: true, scram: true }, unauthenticated: false } });
      expect(
        all('aws_vpc_security_group_ingress_rule')
          .map((r) => r.from_port)
          .sort(),
      ).toEqual([9096, 9098]);
      expect(serverProperties()['allow.everyone.if.no.acl.found']).toBe('false');
    });

    it('refuses a cluster with no authentication', () => {
      expect(() => synth({ auth: { iam: false, scram: false } })).toThrow(/auth must enable iam or scram/);
    });

    it('does not protect from destroy unless asked', () => {
      const { all } = synth();
      expect(all('aws_msk_cluster')[0].lifecycle.prevent_destroy).toBe(false);
    });
  });

  describe('server properties', () => {
    it('turns off topic auto-creation and unclean leader election', () => {
      const { serverProperties } = synth();
      expect(serverProperties()).toMatchObject({
        'auto.create.topics.enable': 'false',
        'unclean.leader.election.enable': 'false',
        'log.retention.hours': '72',
      });
    });

    it.each([
      [2, '2', '1'],
      [3, '3', '2'],
      [6, '3', '2'],
    ])('derives RF and min ISR from %i brokers', (brokerCount, rf, minIsr) => {
      const subnetIds = brokerCount === 2 ? ['subnet-a', 'subnet-b'] : base.subnetIds;
      const { serverProperties, kafka } = synth({ brokerCount, subnetIds });
      expect(serverProperties()).toMatchObject({
        'default.replication.factor': rf,
        'min.insync.replicas': minIsr,
        'offsets.topic.replication.factor': rf,
        'transaction.state.log.min.isr': minIsr,
      });
      expect(kafka.replicationFactor).toBe(Number(rf));
      expect(kafka.minInsyncReplicas).toBe(Number(minIsr));
    });

    it('honours explicit durability', () => {
      const { serverProperties } = synth({ brokerCount: 6, durability: { replicationFactor: 3, minInsyncReplicas: 3 } });
      expect(serverProperties()['min.insync.replicas']).toBe('3');
    });

    it('rejects durability the brokers cannot provide, naming the field', () => {
      expect(() => synth({ durability: { replicationFactor: 4 } })).toThrow(/durability.replicationFactor \(4\)/);
      expect(() => synth({ durability: { replicationFactor: 2, minInsyncReplicas: 3 } })).toThrow(/durability.minInsyncReplicas \(3\)/);
      expect(() => synth({ brokerCount: 4 })).toThrow(/brokerCount \(4\) must be a multiple/);
    });

    it('names the configuration after the Kafka version and replaces it create-before-destroy', () => {
      const { all, ref } = synth({ kafkaVersion: '3.7.x.kraft' });
      const [config] = all('aws_msk_configuration');
      expect(config.name).toBe('sdp-test-3-7-x-kraft');
      expect(config.kafka_versions).toEqual(['3.7.x.kraft']);
      expect(config.lifecycle).toEqual({ create_before_destroy: true });
      const configRef = ref('aws_msk_configuration', () => true);
      expect(all('aws_msk_cluster')[0].configuration_info).toEqual({ arn: `\${${configRef}.arn}`, revision: `\${${configRef}.latest_revision}` });
    });
  });

  describe('storage autoscaling', () => {
    it('scales broker volumes up to the maximum and keeps Terraform from shrinking them back', () => {
      const { all } = synth();
      const [target] = all('aws_appautoscaling_target');
      expect(target).toMatchObject({ service_namespace: 'kafka', scalable_dimension: 'kafka:broker-storage:VolumeSize', max_capacity: 500 });
      const [policy] = all('aws_appautoscaling_policy');
      expect(policy.policy_type).toBe('TargetTrackingScaling');
      expect(policy.target_tracking_scaling_policy_configuration).toMatchObject({
        target_value: 60,
        predefined_metric_specification: { predefined_metric_type: 'KafkaBrokerStorageUtilization' },
      });
      const [cluster] = all('aws_msk_cluster');
      expect(cluster.broker_node_group_info.storage_info.ebs_storage_info.volume_size).toBe(100);
      expect(cluster.lifecycle.ignore_changes).toEqual(['broker_node_group_info[0].storage_info[0].ebs_storage_info[0].volume_size']);
    });

    it('rejects a maximum below the initial size', () => {
      expect(() => synth({ storage: { volumeSizeGiB: 100, maxVolumeSizeGiB: 50 } })).toThrow(/storage.maxVolumeSizeGiB \(50\)/);
    });

    it('accepts the storage autoscaling targets MSK accepts (10-80) and nothing else', () => {
      const storage = (targetUtilizationPercent: number) => ({ storage: { volumeSizeGiB: 100, maxVolumeSizeGiB: 500, targetUtilizationPercent } });
      expect(synth(storage(80)).all('aws_appautoscaling_policy')[0].target_tracking_scaling_policy_configuration.target_value).toBe(80);
      expect(() => synth(storage(81))).toThrow(/storage.targetUtilizationPercent \(81\) must be between 10 and 80/);
      expect(() => synth(storage(9))).toThrow(/storage.targetUtilizationPercent \(9\)/);
    });
  });

  describe('protection and overrides', () => {
    it('sets prevent_destroy on the cluster and its key', () => {
      const { all } = synth({ preventDestroy: true });
      expect(all('aws_msk_cluster')[0].lifecycle.prevent_destroy).toBe(true);
      expect(all('aws_kms_key')[0].lifecycle).toEqual({ prevent_destroy: true });
    });

    it('uses given keys instead of creating one', () => {
      const dataKey = 'arn:aws:kms:eu-west-1:111122223333:key/data';
      const logKey = 'arn:aws:kms:eu-west-1:111122223333:key/logs';
      const { all } = synth({ encryption: { kmsKey: dataKey }, logging: { retentionInDays: 7, kmsKey: logKey } });
      expect(all('aws_kms_key')).toHaveLength(0);
      expect(all('aws_msk_cluster')[0].encryption_info.encryption_at_rest_kms_key_arn).toBe(dataKey);
      expect(all('aws_cloudwatch_log_group')[0].kms_key_id).toBe(logKey);
    });

    it('allows extra client security groups on the client ports', () => {
      const { all } = synth({}, (kafka) => kafka.allowClientsFrom('sg-eks', 'EKS cluster'));
      expect(all('aws_vpc_security_group_ingress_rule')).toContainEqual(
        expect.objectContaining({ referenced_security_group_id: 'sg-eks', from_port: 9098, description: 'EKS cluster, port 9098' }),
      );
    });
  });

  describe('grants', () => {
    const topicArn = (topic: string) =>
      expect.stringMatching(new RegExp(`:kafka:.+:topic/sdp-test/\\$\\{aws_msk_cluster\\.[^.]+\\.cluster_uuid\\}/${topic.replace('.', '\\.')}$`));
    const resources = (doc: Block): string[] => doc.Statement.flatMap((s: Block) => [s.Resource].flat());

    it('grantProduce names only the given topics and the cluster', () => {
      const { policies, ref } = synth({}, (kafka, stack) => kafka.grantProduce(role(stack, 'ingest'), ['telemetry.raw', 'telemetry.dlq']));
      const [{ name, doc }] = policies();
      const clusterArn = `\${${ref('aws_msk_cluster', () => true)}.arn}`;
      expect(name).toBe('msk-sdp-test-produce');
      expect(doc.Statement).toEqual([
        { Sid: 'ConnectToCluster', Effect: 'Allow', Action: ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster'], Resource: clusterArn },
        { Sid: 'IdempotentWrites', Effect: 'Allow', Action: 'kafka-cluster:WriteDataIdempotently', Resource: clusterArn },
        {
          Sid: 'WriteTopics',
          Effect: 'Allow',
          Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
          Resource: [topicArn('telemetry.raw'), topicArn('telemetry.dlq')],
        },
      ]);
      expect(resources(doc).some((r) => r.includes('*'))).toBe(false);
    });

    it('grantConsume names only the given topics and group', () => {
      const { policies } = synth({}, (kafka, stack) => kafka.grantConsume(role(stack, 'sink'), ['telemetry.raw'], 'cassandra-sink'));
      const [{ name, doc }] = policies();
      expect(name).toBe('msk-sdp-test-consume-cassandra-sink');
      const read = doc.Statement.find((s: Block) => s.Sid === 'ReadTopics');
      expect(read).toEqual({
        Sid: 'ReadTopics',
        Effect: 'Allow',
        Action: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
        Resource: [topicArn('telemetry.raw')],
      });
      const group = doc.Statement.find((s: Block) => s.Sid === 'UseGroup');
      expect(group.Action).toEqual(['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup']);
      expect(group.Resource).toMatch(/:group\/sdp-test\/\$\{aws_msk_cluster\.[^.]+\.cluster_uuid\}\/cassandra-sink$/);
      expect(resources(doc).some((r) => r.includes('*'))).toBe(false);
      expect(doc.Statement.flatMap((s: Block) => s.Action)).not.toContain('kafka-cluster:WriteData');
    });

    it('grantTransactions allows only transactional ids under the given prefix, and refuses a wildcard prefix', () => {
      const { policies } = synth({}, (kafka, stack) => kafka.grantTransactions(role(stack, 'processor'), 'telemetry-processor.'));
      const [{ name, doc }] = policies();
      expect(name).toBe('msk-sdp-test-transactions');
      const ids = doc.Statement.find((s: Block) => s.Sid === 'UseTransactionalIds');
      expect(ids.Action).toEqual(['kafka-cluster:DescribeTransactionalId', 'kafka-cluster:AlterTransactionalId']);
      expect(ids.Resource).toMatch(/:transactional-id\/sdp-test\/\$\{aws_msk_cluster\.[^.]+\.cluster_uuid\}\/telemetry-processor\.\*$/);
      expect(() => synth({}, (kafka, stack) => kafka.grantTransactions(role(stack, 'p'), '*'))).toThrow(/literal prefix/);
    });

    it('grantTopicAdmin can create and alter only the given topics', () => {
      const { policies } = synth({}, (kafka, stack) => kafka.grantTopicAdmin(role(stack, 'topics'), ['telemetry.raw']));
      const [{ doc }] = policies();
      const manage = doc.Statement.find((s: Block) => s.Sid === 'ManageTopics');
      expect(manage.Action).toEqual(
        expect.arrayContaining(['kafka-cluster:CreateTopic', 'kafka-cluster:AlterTopic', 'kafka-cluster:AlterTopicDynamicConfiguration']),
      );
      expect(manage.Resource).toEqual([topicArn('telemetry.raw')]);
      expect(resources(doc).some((r) => r.includes('*'))).toBe(false);
    });

    it('keeps two grants of the same kind to one role apart', () => {
      const { policies } = synth({}, (kafka, stack) => {
        const r = role(stack, 'ingest');
        kafka.grantProduce(r, ['a']);
        kafka.grantProduce(r, ['b']);
      });
      expect(
        policies()
          .map((p) => p.name)
          .sort(),
      ).toEqual(['msk-sdp-test-produce', 'msk-sdp-test-produce-2']);
    });

    it('refuses wildcards and empty topic lists', () => {
      expect(() => synth({}, (kafka, stack) => kafka.grantProduce(role(stack, 'r'), ['telemetry.*']))).toThrow(/wildcards are not granted/);
      expect(() => synth({}, (kafka, stack) => kafka.grantProduce(role(stack, 'r'), []))).toThrow(/at least one topic/);
      expect(() => synth({}, (kafka, stack) => kafka.grantConsume(role(stack, 'r'), ['a'], '*'))).toThrow(/groupId/);
    });
  });
});

describe('KafkaCluster.grantDescribeGroups', () => {
  it('lets an autoscaler read lag (describe topics and groups) without reading data or moving offsets', () => {
    const { Testing, TerraformStack } = require('cdktf');
    const { AwsProvider } = require('@cdktf/provider-aws/lib/provider');
    const { IamRole } = require('@cdktf/provider-aws/lib/iam-role');
    const { KafkaCluster } = require('../../constructs/kafka-cluster');
    const stack = new TerraformStack(Testing.app(), 'keda');
    new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
    const kafka = new KafkaCluster(stack, 'kafka', {
      name: 'k',
      vpcId: 'vpc-1',
      subnetIds: ['a', 'b'],
      kafkaVersion: '3.8.x',
      brokerCount: 2,
      instanceType: 'kafka.m7g.large',
      logRetentionHours: 24,
      storage: { volumeSizeGiB: 10, maxVolumeSizeGiB: 20 },
      logging: { retentionInDays: 7 },
    });
    const role = new IamRole(stack, 'keda', { name: 'keda', assumeRolePolicy: '{}' });
    kafka.grantDescribeGroups(role, ['t1'], ['g1', 'g2']);
    const synth = JSON.parse(Testing.synth(stack));
    const doc = JSON.parse(Object.values<any>(synth.resource.aws_iam_role_policy)[0].policy);
    const actions = doc.Statement.flatMap((s: any) => [].concat(s.Action));
    expect(actions).toEqual(expect.arrayContaining(['kafka-cluster:DescribeGroup', 'kafka-cluster:DescribeTopic']));
    expect(actions).not.toContain('kafka-cluster:ReadData');
    expect(actions).not.toContain('kafka-cluster:AlterGroup');
    const groups = doc.Statement.find((s: any) => s.Sid === 'DescribeGroups').Resource;
    expect(groups).toHaveLength(2);
    expect(groups[1]).toMatch(/:group\/k\/.*\/g2$/);
    expect(() => kafka.grantDescribeGroups(role, ['t1'], [])).toThrow(/at least one group/);
  });
});
