import { App, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { DataLake, KafkaCluster, LakeTableLayout, Network, trustPolicy } from '../../constructs';

const app = new App();
const stack = new TerraformStack(app, 'team-analytics');
new AwsProvider(stack, 'aws', { region: 'eu-central-1' });

const network = new Network(stack, 'net', {
  name: 'team-a',
  vpcCidr: '10.50.0.0/16',
  availabilityZones: ['eu-central-1a', 'eu-central-1b'],
  publicSubnetCidrs: ['10.50.0.0/24', '10.50.1.0/24'],
  privateSubnetCidrs: ['10.50.16.0/20', '10.50.32.0/20'],
  natGateways: 'single',
  flowLogs: { retentionInDays: 30 },
});
const kafka = new KafkaCluster(stack, 'kafka', {
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
// The lake's tables are yours: Parquet under a prefix, partitioned by UTC date and hour.
const orders: LakeTableLayout = {
  glueTableName: 'orders',
  prefix: 'orders/',
  columns: [
    { name: 'order_id', type: 'string' },
    { name: 'amount', type: 'double' },
  ],
  partitionKeys: [
    { name: 'dt', type: 'string' },
    { name: 'hour', type: 'string' },
  ],
  projectionStartDate: '2025-01-01',
};
const lake = new DataLake(stack, 'lake', { name: 'team-a', tables: [orders], catalog: { databaseName: 'team_a_lake' } });

const loader = new IamRole(stack, 'loader', {
  name: 'team-a-loader',
  assumeRolePolicy: trustPolicy([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]),
});
kafka.grantConsume(loader, ['orders.v1'], 'team-a-loader'); // exactly that topic and group
lake.grantWrite(loader, orders.prefix); // exactly that prefix
app.synth();
