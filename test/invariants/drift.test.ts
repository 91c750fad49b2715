/**
 * Drift over the whole synthesized graph: Terraform must not manage an object or a field that
 * Kubernetes or AWS deletes or rewrites by itself, or every plan after the first shows changes
 * and the daily drift job opens an issue. The rules:
 *
 * - no Job with `ttl_seconds_after_finished` (the TTL controller deletes it; the next plan recreates it);
 * - a field a controller owns is in `ignore_changes`: replicas of a Deployment KEDA scales, the
 *   desired size of a node group the cluster autoscaler resizes, the volume size of MSK brokers
 *   under storage autoscaling;
 * - no annotation Terraform sets under a prefix that controllers write;
 * - no version chosen by a data source at plan time (an AWS release would change the plan).
 *
 * What it cannot prove: that the list of controller-owned fields is complete. A new controller
 * that scales or rewrites something needs a rule here.
 */
import { Testing } from 'cdktf';
import { parse } from 'yaml';
import { dev, EnvironmentConfig, prod, staging, validateEnvironment } from '../../config';
import { validateBootstrap } from '../../config/bootstrap';
import { deliveryFor } from '../../main';
import { PlatformStack } from '../../stacks/platform-stack';

type Block = Record<string, any>;
type Synth = { resource: Record<string, Record<string, Block>>; data?: Record<string, Record<string, Block>> };

function synthEnv(config: EnvironmentConfig): Synth {
  return JSON.parse(Testing.synth(new PlatformStack(Testing.app(), { config, delivery: deliveryFor(validateBootstrap(), config.name) })));
}

const all = (s: Synth, type: string): [string, Block][] => Object.entries(s.resource[type] ?? {});
const ignored = (r: Block): string[] => r.lifecycle?.ignore_changes ?? [];

/** Annotation prefixes that Kubernetes controllers and tools write on the objects they touch. */
const CONTROLLER_ANNOTATION_PREFIXES = [
  'deployment.kubernetes.io/',
  'kubectl.kubernetes.io/',
  'autoscaling.alpha.kubernetes.io/',
  'meta.helm.sh/',
  'batch.kubernetes.io/',
];

/** Names of Deployments a ScaledObject (rendered through a local-chart Helm release) scales, with its namespace release. */
function kedaScaleTargets(s: Synth): Set<string> {
  const names = new Set<string>();
  for (const [, release] of all(s, 'helm_release')) {
    for (const v of release.values ?? []) {
      const values = parse(v) ?? {};
      for (const so of values.scaledObjects ?? []) names.add(so.spec.scaleTargetRef.name);
    }
  }
  return names;
}

/** Every string in a block, with the attribute path where it sits. */
function* strings(value: unknown, path: string[] = []): Generator<[string[], string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, [...path, String(i)]);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) yield* strings(v, [...path, k]);
}

describe.each([
  ['dev', dev],
  ['staging', staging],
  ['prod', prod],
] as const)('drift in %s', (_env, input) => {
  const synth = synthEnv(validateEnvironment(input));

  it('has no Job that Kubernetes deletes after it finishes', () => {
    const jobs = all(synth, 'kubernetes_job_v1');
    expect(jobs.length).toBeGreaterThan(0);
    for (const [id, job] of jobs) expect([id, job.spec.ttl_seconds_after_finished]).toEqual([id, undefined]);
  });

  it('ignores the replicas of every Deployment KEDA scales', () => {
    const targets = kedaScaleTargets(synth);
    expect(targets.size).toBeGreaterThan(0);
    const deployments = all(synth, 'kubernetes_deployment_v1').filter(([, d]) => targets.has(d.metadata.name));
    expect(deployments.map(([, d]) => d.metadata.name).sort()).toEqual([...targets].sort());
    for (const [id, d] of deployments) expect([id, ignored(d)]).toEqual([id, expect.arrayContaining(['spec[0].replicas'])]);
  });

  it('ignores the desired size of node groups when the cluster autoscaler runs', () => {
    expect(all(synth, 'helm_release').some(([, r]) => r.chart === 'cluster-autoscaler')).toBe(true);
    for (const [id, g] of all(synth, 'aws_eks_node_group')) {
      expect([id, ignored(g)]).toEqual([id, expect.arrayContaining(['scaling_config[0].desired_size'])]);
    }
  });

  it('ignores the broker volume size of every MSK cluster under storage autoscaling', () => {
    const scaled = all(synth, 'aws_appautoscaling_target')
      .filter(([, t]) => t.scalable_dimension === 'kafka:broker-storage:VolumeSize')
      .map(([, t]) => t.resource_id);
    expect(scaled.length).toBeGreaterThan(0);
    for (const [id, msk] of all(synth, 'aws_msk_cluster')) {
      if (!scaled.includes(`\${aws_msk_cluster.${id}.arn}`)) continue;
      expect([id, ignored(msk)]).toEqual([id, expect.arrayContaining(['broker_node_group_info[0].storage_info[0].ebs_storage_info[0].volume_size'])]);
    }
  });

  it('sets no annotation under a prefix that controllers write', () => {
    for (const [type, resources] of Object.entries(synth.resource).filter(([t]) => t.startsWith('kubernetes_'))) {
      for (const [id, r] of Object.entries(resources)) {
        for (const [path, key] of [...strings(r)].flatMap(([p]) => (p.includes('annotations') ? [[p, p[p.indexOf('annotations') + 1]] as const] : []))) {
          const owned = CONTROLLER_ANNOTATION_PREFIXES.some((prefix) => key.startsWith(prefix));
          expect([`${type}.${id}`, path.join('.'), owned]).toEqual([`${type}.${id}`, path.join('.'), false]);
        }
      }
    }
  });

  it('chooses no version with a data source at plan time', () => {
    expect(Object.keys(synth.data?.aws_eks_addon_version ?? {})).toEqual([]);
    for (const [type, resources] of Object.entries(synth.resource)) {
      for (const [id, r] of Object.entries(resources)) {
        for (const [path, value] of strings(r)) {
          if (!/version/i.test(path[path.length - 1] ?? '')) continue;
          expect([`${type}.${id}.${path.join('.')}`, /\$\{data\./.test(value)]).toEqual([`${type}.${id}.${path.join('.')}`, false]);
        }
      }
    }
  });
});
