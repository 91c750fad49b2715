import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { FlowLog } from '@cdktf/provider-aws/lib/flow-log';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway';
import { Route } from '@cdktf/provider-aws/lib/route';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Construct } from 'constructs';
import { AwsContext } from './aws-context';
import { grant, trustPolicy } from './iam';
import { cloudWatchLogsKeyStatement, EncryptionKey } from './kms-key';

/** Interface endpoints that keep image pulls, credential exchange and logging off the NAT. */
export const DEFAULT_INTERFACE_ENDPOINTS: readonly string[] = ['ecr.api', 'ecr.dkr', 'sts', 'logs'];

/** Ports of endpoint services that do not serve HTTPS on 443 (Keyspaces speaks CQL over TLS on 9142). */
export const INTERFACE_ENDPOINT_PORTS: Readonly<Record<string, readonly number[]>> = { cassandra: [9142], 'cassandra-fips': [9142] };

/** The ports an interface endpoint of `service` listens on. */
export function interfaceEndpointPorts(service: string): readonly number[] {
  return INTERFACE_ENDPOINT_PORTS[service] ?? [443];
}

export interface NetworkProps {
  /** Prefix of every resource name, e.g. `sdp-dev`. */
  readonly name: string;

  // Network
  readonly vpcCidr: string;
  /** At least two; subnets are created in this order. */
  readonly availabilityZones: readonly string[];
  /** One per availability zone, in the same order. Only NAT gateways and load balancers live here. */
  readonly publicSubnetCidrs: readonly string[];
  /** One per availability zone, in the same order. Workloads, brokers and endpoints live here. */
  readonly privateSubnetCidrs: readonly string[];
  /**
   * `per-az` keeps each AZ's egress independent of the others; `single` saves cost for
   * non-production at the price of one AZ's NAT being a shared point of failure.
   * @default 'per-az'
   */
  readonly natGateways?: 'single' | 'per-az';
  /**
   * Interface endpoint service suffixes (`com.amazonaws.<region>.<suffix>`) reachable with private
   * DNS from the private subnets, each behind its own security group that admits the VPC on the
   * service's ports only (`interfaceEndpointPorts`). An S3 gateway endpoint is always added.
   * @default ['ecr.api', 'ecr.dkr', 'sts', 'logs']
   */
  readonly interfaceEndpoints?: readonly string[];

  // Logging
  readonly flowLogs: {
    /** CloudWatch Logs retention of the VPC flow logs (ALL traffic). */
    readonly retentionInDays: number;
    /**
     * ARN of the CMK encrypting the flow log group; its key policy must let
     * `logs.<region>.amazonaws.com` use it.
     * @default a key created for the flow logs
     */
    readonly kmsKey?: string;
  };

  // Kubernetes
  /**
   * EKS cluster that will use this VPC: tags subnets for load balancer placement
   * (`kubernetes.io/role/elb`, `kubernetes.io/role/internal-elb`) and Karpenter discovery.
   * @default no Kubernetes tags
   */
  readonly clusterName?: string;

  // Protection
  /**
   * Terraform `prevent_destroy` on the flow-log key: destroying it makes the audit trail unreadable.
   * @default false
   */
  readonly preventDestroy?: boolean;
}

/**
 * A VPC spread over the given AZs: public subnets for NAT and load balancers only, private
 * subnets routed through NAT, flow logs to an encrypted log group, the default security group
 * closed, and VPC endpoints so AWS API traffic stays inside the VPC.
 */
export class Network extends Construct {
  readonly vpc: Vpc;
  readonly publicSubnets: readonly Subnet[];
  readonly privateSubnets: readonly Subnet[];
  readonly natGateways: readonly NatGateway[];
  readonly privateRouteTables: readonly RouteTable[];
  readonly flowLogGroup: CloudwatchLogGroup;
  /** One per interface endpoint, by service suffix. */
  readonly endpointSecurityGroups: Readonly<Record<string, SecurityGroup>>;
  readonly s3Endpoint: VpcEndpoint;
  readonly interfaceEndpoints: readonly VpcEndpoint[];

  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly availabilityZones: readonly string[];
  readonly publicSubnetIds: string[];
  readonly privateSubnetIds: string[];
  readonly privateRouteTableIds: string[];

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    validate(this.node.path, props);
    const ctx = AwsContext.of(this);
    const { name } = props;
    const azs = props.availabilityZones;
    const tag = (suffix: string, extra: Record<string, string> = {}) => ({ Name: `${name}-${suffix}`, ...extra });

