/**
 * Network paths over the whole synthesized graph: every destination of every workload (from the
 * catalog through `destinationsOf`) must be allowed on every hop a packet takes:
 *
 *   pod NetworkPolicy egress -> the pods' security group egress -> the destination's security
 *   group ingress (interface endpoint or MSK brokers) / the S3 gateway route.
 *
 * Each hop is read from the synthesized resources, not from the code that built them, so a rule
 * that one construct forgets (the endpoint group admitting only 443 while Keyspaces needs 9142)
 * fails here even though every construct's own test passes.
 *
 * What it cannot prove: it models AWS and Kubernetes semantics in a few lines. The EKS-created
 * cluster security group is not in the synth; it is taken to allow all egress and all traffic
 * among its members, as EKS creates it. Routes other than the S3 gateway's are not checked.
 */
import { Testing } from 'cdktf';
import { allApps } from '../../apps/contracts/apps';
import { dev, EnvironmentConfig, prod, staging, validateEnvironment } from '../../config';
import { validateBootstrap } from '../../config/bootstrap';
import { cidrContains, parseCidr } from '../../config/schema';
import { MSK_OPEN_MONITORING_PORTS } from '../../constructs/kafka-cluster';
import { deliveryFor } from '../../main';
import { Destination, destinationsOf, TOPIC_ADMIN_NEEDS, WorkloadNeeds } from '../../stacks/pipeline-workloads';
import { PlatformStack } from '../../stacks/platform-stack';

type Block = Record<string, any>;
type Synth = { resource: Record<string, Record<string, Block>> };

function synthEnv(config: EnvironmentConfig): Synth {
  return JSON.parse(Testing.synth(new PlatformStack(Testing.app(), { config, delivery: deliveryFor(validateBootstrap(), config.name) })));
}

/** Read-only view of one synthesized stack, resolving the references the hops need. */
class Graph {
  constructor(private readonly synth: Synth) {}

  all(type: string): [string, Block][] {
    return Object.entries(this.synth.resource[type] ?? {});
  }

  /** `${aws_subnet.x.id}` -> the subnet's CIDR block. */
  subnetCidr(ref: string): string {
    const id = /^\$\{aws_subnet\.([^.]+)\.id\}$/.exec(ref)?.[1];
    const subnet = id && this.synth.resource.aws_subnet?.[id];
    if (!subnet) throw new Error(`cannot resolve subnet reference ${ref}`);
    return subnet.cidr_block;
  }

  /** Where pods run: the node groups' subnets. */
  podSubnetCidrs(): string[] {
    return [...new Set(this.all('aws_eks_node_group').flatMap(([, g]) => g.subnet_ids.map((r: string) => this.subnetCidr(r))))];
  }

  clusterSecurityGroupRef(): string {
    const [[id]] = this.all('aws_eks_cluster');
    return `\${aws_eks_cluster.${id}.vpc_config[0].cluster_security_group_id}`;
  }

  /** Security groups of the pods: a launch template's groups if set, else the EKS cluster group. */
  podSecurityGroups(): string[] {
    const fromTemplates = this.all('aws_launch_template').flatMap(([, t]) => t.vpc_security_group_ids ?? []);
    return fromTemplates.length > 0 ? fromTemplates : [this.clusterSecurityGroupRef()];
  }

  private rulesOf(type: string, groupRef: string): Block[] {
    return this.all(type)
      .map(([, r]) => r)
      .filter((r) => r.security_group_id === groupRef);
  }

  /** Does `groupRef` let traffic out to `cidrs` on `port`? */
  egressAllows(groupRef: string, cidrs: readonly string[], port: number, protocol: 'tcp' | 'udp'): boolean {
    // The EKS-created group allows all egress; Terraform rules can only add to that.
    if (groupRef === this.clusterSecurityGroupRef()) return true;
    return this.rulesOf('aws_vpc_security_group_egress_rule', groupRef).some(
      (r) => ruleCovers(r, port, protocol) && r.cidr_ipv4 !== undefined && cidrs.every((c) => contains(r.cidr_ipv4, c)),
    );
  }

