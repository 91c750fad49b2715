import { HelmProvider } from '@cdktf/provider-helm/lib/provider';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';

export interface KubernetesProvidersProps {
  /** EKS cluster name, passed to `aws eks get-token`. */
  readonly clusterName: string;
  /** API server URL (`aws_eks_cluster.endpoint`). */
  readonly endpoint: string;
  /** Base64-encoded CA bundle as EKS returns it (`certificate_authority[0].data`). */
  readonly certificateAuthorityData: string;
  /** Region of the cluster, so the token is signed for the right STS endpoint. */
  readonly region: string;
  /**
   * Provider alias, for a stack that talks to more than one cluster.
   * @default no alias (the stack's default kubernetes and helm providers)
   */
  readonly alias?: string;
}

export interface KubernetesProviders {
  readonly kubernetes: KubernetesProvider;
  readonly helm: HelmProvider;
}

/**
 * Configures the `kubernetes` and `helm` providers against an EKS cluster of the same stack.
 *
 * Authentication is a short-lived token from `aws eks get-token`, fetched by an exec plugin
 * every time Terraform connects, so no long-lived credential lands in the state or the plan,
 * and the caller's own AWS identity (an EKS access entry) decides what it may do. The
 * endpoint is only known after the cluster exists; Terraform defers provider configuration
 * until then, which is what lets one `cdktf deploy` create the cluster and its workloads.
 */
export function configureKubernetesProviders(scope: Construct, props: KubernetesProvidersProps): KubernetesProviders {
  const host = props.endpoint;
  const clusterCaCertificate = Fn.base64decode(props.certificateAuthorityData);
  const exec = {
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    command: 'aws',
    args: ['eks', 'get-token', '--cluster-name', props.clusterName, '--region', props.region, '--output', 'json'],
  };
  const suffix = props.alias ? `-${props.alias}` : '';
  const kubernetes = new KubernetesProvider(scope, `kubernetes${suffix}`, {
    alias: props.alias,
    host,
    clusterCaCertificate,
    exec: [exec],
  });
  // Helm provider 3.x: `kubernetes` is a single nested object, not a block list.
  const helm = new HelmProvider(scope, `helm${suffix}`, {
    alias: props.alias,
    kubernetes: { host, clusterCaCertificate, exec },
  });
  return { kubernetes, helm };
}