    this.vpc = new Vpc(this, 'vpc', {
      cidrBlock: props.vpcCidr,
      enableDnsSupport: true,
      enableDnsHostnames: true,
      tags: { Name: name },
    });
    this.vpcId = this.vpc.id;
    this.vpcCidr = props.vpcCidr;
    this.availabilityZones = [...azs];

    // AWS creates the default group with allow-all rules; adopting it with no rules closes it.
    new DefaultSecurityGroup(this, 'default-security-group', {
      vpcId: this.vpc.id,
      tags: tag('default-closed'),
    });

    // Public tier
    const igw = new InternetGateway(this, 'igw', { vpcId: this.vpc.id, tags: tag('igw') });
    const publicRouteTable = new RouteTable(this, 'public-rt', { vpcId: this.vpc.id, tags: tag('public') });
    new Route(this, 'public-default-route', {
      routeTableId: publicRouteTable.id,
      destinationCidrBlock: '0.0.0.0/0',
      gatewayId: igw.id,
    });
    const k8sPublicTags: Record<string, string> = props.clusterName ? { 'kubernetes.io/role/elb': '1' } : {};
    this.publicSubnets = azs.map((az, i) => {
      const subnet = new Subnet(this, `public-${az}`, {
        vpcId: this.vpc.id,
        availabilityZone: az,
        cidrBlock: props.publicSubnetCidrs[i],
        mapPublicIpOnLaunch: false,
        tags: tag(`public-${az}`, k8sPublicTags),
      });
      new RouteTableAssociation(this, `public-${az}-rta`, { subnetId: subnet.id, routeTableId: publicRouteTable.id });
      return subnet;
    });

    const natAzs = (props.natGateways ?? 'per-az') === 'per-az' ? azs : azs.slice(0, 1);
    this.natGateways = natAzs.map((az, i) => {
      const eip = new Eip(this, `nat-eip-${az}`, { domain: 'vpc', tags: tag(`nat-${az}`) });
      return new NatGateway(this, `nat-${az}`, {
        allocationId: eip.allocationId,
        subnetId: this.publicSubnets[i].id,
        tags: tag(`nat-${az}`),
        dependsOn: [igw],
      });
    });

    // Private tier: one route table per AZ, so per-az NAT needs no re-plumbing.
    const k8sPrivateTags: Record<string, string> = props.clusterName
      ? { 'kubernetes.io/role/internal-elb': '1', 'karpenter.sh/discovery': props.clusterName }
      : {};
    const privateRouteTables: RouteTable[] = [];
    this.privateSubnets = azs.map((az, i) => {
      const subnet = new Subnet(this, `private-${az}`, {
        vpcId: this.vpc.id,
        availabilityZone: az,
        cidrBlock: props.privateSubnetCidrs[i],
        mapPublicIpOnLaunch: false,
        tags: tag(`private-${az}`, k8sPrivateTags),
      });
      const routeTable = new RouteTable(this, `private-${az}-rt`, { vpcId: this.vpc.id, tags: tag(`private-${az}`) });
      new Route(this, `private-${az}-default-route`, {
        routeTableId: routeTable.id,
        destinationCidrBlock: '0.0.0.0/0',
        natGatewayId: this.natGateways[Math.min(i, this.natGateways.length - 1)].id,
      });
      new RouteTableAssociation(this, `private-${az}-rta`, { subnetId: subnet.id, routeTableId: routeTable.id });
      privateRouteTables.push(routeTable);
      return subnet;
    });
    this.privateRouteTables = privateRouteTables;
    this.publicSubnetIds = this.publicSubnets.map((s) => s.id);
    this.privateSubnetIds = this.privateSubnets.map((s) => s.id);
    this.privateRouteTableIds = privateRouteTables.map((rt) => rt.id);

