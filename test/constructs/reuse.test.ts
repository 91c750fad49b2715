/**
 * Reuse from another cdktf app: a custom stack built from `constructs/index.ts` alone
 * (the package's public API), with grants wired between constructs.
 */
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Testing, TerraformStack } from 'cdktf';
import * as platform from '../../constructs';

describe('constructs/index.ts public API', () => {
  it('exports every construct', () => {
    for (const name of ['Network', 'KafkaCluster', 'KubernetesCluster', 'Keyspace', 'DataLake', 'Monitoring', 'ContainerRegistry', 'EncryptionKey']) {
      expect([name, typeof (platform as Record<string, unknown>)[name]]).toEqual([name, 'function']);
    }
  });

  it('builds a small custom stack: a VPC, a Kafka cluster and a lake, with a consumer role granted on both', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'team-analytics');
    new AwsProvider(stack, 'aws', { region: 'eu-central-1' });
    const network = new platform.Network(stack, 'net', {
      name: 'team-a',
      vpcCidr: '10.50.0.0/16',
      availabilityZones: ['eu-central-1a', 'eu-central-1b'],
      publicSubnetCidrs: ['10.50.0.0/24', '10.50.1.0/24'],
      privateSubnetCidrs: ['10.50.16.0/20', '10.50.32.0/20'],
      natGateways: 'single',
      flowLogs: { retentionInDays: 30 },
    });
    const kafka = new platform.KafkaCluster(stack, 'kafka', {
      name: 'team-a',
      vpcId: network.vpcId,
      subnetIds: network.privateSubnetIds,
      kafkaVersion: '3.8.x',
      brokerCount: 2,
      instanceType: 'kafka.m7g.large',
      logRetentionHours: 48,
      storage: { volumeSizeGiB: 100, maxVolumeSizeGiB: 200 },
      logging: { retentionInDays: 30 },
    });
    const lake = new platform.DataLake(stack, 'lake', { name: 'team-a', tables: [], catalog: { databaseName: 'team_a_lake' } });
    const role = new IamRole(stack, 'consumer', {
      name: 'team-a-consumer',
      assumeRolePolicy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
    });
    kafka.grantConsume(role, ['orders.v1'], 'team-a-loader');
    lake.grantWrite(role, 'orders/');

    const synth = JSON.parse(Testing.synth(stack));
    expect(Object.keys(synth.resource.aws_msk_cluster)).toHaveLength(1);
    expect(Object.keys(synth.resource.aws_s3_bucket).length).toBeGreaterThanOrEqual(2);
    const policies = Object.values<any>(synth.resource.aws_iam_role_policy).map((p) => JSON.parse(p.policy));
    const resources = policies.flatMap((p) => p.Statement.flatMap((s: any) => [].concat(s.Resource)));
    expect(resources.some((r: string) => r.includes('/orders.v1'))).toBe(true);
    expect(resources.some((r: string) => r.includes('/team-a-loader'))).toBe(true);
    expect(resources.some((r: string) => r.endsWith('/orders/*'))).toBe(true);
    expect(resources).not.toContain('*');
  });
});
