/**
 * The three environments. Edit here: every value is validated at synth time (./validate.ts).
 * Before the first deploy set `accountId` and `state.bucket` to your own (see README, "Set up CI").
 */
import { EnvironmentConfigInput } from './schema';

const region = 'eu-west-1';
const state = { bucket: 'sdp-terraform-state-example', region };

export const dev: EnvironmentConfigInput = {
  name: 'dev',
  tier: 'non-production',
  region,
  tags: { CostCenter: 'data-platform-dev' },
  state,
  network: {
    vpcCidr: '10.10.0.0/16',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    publicSubnetCidrs: ['10.10.0.0/24', '10.10.1.0/24'],
    privateSubnetCidrs: ['10.10.16.0/20', '10.10.32.0/20'],
    natGateways: 'single',
    flowLogsRetentionDays: 14,
  },
  kafka: {
    kafkaVersion: '3.8.x',
    brokerCount: 2,
    instanceType: 'kafka.t3.small',
    volumeSizeGiB: 20,
    maxVolumeSizeGiB: 100,
    logRetentionHours: 24,
    enhancedMonitoring: 'PER_BROKER',
    brokerLogRetentionDays: 7,
  },
  kubernetes: {
    version: '1.33',
    // GitHub-hosted runners have no fixed addresses, so the allow-list is open; every request still
    // needs an IAM identity with an EKS access entry. Narrow it to your runners' and VPN's egress.
    endpoint: { access: 'public-and-private', publicAccessCidrs: ['0.0.0.0/0'] },
    // Sizes are per availability zone (one node group per AZ).
    nodeGroups: [{ name: 'general', instanceTypes: ['t3.large', 't3a.large', 'm5.large'], capacityType: 'SPOT', minSize: 1, desiredSize: 1, maxSize: 2 }],
    controlPlaneLogRetentionDays: 7,
  },
  keyspaces: {
    keyspaceName: 'telemetry_dev',
    pointInTimeRecovery: false,
    capacityMode: 'PAY_PER_REQUEST',
    readingsTtlDays: 30,
    aggregatesTtlDays: 90,
  },
  lake: {
    infrequentAccessAfterDays: 30,
    glacierAfterDays: 60,
    expireAfterDays: 180,
    accessLogsExpireAfterDays: 30,
    athenaResultsExpireAfterDays: 7,
  },
  monitoring: {
    mskDiskUsedPercentThreshold: 80,
    mskCpuPercentThreshold: 85,
    nodeCpuPercentThreshold: 90,
  },
  apps: {
    producer: { replicas: 1, ratePerSecond: 200, devices: 100 },
    processor: { minReplicas: 1, maxReplicas: 4 },
    cassandraSink: { minReplicas: 1, maxReplicas: 4 },
    lakeSink: { minReplicas: 1, maxReplicas: 4 },
    lagThreshold: 5000,
  },
  sizing: { peakEventsPerSecond: 1_000 },
  protectData: false,
  kmsDeletionWindowDays: 7,
};