  /** Does some group in `groupRefs` admit traffic on `port` from the pods (their CIDRs or their group)? */
  ingressAllows(groupRefs: readonly string[], port: number, protocol: 'tcp' | 'udp'): boolean {
    const sources = this.podSecurityGroups();
    const podCidrs = this.podSubnetCidrs();
    return groupRefs.some((g) =>
      this.rulesOf('aws_vpc_security_group_ingress_rule', g).some(
        (r) =>
          ruleCovers(r, port, protocol) &&
          (sources.includes(r.referenced_security_group_id) || (r.cidr_ipv4 !== undefined && podCidrs.every((c) => contains(r.cidr_ipv4, c)))),
      ),
    );
  }

  interfaceEndpoint(service: string): Block | undefined {
    return this.all('aws_vpc_endpoint')
      .map(([, e]) => e)
      .find((e) => e.vpc_endpoint_type === 'Interface' && String(e.service_name).endsWith(`.${service}`));
  }

  mskClusters(): Block[] {
    return this.all('aws_msk_cluster').map(([, c]) => c);
  }

  /** The allow policy of a workload's pods, by its name. */
  networkPolicy(name: string): Block | undefined {
    return this.all('kubernetes_network_policy_v1')
      .map(([, p]) => p)
      .find((p) => p.metadata.name === name);
  }
}

const contains = (outer: string, inner: string): boolean => {
  const o = parseCidr(outer);
  const i = parseCidr(inner);
  return o !== undefined && i !== undefined && cidrContains(o, i);
};

function ruleCovers(rule: Block, port: number, protocol: 'tcp' | 'udp'): boolean {
  if (rule.ip_protocol === '-1') return true;
  return rule.ip_protocol === protocol && rule.from_port <= port && port <= rule.to_port;
}

/** Does the policy's egress let `port/protocol` out to every one of `cidrs`? */
function policyAllowsCidrs(policy: Block, cidrs: readonly string[], port: number, protocol: 'TCP' | 'UDP'): boolean {
  return (policy.spec.egress ?? []).some(
    (e: Block) =>
      (e.ports ?? []).some((p: Block) => p.port === String(port) && (p.protocol ?? 'TCP') === protocol) &&
      cidrs.every((c) =>
        (e.to ?? []).some((t: Block) => t.ip_block && contains(t.ip_block.cidr, c) && !(t.ip_block.except ?? []).some((x: string) => contains(x, c))),
      ),
  );
}

function policyAllowsKubeDns(policy: Block, protocol: 'TCP' | 'UDP'): boolean {
  return (policy.spec.egress ?? []).some(
    (e: Block) =>
      (e.ports ?? []).some((p: Block) => p.port === '53' && p.protocol === protocol) &&
      (e.to ?? []).some(
        (t: Block) =>
          t.namespace_selector?.match_labels?.['kubernetes.io/metadata.name'] === 'kube-system' && t.pod_selector?.match_labels?.['k8s-app'] === 'kube-dns',
      ),
  );
}

