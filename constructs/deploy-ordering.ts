/**
 * Orders the in-cluster resources after what they need on the first apply, in one place, so a
 * resource added anywhere in the stack is ordered too.
 *
 * - Every `kubernetes_*` and `helm_*` resource (and data source) waits for the EKS access-policy
 *   associations: before they exist the identity applying it gets 401/403 from the API server.
 * - Everything that schedules pods also waits for the node groups and the EKS add-ons (VPC CNI,
 *   kube-proxy, Pod Identity agent, CoreDNS, EBS CSI): without them pods stay Pending or
 *   crash, and Helm's and the Deployment's rollout waits time out.
 */
import { dependable, IAspect, ITerraformDependable, TerraformDataSource, TerraformResource } from 'cdktf';
import { IConstruct } from 'constructs';

export interface DeployOrderingProps {
  /** Must exist before anything talks to the API server (e.g. `KubernetesCluster.accessReady`). */
  readonly accessReady: readonly ITerraformDependable[];
  /** Must exist before pods can run (e.g. `KubernetesCluster.computeReady`). */
  readonly computeReady: readonly ITerraformDependable[];
}

/** Terraform types applied through the Kubernetes API server. */
export const isInClusterType = (type: string): boolean => type.startsWith('kubernetes_') || type.startsWith('helm_');

/** In-cluster types that create pods: Helm charts, workload controllers, Jobs and bare Pods. */
export const schedulesPods = (type: string): boolean =>
  type === 'helm_release' || /^kubernetes_(deployment|stateful_set|daemon_?set|replication_controller|job|cron_job|pod)(_v\d+)?$/.test(type);

/** Apply once per stack: `Aspects.of(stack).add(new DeployOrdering(cluster))`. */
export class DeployOrdering implements IAspect {
  constructor(private readonly props: DeployOrderingProps) {}

  visit(node: IConstruct): void {
    if (!(node instanceof TerraformResource || node instanceof TerraformDataSource)) return;
    const type = node.terraformResourceType;
    if (!isInClusterType(type)) return;
    const needs = [...this.props.accessReady, ...(schedulesPods(type) ? this.props.computeReady : [])];
    node.dependsOn = [...(node.dependsOn ?? []), ...needs.map(dependable)];
  }
}
