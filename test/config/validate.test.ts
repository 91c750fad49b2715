import { dev, EnvironmentConfigInput, environments, PLACEHOLDER_IMAGE_TAG, prod, staging, validateEnvironment, validateEnvironments } from '../../config';
import { configIssues } from './config-issues';

/** Deep-merges a patch into a copy of an environment, so each case states only what it breaks. */
function withPatch(base: EnvironmentConfigInput, patch: Record<string, unknown>): EnvironmentConfigInput {
  const merge = (a: any, b: any): any =>
    b && typeof b === 'object' && !Array.isArray(b)
      ? Object.fromEntries([...new Set([...Object.keys(a ?? {}), ...Object.keys(b)])].map((k) => [k, k in b ? merge(a?.[k], b[k]) : a[k]]))
      : b;
  return merge(structuredClone(base), patch);
}

function issuesOf(input: EnvironmentConfigInput): string[] {
  const issues = configIssues(input);
  if (issues.length === 0) throw new Error('expected a ConfigError');
  return issues;
}

describe('environment config', () => {
  it('accepts the shipped environments and derives Kafka durability from broker count', () => {
    const [d, s, p] = validateEnvironments(environments);
    expect([d.name, s.name, p.name]).toEqual(['dev', 'staging', 'prod']);
    expect(d.kafka).toMatchObject({ replicationFactor: 2, minInsyncReplicas: 1 });
    expect(s.kafka).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(p.kafka).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2 });
  });

  it('names the environment and the field in the error message', () => {
    expect(() => validateEnvironment(withPatch(staging, { kafka: { brokerCount: 4 } }))).toThrow(
      /\[staging\] kafka\.brokerCount: 4 is not a multiple of the AZ count \(3\)/,
    );
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['broker count not a multiple of AZs', { kafka: { brokerCount: 3 } }, /^kafka\.brokerCount: 3 is not a multiple/],
    [
      'overlapping subnets',
      { network: { privateSubnetCidrs: ['10.10.16.0/20', '10.10.16.0/24'] } },
      /^network\.privateSubnetCidrs\[1\]: .*overlaps network\.privateSubnetCidrs\[0\]/,
    ],
    [
      'subnet outside the VPC',
      { network: { publicSubnetCidrs: ['10.10.0.0/24', '10.99.1.0/24'] } },
      /^network\.publicSubnetCidrs\[1\]: 10\.99\.1\.0\/24 is outside the VPC CIDR/,
    ],
    ['host bits set in a CIDR', { network: { vpcCidr: '10.10.1.0/16' } }, /^network\.vpcCidr: must be an IPv4 CIDR/],
    ['unknown Kafka instance family', { kafka: { instanceType: 'kafka.x9.large' } }, /^kafka\.instanceType: unknown instance type family 'x9'/],
    [
      'unknown node instance family',
      { kubernetes: { nodeGroups: [{ name: 'g', instanceTypes: ['zz1.large'], capacityType: 'SPOT', minSize: 1, desiredSize: 1, maxSize: 2 }] } },
      /^kubernetes\.nodeGroups\[0\]\.instanceTypes\[0\]: unknown instance type family in 'zz1\.large'/,
    ],
    ['retention below the floor', { kafka: { logRetentionHours: 6 } }, /^kafka\.logRetentionHours: 6 is below the floor of 24 hours/],
    ['min ISR equal to RF', { kafka: { replicationFactor: 2, minInsyncReplicas: 2 } }, /^kafka\.minInsyncReplicas: 2 must be below the replication factor/],
    ['RF above broker count', { kafka: { replicationFactor: 3 } }, /^kafka\.replicationFactor: 3 exceeds kafka\.brokerCount/],
    ['AZ outside the region', { network: { availabilityZones: ['eu-west-1a', 'us-east-1b'] } }, /^network\.availabilityZones: 'us-east-1b' is not in region/],
    [
      'node group sizes out of order',
      { kubernetes: { nodeGroups: [{ name: 'g', instanceTypes: ['t3.large'], capacityType: 'SPOT', minSize: 3, desiredSize: 1, maxSize: 2 }] } },
      /^kubernetes\.nodeGroups\[0\]: sizes must satisfy/,
    ],
    ['lifecycle out of order', { lake: { glacierAfterDays: 30 } }, /^lake\.glacierAfterDays: 30 must be at least 30 days after/],
    ['provisioned capacity without units', { keyspaces: { capacityMode: 'PROVISIONED' } }, /^keyspaces\.capacityMode: PROVISIONED needs/],
    ['invalid log retention', { network: { flowLogsRetentionDays: 10 } }, /^network\.flowLogsRetentionDays: must be one of CloudWatch Logs' retention periods/],
    ['unknown field', { kafka: { brokers: 3 } }, /^kafka: Unrecognized key/],
    ['bad email', { monitoring: { alertEmails: ['not-an-email'] } }, /^monitoring\.alertEmails\[0\]: /],
    [
      'MSK storage autoscaling target above 80',
      { kafka: { storageAutoscalingTargetPercent: 85 } },
      /^kafka\.storageAutoscalingTargetPercent: must be at most 80/,
    ],
    ['the placeholder as an image tag', { apps: { imageTag: PLACEHOLDER_IMAGE_TAG } }, /^apps\.imageTag: 'placeholder-set-APP_IMAGE_TAG' is reserved/],
    [
      'a repeated admin role',
      { kubernetes: { adminRoleArns: ['arn:aws:iam::123456789012:role/admin', 'arn:aws:iam::123456789012:role/admin'] } },
      /^kubernetes\.adminRoleArns\[1\]: repeats/,
    ],
    [
      'an admin role of another account',
      { accountId: '123456789012', kubernetes: { adminRoleArns: ['arn:aws:iam::210987654321:role/admin'] } },
      /^kubernetes\.adminRoleArns\[0\]: is in account 210987654321, not the environment's account 123456789012/,
    ],
  ])('rejects %s', (_name, patch, expected) => {
    expect(issuesOf(withPatch(dev, patch))).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it('enforces resilience rules on the production tier', () => {
    const weakProd = withPatch(prod, {
      network: { natGateways: 'single' },
      keyspaces: { pointInTimeRecovery: false },
      protectData: false,
      kafka: { replicationFactor: 2, minInsyncReplicas: 1 },
    });
    expect(issuesOf(weakProd)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^network\.natGateways: production needs 'per-az'/),
        expect.stringMatching(/^keyspaces\.pointInTimeRecovery: production needs/),
        expect.stringMatching(/^protectData: production needs/),
        expect.stringMatching(/^kafka\.replicationFactor: production needs replication factor 3/),
        expect.stringMatching(/^kafka\.minInsyncReplicas: production needs min\.insync\.replicas >= 2/),
      ]),
    );
    // The same values are fine outside production.
    expect(() => validateEnvironment(withPatch(weakProd, { tier: 'non-production', monitoring: { alertEmails: [] } }))).not.toThrow();
  });

  describe('API endpoint: only combinations Terraform can reach', () => {
    /** Replaces the endpoint whole (withPatch would merge the fields of two access modes). */
    const withEndpoint = (base: EnvironmentConfigInput, e: Record<string, unknown>): EnvironmentConfigInput => {
      const copy = structuredClone(base);
      (copy.kubernetes as Record<string, unknown>).endpoint = e;
      return copy;
    };

    it('accepts a public allow-list or a private endpoint with the networks Terraform runs from', () => {
      expect(() => validateEnvironment(withEndpoint(dev, { access: 'public-and-private', publicAccessCidrs: ['198.51.100.0/24'] }))).not.toThrow();
      expect(() => validateEnvironment(withEndpoint(dev, { access: 'private', terraformRunnerCidrs: ['10.99.0.0/24'] }))).not.toThrow();
    });

    it.each<[string, Record<string, unknown>, RegExp]>([
      [
        'an empty public allow-list',
        { access: 'public-and-private', publicAccessCidrs: [] },
        /^kubernetes\.endpoint\.publicAccessCidrs: must list at least one CIDR/,
      ],
      [
        'private-only without a runner network',
        { access: 'private', terraformRunnerCidrs: [] },
        /^kubernetes\.endpoint\.terraformRunnerCidrs: must list where Terraform runs/,
      ],
      ['private-only with no runner field at all', { access: 'private' }, /^kubernetes\.endpoint\.terraformRunnerCidrs: /],
      [
        'a private range on the public endpoint',
        { access: 'public-and-private', publicAccessCidrs: ['198.51.100.0/24', '10.0.0.0/8'] },
        /^kubernetes\.endpoint\.publicAccessCidrs\[1\]: 10\.0\.0\.0\/8 is a private range/,
      ],
      [
        'a public range as a private runner network',
        { access: 'private', terraformRunnerCidrs: ['198.51.100.0/24'] },
        /^kubernetes\.endpoint\.terraformRunnerCidrs\[0\]: 198\.51\.100\.0\/24 is not a private/,
      ],
      ['an unknown access mode', { access: 'public' }, /^kubernetes\.endpoint\.access: /],
    ])('rejects %s', (_name, e, expected) => {
      expect(issuesOf(withEndpoint(dev, e))).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
    });

    it('keeps the production API server off the open internet, but allows it outside production', () => {
      const open = { access: 'public-and-private', publicAccessCidrs: ['0.0.0.0/0'] };
      expect(issuesOf(withEndpoint(prod, open))).toEqual([
        expect.stringMatching(/^kubernetes\.endpoint\.publicAccessCidrs\[0\]: 0\.0\.0\.0\/0 opens the production API server/),
      ]);
      expect(() => validateEnvironment(withEndpoint(staging, open))).not.toThrow();
    });
  });

  it('needs a break-glass admin role in production', () => {
    expect(issuesOf(withPatch(prod, { kubernetes: { adminRoleArns: [] } }))).toEqual([
      expect.stringMatching(/^kubernetes\.adminRoleArns: production needs a break-glass admin role/),
    ]);
  });

  it('ships no image tag: nothing publishes a default one', () => {
    for (const env of environments) expect([env.name, env.apps.imageTag]).toEqual([env.name, undefined]);
    expect(validateEnvironment(dev).apps.imageTag).toBe(PLACEHOLDER_IMAGE_TAG);
    expect(validateEnvironment(withPatch(dev, { apps: { imageTag: 'abc123' } })).apps.imageTag).toBe('abc123');
  });

  it('rejects environments whose VPCs overlap or whose names repeat', () => {
    expect(() =>
      validateEnvironments([
        dev,
        withPatch(staging, {
          network: {
            vpcCidr: '10.10.0.0/16',
            publicSubnetCidrs: ['10.10.0.0/24', '10.10.1.0/24', '10.10.2.0/24'],
            privateSubnetCidrs: ['10.10.16.0/20', '10.10.32.0/20', '10.10.48.0/20'],
          },
        }),
      ]),
    ).toThrow(/\[staging\] network\.vpcCidr: 10\.10\.0\.0\/16 overlaps environment 'dev'/);
    expect(() => validateEnvironments([dev, dev])).toThrow(/\[dev\] name: duplicates/);
  });
});