    // Flow logs
    const logGroupName = `/aws/vpc/${name}/flow-logs`;
    const flowLogKeyArn =
      props.flowLogs.kmsKey ??
      new EncryptionKey(this, 'flow-logs-key', {
        alias: `${name}-flow-logs`,
        description: `Encrypts the VPC flow logs of ${name}`,
        additionalStatements: [cloudWatchLogsKeyStatement(this, logGroupName, 'CloudWatchLogsEncryptsFlowLogs')],
        preventDestroy: props.preventDestroy,
      }).arn;
    this.flowLogGroup = new CloudwatchLogGroup(this, 'flow-logs', {
      name: logGroupName,
      retentionInDays: props.flowLogs.retentionInDays,
      kmsKeyId: flowLogKeyArn,
    });
    const flowLogRole = new IamRole(this, 'flow-logs-role', {
      name: `${name}-vpc-flow-logs`,
      description: `Lets VPC Flow Logs write ${logGroupName}`,
      assumeRolePolicy: trustPolicy([
        {
          Effect: 'Allow',
          Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
          Action: 'sts:AssumeRole',
          // Confused-deputy guard: only flow logs of this account may use the role.
          Condition: {
            StringEquals: { 'aws:SourceAccount': ctx.accountId },
            ArnLike: { 'aws:SourceArn': ctx.arn('ec2', 'vpc-flow-log/*') },
          },
        },
      ]),
    });
    const writeFlowLogs = grant(this, flowLogRole, 'write-flow-logs', [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        Resource: [this.flowLogGroup.arn, `${this.flowLogGroup.arn}:*`],
      },
    ]);
    new FlowLog(this, 'flow-log', {
      vpcId: this.vpc.id,
      trafficType: 'ALL',
      logDestinationType: 'cloud-watch-logs',
      logDestination: this.flowLogGroup.arn,
      iamRoleArn: flowLogRole.arn,
      maxAggregationInterval: 60,
      tags: tag('flow-log'),
      dependsOn: [writeFlowLogs],
    });

    // Endpoints
    this.s3Endpoint = new VpcEndpoint(this, 's3-endpoint', {
      vpcId: this.vpc.id,
      serviceName: `com.amazonaws.${ctx.region}.s3`,
      vpcEndpointType: 'Gateway',
      routeTableIds: this.privateRouteTableIds,
      tags: tag('s3'),
    });
    // One group per endpoint: Keyspaces needs 9142, the others 443, and neither should get both.
    // No egress rules: endpoints only answer, and security groups are stateful.
    const endpointSecurityGroups: Record<string, SecurityGroup> = {};
    this.interfaceEndpoints = (props.interfaceEndpoints ?? DEFAULT_INTERFACE_ENDPOINTS).map((service) => {
      const id = service.replace(/\./g, '-');
      const ports = interfaceEndpointPorts(service);
      const securityGroup = new SecurityGroup(this, `endpoint-${id}-sg`, {
        name: `${name}-endpoint-${id}`,
        description: `TCP ${ports.join(', ')} from inside ${name} to the ${service} interface endpoint`,
        vpcId: this.vpc.id,
        tags: tag(`endpoint-${id}`),
      });
      for (const port of ports) {
        new VpcSecurityGroupIngressRule(this, `endpoint-${id}-${port}-from-vpc`, {
          securityGroupId: securityGroup.id,
          description: `${service} on ${port} from the VPC`,
          ipProtocol: 'tcp',
          fromPort: port,
          toPort: port,
          cidrIpv4: props.vpcCidr,
        });
      }
      endpointSecurityGroups[service] = securityGroup;
      return new VpcEndpoint(this, `endpoint-${id}`, {
        vpcId: this.vpc.id,
        serviceName: `com.amazonaws.${ctx.region}.${service}`,
        vpcEndpointType: 'Interface',
        privateDnsEnabled: true,
        subnetIds: this.privateSubnetIds,
        securityGroupIds: [securityGroup.id],
        tags: tag(service),
      });
    });
    this.endpointSecurityGroups = endpointSecurityGroups;
  }
}

function validate(path: string, props: NetworkProps): void {
  const azCount = props.availabilityZones.length;
  const fail = (field: string, message: string) => {
    throw new Error(`${path}: ${field} ${message}`);
  };
  if (azCount < 2) fail('availabilityZones', `has ${azCount} entries; give at least 2 so MSK and EKS can span AZs`);
  if (new Set(props.availabilityZones).size !== azCount) fail('availabilityZones', 'must not repeat an AZ');
  for (const key of ['publicSubnetCidrs', 'privateSubnetCidrs'] as const) {
    if (props[key].length !== azCount) {
      fail(key, `has ${props[key].length} entries but there are ${azCount} availability zones; give one per AZ`);
    }
  }
}