export const staging: EnvironmentConfigInput = {
  name: 'staging',
  tier: 'non-production',
  region,
  tags: { CostCenter: 'data-platform-staging' },
  state,
  network: {
    vpcCidr: '10.20.0.0/16',
    availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    publicSubnetCidrs: ['10.20.0.0/24', '10.20.1.0/24', '10.20.2.0/24'],
    privateSubnetCidrs: ['10.20.16.0/20', '10.20.32.0/20', '10.20.48.0/20'],
    natGateways: 'single',
    flowLogsRetentionDays: 30,
  },
  kafka: {
    kafkaVersion: '3.8.x',
    brokerCount: 3,
    instanceType: 'kafka.m7g.large',
    volumeSizeGiB: 100,
    maxVolumeSizeGiB: 500,
    logRetentionHours: 72,
    enhancedMonitoring: 'PER_TOPIC_PER_BROKER',
    brokerLogRetentionDays: 30,
  },
  kubernetes: {
    version: '1.33',
    // GitHub-hosted runners have no fixed addresses, so the allow-list is open; every request still
    // needs an IAM identity with an EKS access entry. Narrow it to your runners' and VPN's egress.
    endpoint: { access: 'public-and-private', publicAccessCidrs: ['0.0.0.0/0'] },
    nodeGroups: [{ name: 'general', instanceTypes: ['m6i.large', 'm6a.large'], capacityType: 'ON_DEMAND', minSize: 1, desiredSize: 1, maxSize: 2 }],
    controlPlaneLogRetentionDays: 30,
  },
  keyspaces: {
    keyspaceName: 'telemetry_staging',
    pointInTimeRecovery: true,
    capacityMode: 'PAY_PER_REQUEST',
    readingsTtlDays: 90,
    aggregatesTtlDays: 365,
  },
  lake: {
    infrequentAccessAfterDays: 30,
    glacierAfterDays: 90,
    expireAfterDays: 365,
    accessLogsExpireAfterDays: 90,
    athenaResultsExpireAfterDays: 14,
  },
  monitoring: {
    alertEmails: ['data-platform-staging@example.com'],
    mskDiskUsedPercentThreshold: 75,
    mskCpuPercentThreshold: 80,
    nodeCpuPercentThreshold: 85,
  },
  apps: {
    producer: { replicas: 1, ratePerSecond: 1000, devices: 1000 },
    processor: { minReplicas: 1, maxReplicas: 6 },
    cassandraSink: { minReplicas: 1, maxReplicas: 6 },
    lakeSink: { minReplicas: 1, maxReplicas: 6 },
    lagThreshold: 5000,
  },
  sizing: { peakEventsPerSecond: 10_000 },
  protectData: false,
  kmsDeletionWindowDays: 14,
};

export const prod: EnvironmentConfigInput = {
  name: 'prod',
  tier: 'production',
  region,
  tags: { CostCenter: 'data-platform-prod' },
  state,
  network: {
    vpcCidr: '10.30.0.0/16',
    availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    publicSubnetCidrs: ['10.30.0.0/24', '10.30.1.0/24', '10.30.2.0/24'],
    privateSubnetCidrs: ['10.30.16.0/20', '10.30.32.0/20', '10.30.48.0/20'],
    natGateways: 'per-az',
    flowLogsRetentionDays: 365,
  },
  kafka: {
    kafkaVersion: '3.8.x',
    brokerCount: 6,
    instanceType: 'kafka.m7g.xlarge',
    volumeSizeGiB: 1000,
    maxVolumeSizeGiB: 4000,
    replicationFactor: 3,
    minInsyncReplicas: 2,
    logRetentionHours: 168,
    enhancedMonitoring: 'PER_TOPIC_PER_PARTITION',
    brokerLogRetentionDays: 365,
  },
  kubernetes: {
    version: '1.33',
    // Private API server: Terraform runs on self-hosted runners in this network (README, "Deploy").
    endpoint: { access: 'private', terraformRunnerCidrs: ['10.99.0.0/24'] },
    // Break-glass: the one role people use when CI cannot deploy; create it before the first deploy.
    adminRoleArns: ['arn:aws:iam::123456789012:role/platform-break-glass'],
    nodeGroups: [{ name: 'general', instanceTypes: ['m6i.xlarge', 'm6a.xlarge'], capacityType: 'ON_DEMAND', minSize: 1, desiredSize: 1, maxSize: 4 }],
    controlPlaneLogRetentionDays: 365,
  },
  keyspaces: {
    keyspaceName: 'telemetry_prod',
    pointInTimeRecovery: true,
    capacityMode: 'PAY_PER_REQUEST',
    readingsTtlDays: 0,
    aggregatesTtlDays: 0,
  },
  lake: {
    infrequentAccessAfterDays: 30,
    glacierAfterDays: 180,
    accessLogsExpireAfterDays: 365,
    athenaResultsExpireAfterDays: 30,
  },
  monitoring: {
    alertEmails: ['data-platform-oncall@example.com'],
    mskDiskUsedPercentThreshold: 70,
    mskCpuPercentThreshold: 70,
    nodeCpuPercentThreshold: 80,
  },
  apps: {
    producer: { replicas: 0, ratePerSecond: 1000, devices: 1000 },
    processor: { minReplicas: 2, maxReplicas: 12 },
    cassandraSink: { minReplicas: 2, maxReplicas: 12 },
    lakeSink: { minReplicas: 2, maxReplicas: 12 },
    lagThreshold: 5000,
  },
  sizing: { peakEventsPerSecond: 100_000 },
  protectData: true,
  kmsDeletionWindowDays: 30,
};

export const environments: readonly EnvironmentConfigInput[] = [dev, staging, prod];
