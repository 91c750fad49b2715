import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { ITerraformDependable, TerraformResource, TerraformStack } from 'cdktf';

/**
 * What the add-ons and apps need from the EKS cluster: roles that pods assume through EKS Pod
 * Identity. `KubernetesCluster` provides it; a structural type keeps this module independent.
 */
export interface PodIdentityHost {
  readonly clusterName: string;
  addPodIdentityRole(id: string, namespace: string, serviceAccount: string): IamRole;
}

/**
 * EKS Pod Identity injects credentials when a pod is admitted, so pods must be created after
 * the role's association. The association is created next to the role; depend on what is.
 */
export function podIdentityDependencies(role: IamRole | undefined): ITerraformDependable[] {
  if (!role) return [];
  const parent = role.node.scope;
  if (!parent || parent instanceof TerraformStack) return [role];
  return parent.node.children.filter((c): c is TerraformResource => c instanceof TerraformResource);
}