/** Every hop that blocks `destination` for the pods governed by `policyName`; empty when the path is open. */
function blockedHops(g: Graph, policyName: string, destination: Destination): string[] {
  const policy = g.networkPolicy(policyName);
  if (!policy) return [`no NetworkPolicy ${policyName}`];
  const blocked: string[] = [];
  const podGroups = g.podSecurityGroups();
  const check = (hop: string, ok: boolean) => {
    if (!ok) blocked.push(hop);
  };
  switch (destination.kind) {
    case 'cluster-dns':
      for (const protocol of ['UDP', 'TCP'] as const) check(`NetworkPolicy egress to kube-dns ${protocol}/53`, policyAllowsKubeDns(policy, protocol));
      break;
    case 'kafka': {
      const clusters = g.mskClusters();
      check('an MSK cluster', clusters.length > 0);
      for (const msk of clusters) {
        const cidrs = msk.broker_node_group_info.client_subnets.map((r: string) => g.subnetCidr(r));
        check(`NetworkPolicy egress to the brokers' subnets on ${destination.port}`, policyAllowsCidrs(policy, cidrs, destination.port, 'TCP'));
        check(
          `pod security group egress on ${destination.port}`,
          podGroups.every((sg) => g.egressAllows(sg, cidrs, destination.port, 'tcp')),
        );
        check(`broker security group ingress on ${destination.port}`, g.ingressAllows(msk.broker_node_group_info.security_groups, destination.port, 'tcp'));
      }
      break;
    }
    case 'interface-endpoint': {
      const endpoint = g.interfaceEndpoint(destination.service);
      if (!endpoint) return [`an interface endpoint for ${destination.service}`];
      const cidrs = endpoint.subnet_ids.map((r: string) => g.subnetCidr(r));
      check(
        `NetworkPolicy egress to the ${destination.service} endpoint's subnets on ${destination.port}`,
        policyAllowsCidrs(policy, cidrs, destination.port, 'TCP'),
      );
      check(
        `pod security group egress on ${destination.port}`,
        podGroups.every((sg) => g.egressAllows(sg, cidrs, destination.port, 'tcp')),
      );
      check(
        `${destination.service} endpoint security group ingress on ${destination.port}`,
        g.ingressAllows(endpoint.security_group_ids, destination.port, 'tcp'),
      );
      break;
    }
    case 's3-gateway': {
      const anywhere = ['0.0.0.0/0'];
      check(`NetworkPolicy egress to S3's public prefixes on ${destination.port}`, policyAllowsCidrs(policy, anywhere, destination.port, 'TCP'));
      check(
        `pod security group egress on ${destination.port}`,
        podGroups.every((sg) => g.egressAllows(sg, anywhere, destination.port, 'tcp')),
      );
      const gateway = g
        .all('aws_vpc_endpoint')
        .map(([, e]) => e)
        .find((e) => e.vpc_endpoint_type === 'Gateway' && String(e.service_name).endsWith('.s3'));
      const podRouteTables = g
        .all('aws_route_table_association')
        .map(([, a]) => a)
        .filter((a) => g.podSubnetCidrs().includes(g.subnetCidr(a.subnet_id)))
        .map((a) => a.route_table_id);
      check("S3 gateway endpoint on the pods' route tables", gateway !== undefined && podRouteTables.every((rt) => gateway.route_table_ids.includes(rt)));
      break;
    }
  }
  return blocked;
}

const workloads: [string, string, WorkloadNeeds][] = [
  ...allApps.map((a): [string, string, WorkloadNeeds] => [a.name, `${a.name}-allow`, a]),
  ['topic job', 'topic-admin-allow', TOPIC_ADMIN_NEEDS],
];

describe.each([
  ['dev', dev],
  ['staging', staging],
  ['prod', prod],
] as const)('network paths in %s', (_env, input) => {
  const graph = new Graph(synthEnv(validateEnvironment(input)));

  describe.each(workloads)('%s', (_name, policyName, needs) => {
    it.each(destinationsOf(needs).map((d) => [d.description, d] as const))('reaches %s on every hop', (_d, destination) => {
      expect(blockedHops(graph, policyName, destination)).toEqual([]);
    });
  });

  it("lets Prometheus scrape the brokers' JMX and node exporters", () => {
    const monitoringPolicies = graph.all('kubernetes_network_policy_v1').filter(([, p]) => p.metadata.namespace === 'monitoring');
    // Prometheus runs without an egress policy; one added later must open the exporters too.
    expect(monitoringPolicies).toEqual([]);
    for (const msk of graph.mskClusters()) {
      const cidrs = msk.broker_node_group_info.client_subnets.map((r: string) => graph.subnetCidr(r));
      for (const port of Object.values(MSK_OPEN_MONITORING_PORTS)) {
        expect([port, graph.podSecurityGroups().every((sg) => graph.egressAllows(sg, cidrs, port, 'tcp'))]).toEqual([port, true]);
        expect([port, graph.ingressAllows(msk.broker_node_group_info.security_groups, port, 'tcp')]).toEqual([port, true]);
      }
    }
  });
});
