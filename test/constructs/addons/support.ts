import { EksPodIdentityAssociation } from '@cdktf/provider-aws/lib/eks-pod-identity-association';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformStack, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { PodIdentityHost } from '../../../constructs/kubernetes';

/**
 * Stands in for KubernetesCluster's Pod Identity: a role and its association side by side, as
 * the real cluster makes them. It cannot prove EKS admits the pods with those credentials.
 */
export class FakeCluster extends Construct implements PodIdentityHost {
  readonly clusterName = 'sdp-test';
  readonly requested: { id: string; namespace: string; serviceAccount: string }[] = [];
  addPodIdentityRole(id: string, namespace: string, serviceAccount: string): IamRole {
    this.requested.push({ id, namespace, serviceAccount });
    const scope = new Construct(this, `pod-identity-${id}`);
    const role = new IamRole(scope, 'role', { name: `sdp-test-${id}`, assumeRolePolicy: '{}' });
    new EksPodIdentityAssociation(scope, 'association', { clusterName: this.clusterName, namespace, serviceAccount, roleArn: role.arn });
    return role;
  }
}

export function testStack(): TerraformStack {
  const stack = new TerraformStack(Testing.app(), 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  return stack;
}

export const synth = (stack: TerraformStack): { resource: Record<string, Record<string, any>> } => JSON.parse(Testing.synth(stack));
