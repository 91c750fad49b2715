/**
 * Graph invariant: on the first apply of an environment, nothing talks to the Kubernetes API
 * before the cluster admits the identity applying it, and nothing that creates pods is applied
 * before there are nodes and the EKS add-ons for them to run.
 *
 * The graph is Terraform's: an edge for every `depends_on` entry and for every reference
 * (`${aws_x.name...}`, `${data.aws_x.name...}`, `${local.name}`) in a block's attributes.
 * It is built from the synthesized JSON of every environment stack, so a resource added by any
 * construct is checked without touching this file, unless its type is new: then the table
 * below must say whether it creates pods.
 */
import { App, Testing, TerraformStack } from 'cdktf';
import { buildApp } from '../../main';
import { PlatformStack } from '../../stacks/platform-stack';

/** Every in-cluster type the stacks use, and whether applying it creates pods. */
const IN_CLUSTER_TYPES: Record<string, 'creates pods' | 'API objects only'> = {
  helm_release: 'creates pods',
  kubernetes_deployment_v1: 'creates pods',
  kubernetes_job_v1: 'creates pods',
  kubernetes_stateful_set_v1: 'creates pods',
  kubernetes_daemon_set_v1: 'creates pods',
  kubernetes_cron_job_v1: 'creates pods',
  kubernetes_config_map_v1: 'API objects only',
  kubernetes_namespace_v1: 'API objects only',
  kubernetes_network_policy_v1: 'API objects only',
  kubernetes_pod_disruption_budget_v1: 'API objects only',
  kubernetes_service_account_v1: 'API objects only',
  kubernetes_service_v1: 'API objects only',
  kubernetes_storage_class_v1: 'API objects only',
  kubernetes_manifest: 'API objects only',
  kubernetes_secret_v1: 'API objects only',
  kubernetes_role_v1: 'API objects only',
  kubernetes_role_binding_v1: 'API objects only',
  kubernetes_cluster_role_v1: 'API objects only',
  kubernetes_cluster_role_binding_v1: 'API objects only',
};
const isInCluster = (type: string) => type.startsWith('kubernetes_') || type.startsWith('helm_');

type Block = Record<string, unknown>;
interface TerraformJson {
  resource?: Record<string, Record<string, Block>>;
  data?: Record<string, Record<string, Block>>;
  locals?: Record<string, unknown>;
}

/** The contents of every `${...}` in a string, with nested braces (`jsonencode({...})`) kept whole. */
function interpolations(text: string): string[] {
  const found: string[] = [];
  for (let start = text.indexOf('${'); start !== -1; start = text.indexOf('${', start + 2)) {
    let depth = 0;
    for (let i = start + 1; i < text.length; i++) {
      if (text[i] === '{') depth++;
      else if (text[i] === '}' && --depth === 0) {
        found.push(text.slice(start + 2, i));
        break;
      }
    }
  }
  return found;
}

/** Addresses (`type.name`, `data.type.name`, `local.name`) each block refers to or depends on. */
function dependencyGraph(tf: TerraformJson): Map<string, Set<string>> {
  const blocks = new Map<string, Block | unknown>();
  for (const [type, byName] of Object.entries(tf.resource ?? {})) for (const [name, b] of Object.entries(byName)) blocks.set(`${type}.${name}`, b);
  for (const [type, byName] of Object.entries(tf.data ?? {})) for (const [name, b] of Object.entries(byName)) blocks.set(`data.${type}.${name}`, b);
  for (const [name, value] of Object.entries(tf.locals ?? {})) blocks.set(`local.${name}`, value);

  const graph = new Map<string, Set<string>>();
  for (const [address, block] of blocks) {
    const edges = new Set<string>();
    const { depends_on: dependsOn, ...attributes } = (typeof block === 'object' && block !== null ? block : { value: block }) as Block;
    for (const d of (dependsOn as string[] | undefined) ?? []) edges.add(d);
    for (const expr of interpolations(JSON.stringify(attributes))) {
      for (const m of expr.matchAll(/\b(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+/g)) {
        if (blocks.has(m[0]) && m[0] !== address) edges.add(m[0]);
      }
    }
    graph.set(address, edges);
  }
  return graph;
}

function transitiveDependencies(graph: Map<string, Set<string>>, from: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.get(from) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.get(next) ?? []));
  }
  return seen;
}

const typeOf = (address: string) => (address.startsWith('data.') ? address.split('.')[1] : address.split('.')[0]);

const app = buildApp(Testing.app() as App);
const stacks = app.node.children.filter((c): c is PlatformStack => c instanceof PlatformStack);
const synthesized = stacks.map((stack) => [stack.node.id, JSON.parse(Testing.synth(stack as TerraformStack)) as TerraformJson] as const);

describe.each(synthesized)('deploy ordering of %s', (_env, tf) => {
  const graph = dependencyGraph(tf);
  const addresses = [...graph.keys()];
  const ofType = (type: string) => addresses.filter((a) => typeOf(a) === type && !a.startsWith('data.'));
  const inCluster = addresses.filter((a) => isInCluster(typeOf(a)));
  // Cluster admins are who applies: the CI deploy role and the people in kubernetes.adminRoleArns.
  const adminAccess = Object.entries(tf.resource?.aws_eks_access_policy_association ?? {})
    .filter(([, b]) => String(b.policy_arn).endsWith('/AmazonEKSClusterAdminPolicy'))
    .map(([name]) => `aws_eks_access_policy_association.${name}`);
  const compute = [...ofType('aws_eks_node_group'), ...ofType('aws_eks_addon')];

  it('has in-cluster resources, admin access policy associations, node groups and add-ons to check', () => {
    expect(inCluster.length).toBeGreaterThan(0);
    expect(adminAccess.length).toBeGreaterThan(0);
    expect(ofType('aws_eks_node_group').length).toBeGreaterThan(0);
    expect(ofType('aws_eks_addon').map((a) => a.split('.')[1])).toEqual(
      expect.arrayContaining([
        expect.stringContaining('vpc-cni'),
        expect.stringContaining('coredns'),
        expect.stringContaining('kube-proxy'),
        expect.stringContaining('eks-pod-identity-agent'),
      ]),
    );
  });

  it('says of every in-cluster type whether it creates pods', () => {
    const unclassified = [...new Set(inCluster.map(typeOf))].filter((t) => !(t in IN_CLUSTER_TYPES));
    expect(unclassified).toEqual([]);
  });

  it('applies every kubernetes_* and helm_* block after the admin access policy associations', () => {
    const missing = inCluster.flatMap((a) => {
      const deps = transitiveDependencies(graph, a);
      return adminAccess.filter((x) => !deps.has(x)).map((x) => `${a} does not wait for ${x}`);
    });
    expect(missing).toEqual([]);
  });

  it('applies everything that creates pods after every node group and EKS add-on', () => {
    const missing = inCluster
      .filter((a) => IN_CLUSTER_TYPES[typeOf(a)] === 'creates pods')
      .flatMap((a) => {
        const deps = transitiveDependencies(graph, a);
        return compute.filter((x) => !deps.has(x)).map((x) => `${a} does not wait for ${x}`);
      });
    expect(missing).toEqual([]);
  });

  it('has no dependency cycle', () => {
    const cyclic = addresses.filter((a) => transitiveDependencies(graph, a).has(a));
    expect(cyclic).toEqual([]);
  });
});
