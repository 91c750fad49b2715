/**
 * The one contract every cluster add-on follows (as cdk-eks-blueprints' `ClusterAddOn`): a pinned
 * chart, a namespace, typed values and, when its pods call AWS, a Pod Identity role with exactly
 * one inline policy. `installAddon` turns it into resources the same way for all of them.
 */
import { readFileSync } from 'node:fs';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { Release } from '@cdktf/provider-helm/lib/release';
import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { parse } from 'yaml';
import { grant, PolicyStatement } from '../iam';
import { deepMerge, escapeTerraformTemplate, PodIdentityHost, podIdentityDependencies, repoPath, toHelmValues } from '../kubernetes';

export type AddonName = 'kube-prometheus-stack' | 'keda' | 'metrics-server' | 'cluster-autoscaler' | 'aws-for-fluent-bit' | 'opentelemetry-collector';

export interface HelmChart {
  readonly repository: string;
  readonly chart: string;
  /** Exact version: a range would let a deploy pick up a chart nobody reviewed. */
  readonly version: string;
}

/** An AWS identity for the add-on's service account, through EKS Pod Identity. */
export interface PodIdentityNeeds {
  /** Id of the role on the cluster (`addPodIdentityRole`). */
  readonly roleId: string;
  readonly serviceAccount: string;
  /**
   * The role's inline policy.
   * @default none: the role is granted elsewhere (KEDA's reads of the consumer groups it scales on)
   */
  readonly policy?: { readonly name: string; readonly statements: readonly PolicyStatement[] };
}

export interface ClusterAddon {
  /** Release name; its base values are `helm-values/<name>.yaml`. */
  readonly name: AddonName;
  readonly chart: HelmChart;
  /** Namespace name; a reference to a namespace resource makes the release wait for it. */
  readonly namespace: string;
  /** Typed values, merged over the base values file. */
  readonly values: Record<string, unknown>;
  readonly podIdentity?: PodIdentityNeeds;
  /** @default 600 */
  readonly timeoutSeconds?: number;
}

export interface InstalledAddon {
  readonly release: Release;
  readonly role?: IamRole;
}

/**
 * The role and its policy first, then the release, which waits for both: pods admitted before
 * their Pod Identity association get no credentials. `rawValues` are merged last.
 */
export function installAddon(scope: Construct, cluster: PodIdentityHost, addon: ClusterAddon, rawValues: Record<string, unknown> = {}): InstalledAddon {
  const dependsOn: ITerraformDependable[] = [];
  let role: IamRole | undefined;
  if (addon.podIdentity) {
    const { roleId, serviceAccount, policy } = addon.podIdentity;
    role = cluster.addPodIdentityRole(roleId, addon.namespace, serviceAccount);
    dependsOn.push(...podIdentityDependencies(role));
    if (policy) dependsOn.push(grant(scope, role, policy.name, policy.statements));
  }
  const release = new Release(scope, addon.name, {
    name: addon.name,
    namespace: addon.namespace,
    repository: addon.chart.repository,
    chart: addon.chart.chart,
    version: addon.chart.version,
    values: [toHelmValues(deepMerge(deepMerge(baseValues(addon.name), addon.values), rawValues))],
    // A failed install or upgrade is rolled back instead of leaving a half-applied release.
    atomic: true,
    cleanupOnFail: true,
    maxHistory: 10,
    timeout: addon.timeoutSeconds ?? 600,
    dependsOn: dependsOn.length > 0 ? dependsOn : undefined,
  });
  return { release, role };
}

/**
 * The add-on's values file. It is literal YAML with no Terraform references, so every `${`/`%{` in
 * it (the collector's `${env:MY_POD_IP}`, say) is escaped, or Terraform would read it as a template.
 */
function baseValues(addon: AddonName): Record<string, unknown> {
  return escapeTemplates(parse(readFileSync(repoPath(`helm-values/${addon}.yaml`), 'utf8')) ?? {}) as Record<string, unknown>;
}

function escapeTemplates(value: unknown): unknown {
  if (typeof value === 'string') return escapeTerraformTemplate(value);
  if (Array.isArray(value)) return value.map(escapeTemplates);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [escapeTerraformTemplate(k), escapeTemplates(v)]));
  return value;
}
