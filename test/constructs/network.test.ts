import { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { TerraformStack, Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest'; // types for the cdktf matchers (as in the cdktf project template)
import { Network, NetworkProps } from '../../constructs/network';

type Block = Record<string, any>;

const base: NetworkProps = {
  name: 'sdp-test',
  vpcCidr: '10.10.0.0/16',
  availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
  publicSubnetCidrs: ['10.10.0.0/24', '10.10.1.0/24', '10.10.2.0/24'],
  privateSubnetCidrs: ['10.10.16.0/20', '10.10.32.0/20', '10.10.48.0/20'],
  flowLogs: { retentionInDays: 30 },
};

function synth(overrides: Partial<NetworkProps> = {}) {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const network = new Network(stack, 'network', { ...base, ...overrides });
  const raw = Testing.synth(stack);
  const json = JSON.parse(raw) as { resource: Record<string, Record<string, Block>> };
  const all = (type: string): Block[] => Object.values(json.resource[type] ?? {});
  const ref = (type: string, predicate: (b: Block) => boolean): string => {
    const entry = Object.entries(json.resource[type] ?? {}).find(([, b]) => predicate(b));
    if (!entry) throw new Error(`no ${type} matched`);
    return `${type}.${entry[0]}`;
  };
  return { raw, all, ref, network };
}

describe('Network', () => {
  it('creates a VPC with DNS support and hostnames', () => {
    const { raw } = synth();
    expect(raw).toHaveResourceWithProperties(Vpc, {
      cidr_block: '10.10.0.0/16',
      enable_dns_support: true,
      enable_dns_hostnames: true,
    });
  });

  it('creates one public and one private subnet per AZ, none assigning public IPs', () => {
    const { all } = synth();
    const subnets = all('aws_subnet');
    expect(subnets).toHaveLength(6);
    expect(subnets.every((s) => s.map_public_ip_on_launch === false)).toBe(true);
    expect(subnets.map((s) => s.cidr_block).sort()).toEqual([...base.publicSubnetCidrs, ...base.privateSubnetCidrs].sort());
  });

  it('closes the default security group (no rules)', () => {
    const { all, raw } = synth();
    expect(raw).toHaveResource(DefaultSecurityGroup);
    const [sg] = all('aws_default_security_group');
    expect(sg.ingress ?? []).toEqual([]);
    expect(sg.egress ?? []).toEqual([]);
  });

  it('defaults to one NAT gateway per AZ, each private route table using its own', () => {
    const { all } = synth();
    expect(all('aws_nat_gateway')).toHaveLength(3);
    const natRoutes = all('aws_route').filter((r) => r.nat_gateway_id);
    expect(natRoutes).toHaveLength(3);
    expect(new Set(natRoutes.map((r) => r.nat_gateway_id)).size).toBe(3);
    expect(all('aws_route_table')).toHaveLength(4); // 1 public + 1 private per AZ
  });

  it('uses a single NAT gateway for every AZ when natGateways is single', () => {
    const { all } = synth({ natGateways: 'single' });
    expect(all('aws_nat_gateway')).toHaveLength(1);
    expect(all('aws_eip')).toHaveLength(1);
    const natRoutes = all('aws_route').filter((r) => r.nat_gateway_id);
    expect(natRoutes).toHaveLength(3);
    expect(new Set(natRoutes.map((r) => r.nat_gateway_id)).size).toBe(1);
  });

  it('sends ALL traffic flow logs to a KMS-encrypted log group through a role that can only write that group', () => {
    const { all, ref } = synth();
    const logGroupRef = ref('aws_cloudwatch_log_group', (g) => g.name === '/aws/vpc/sdp-test/flow-logs');
    const [logGroup] = all('aws_cloudwatch_log_group');
    expect(logGroup.retention_in_days).toBe(30);
    expect(logGroup.kms_key_id).toMatch(/^\$\{aws_kms_key\..+\.arn\}$/);

    const [flowLog] = all('aws_flow_log');
    expect(flowLog).toMatchObject({ traffic_type: 'ALL', log_destination_type: 'cloud-watch-logs', log_destination: `\${${logGroupRef}.arn}` });

    const [role] = all('aws_iam_role');
    const trust = JSON.parse(role.assume_role_policy);
    expect(trust.Statement[0].Principal).toEqual({ Service: 'vpc-flow-logs.amazonaws.com' });
    expect(trust.Statement[0].Condition.StringEquals['aws:SourceAccount']).toBeDefined();

    const [policy] = all('aws_iam_role_policy');
    const statements = JSON.parse(policy.policy).Statement;
    expect(statements).toHaveLength(1);
    expect(statements[0].Resource).toEqual([`\${${logGroupRef}.arn}`, `\${${logGroupRef}.arn}:*`]);
    expect(statements[0].Action).not.toContain('logs:*');
  });

  it('lets CloudWatch Logs use the created key only for the flow log group', () => {
    const { all } = synth();
    const [key] = all('aws_kms_key');
    expect(key.enable_key_rotation).toBe(true);
    const logsStatement = JSON.parse(key.policy).Statement.find((s: Block) => s.Sid === 'CloudWatchLogsEncryptsFlowLogs');
    expect(logsStatement.Condition.ArnEquals['kms:EncryptionContext:aws:logs:arn']).toMatch(/:log-group:\/aws\/vpc\/sdp-test\/flow-logs$/);
  });

  it('uses a given flow log key instead of creating one', () => {
    const kmsKey = 'arn:aws:kms:eu-west-1:111122223333:key/abc';
    const { all } = synth({ flowLogs: { retentionInDays: 7, kmsKey } });
    expect(all('aws_kms_key')).toHaveLength(0);
    expect(all('aws_cloudwatch_log_group')[0].kms_key_id).toBe(kmsKey);
  });

  it('adds private-DNS interface endpoints, each behind its own group admitting the VPC on its ports only, and an S3 gateway endpoint', () => {
    const { all, ref } = synth({ interfaceEndpoints: ['sts', 'cassandra'] });
    const endpoints = all('aws_vpc_endpoint');
    const iface = endpoints.filter((e) => e.vpc_endpoint_type === 'Interface');
    expect(iface.map((e) => e.service_name.replace(/^com\.amazonaws\.\$\{[^}]+\}\./, '')).sort()).toEqual(['cassandra', 'sts']);
    expect(iface.every((e) => e.private_dns_enabled === true && e.subnet_ids.length === 3)).toBe(true);

    const [s3] = endpoints.filter((e) => e.vpc_endpoint_type === 'Gateway');
    expect(s3.service_name).toMatch(/\.s3$/);
    const privateRouteTables = all('aws_route_table').filter((rt) => rt.tags.Name.includes('private'));
    expect(s3.route_table_ids).toHaveLength(privateRouteTables.length);

    const ingress = all('aws_vpc_security_group_ingress_rule');
    for (const [service, port] of [
      ['sts', 443],
      ['cassandra', 9142],
    ] as const) {
      const sgRef = `\${${ref('aws_security_group', (sg) => sg.name === `sdp-test-endpoint-${service}`)}.id}`;
      expect(iface.find((e) => e.service_name.endsWith(`.${service}`))!.security_group_ids).toEqual([sgRef]);
      expect(ingress.filter((r) => r.security_group_id === sgRef)).toEqual([
        expect.objectContaining({ from_port: port, to_port: port, ip_protocol: 'tcp', cidr_ipv4: '10.10.0.0/16' }),
      ]);
    }
    expect(all('aws_vpc_security_group_egress_rule')).toHaveLength(0);
    expect([...ingress, ...all('aws_security_group')].every((r) => typeof r.description === 'string' && r.description.length > 0)).toBe(true);
  });

  it('defaults to the ECR, STS and CloudWatch Logs endpoints on 443', () => {
    const { all } = synth();
    const iface = all('aws_vpc_endpoint').filter((e) => e.vpc_endpoint_type === 'Interface');
    expect(iface.map((e) => e.service_name.replace(/^com\.amazonaws\.\$\{[^}]+\}\./, '')).sort()).toEqual(['ecr.api', 'ecr.dkr', 'logs', 'sts']);
    expect(all('aws_vpc_security_group_ingress_rule').every((r) => r.from_port === 443 && r.to_port === 443)).toBe(true);
  });

  it('can opt out of interface endpoints but keeps the S3 gateway', () => {
    const { all } = synth({ interfaceEndpoints: [] });
    const endpoints = all('aws_vpc_endpoint');
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0].vpc_endpoint_type).toBe('Gateway');
  });

  it('tags subnets for EKS load balancers and Karpenter when clusterName is set', () => {
    const { raw } = synth({ clusterName: 'sdp-test' });
    expect(raw).toHaveResourceWithProperties(Subnet, {
      cidr_block: '10.10.0.0/24',
      tags: expect.objectContaining({ 'kubernetes.io/role/elb': '1' }),
    });
    expect(raw).toHaveResourceWithProperties(Subnet, {
      cidr_block: '10.10.16.0/20',
      tags: expect.objectContaining({ 'kubernetes.io/role/internal-elb': '1', 'karpenter.sh/discovery': 'sdp-test' }),
    });
  });

  it('adds no Kubernetes tags without clusterName', () => {
    const { all } = synth();
    expect(all('aws_subnet').some((s) => Object.keys(s.tags).some((k) => k.startsWith('kubernetes.io') || k.startsWith('karpenter')))).toBe(false);
  });

  it('exposes ids in AZ order', () => {
    const { network } = synth();
    expect(network.privateSubnetIds).toHaveLength(3);
    expect(network.publicSubnetIds).toHaveLength(3);
    expect(network.privateRouteTableIds).toHaveLength(3);
    expect(network.vpcCidr).toBe('10.10.0.0/16');
  });

  it('rejects subnet lists that do not match the AZs, naming the field', () => {
    expect(() => synth({ privateSubnetCidrs: ['10.10.16.0/20'] })).toThrow(/privateSubnetCidrs has 1 entries but there are 3 availability zones/);
    expect(() => synth({ availabilityZones: ['eu-west-1a'], publicSubnetCidrs: ['10.10.0.0/24'], privateSubnetCidrs: ['10.10.16.0/20'] })).toThrow(
      /availabilityZones has 1 entries/,
    );
  });
});
