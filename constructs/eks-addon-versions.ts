/**
 * EKS add-on versions, pinned per Kubernetes minor version. A data source choosing "the default"
 * at plan time turns every AWS release into a plan diff and an unreviewed upgrade; a pin makes
 * an upgrade a reviewed change. Refresh with
 * `aws eks describe-addon-versions --kubernetes-version <v> --addon-name <name>` (the version
 * marked `defaultVersion: true`), and bump together with the cluster version.
 */
import type { EKS_VERSIONS } from '../config/schema';

export const EKS_ADDON_NAMES = ['vpc-cni', 'kube-proxy', 'eks-pod-identity-agent', 'coredns', 'aws-ebs-csi-driver'] as const;
export type EksAddonName = (typeof EKS_ADDON_NAMES)[number];
export type EksAddonVersions = Readonly<Record<EksAddonName, string>>;

/** Every EKS version the config accepts has a row: the type fails to compile otherwise. */
export const EKS_ADDON_VERSIONS = {
  '1.32': {
    'vpc-cni': 'v1.20.4-eksbuild.1',
    'kube-proxy': 'v1.32.6-eksbuild.2',
    'eks-pod-identity-agent': 'v1.3.8-eksbuild.2',
    coredns: 'v1.11.4-eksbuild.14',
    'aws-ebs-csi-driver': 'v1.48.0-eksbuild.2',
  },
  '1.33': {
    'vpc-cni': 'v1.20.4-eksbuild.1',
    'kube-proxy': 'v1.33.3-eksbuild.4',
    'eks-pod-identity-agent': 'v1.3.8-eksbuild.2',
    coredns: 'v1.12.1-eksbuild.2',
    'aws-ebs-csi-driver': 'v1.48.0-eksbuild.2',
  },
  '1.34': {
    'vpc-cni': 'v1.20.4-eksbuild.1',
    'kube-proxy': 'v1.34.0-eksbuild.2',
    'eks-pod-identity-agent': 'v1.3.8-eksbuild.2',
    coredns: 'v1.12.3-eksbuild.1',
    'aws-ebs-csi-driver': 'v1.48.0-eksbuild.2',
  },
} as const satisfies Record<(typeof EKS_VERSIONS)[number], EksAddonVersions>;

/** The pinned versions for a Kubernetes version, with overrides (e.g. from config) on top. */
export function eksAddonVersions(kubernetesVersion: string, overrides: Partial<EksAddonVersions> = {}): EksAddonVersions {
  const pinned = (EKS_ADDON_VERSIONS as Record<string, EksAddonVersions | undefined>)[kubernetesVersion];
  if (!pinned) {
    throw new Error(
      `no pinned EKS add-on versions for Kubernetes ${kubernetesVersion}; add a row to EKS_ADDON_VERSIONS in constructs/eks-addon-versions.ts (known: ${Object.keys(EKS_ADDON_VERSIONS).join(', ')})`,
    );
  }
  return { ...pinned, ...overrides };
}
