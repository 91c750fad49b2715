/**
 * Reuse from another cdktf app: the README's "Reusing a construct" example is
 * `reuse-example.ts`, run here as it is (a custom stack built from `constructs/index.ts` alone,
 * with grants wired between constructs), and `npm run typecheck` compiles it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as platform from '../../constructs';

const README = readFileSync(join(__dirname, '../../README.md'), 'utf8');
const EXAMPLE = readFileSync(join(__dirname, 'reuse-example.ts'), 'utf8');
const PUBLIC_IMPORT = "'streaming-data-platform/constructs'";

/** The first ```ts block after the section heading. */
function readmeSnippet(heading: string): string {
  const section = README.slice(README.indexOf(heading));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (README.indexOf(heading) < 0 || !match) throw new Error(`README.md: no \`\`\`ts block under '${heading}'`);
  return match[1];
}

describe('constructs/index.ts public API', () => {
  it('exports every construct, the add-ons and the Kubernetes helpers', () => {
    const constructs = [
      'Network',
      'KafkaCluster',
      'KubernetesCluster',
      'Keyspace',
      'DataLake',
      'SecureBucket',
      'Monitoring',
      'ContainerRegistry',
      'EncryptionKey',
    ];
    const onTheCluster = ['ClusterAddons', 'StreamApp', 'TopicAdminJob', 'CustomResources', 'PipelineObservability', 'configureKubernetesProviders'];
    const addons = ['installAddon', 'kubePrometheusStack', 'keda', 'metricsServer', 'clusterAutoscaler', 'awsForFluentBit', 'namespace'];
    for (const name of [...constructs, ...onTheCluster, ...addons]) {
      expect([name, typeof (platform as Record<string, unknown>)[name]]).toEqual([name, 'function']);
    }
  });

  it("is what the README's reuse example shows, with the package's import path", () => {
    expect(readmeSnippet('## Reusing a construct')).toBe(EXAMPLE.replace("'../../constructs'", PUBLIC_IMPORT));
  });

  it('runs the example: a VPC, a Kafka cluster and a lake with its own table, with a consumer role granted on both', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'reuse-example-'));
    const previous = process.env.CDKTF_OUTDIR;
    process.env.CDKTF_OUTDIR = outdir;
    try {
      jest.isolateModules(() => require('./reuse-example'));
    } finally {
      if (previous === undefined) delete process.env.CDKTF_OUTDIR;
      else process.env.CDKTF_OUTDIR = previous;
    }
    const synth = JSON.parse(readFileSync(join(outdir, 'stacks/team-analytics/cdk.tf.json'), 'utf8'));
    expect(Object.keys(synth.resource.aws_msk_cluster)).toHaveLength(1);
    expect(Object.values<any>(synth.resource.aws_glue_catalog_table).map((t) => t.name)).toEqual(['orders']);
    const policies = Object.values<any>(synth.resource.aws_iam_role_policy).map((p) => JSON.parse(p.policy));
    const resources = policies.flatMap((p) => p.Statement.flatMap((s: any) => [].concat(s.Resource)));
    expect(resources.some((r: string) => r.includes('/orders.v1'))).toBe(true);
    expect(resources.some((r: string) => r.includes('/team-a-loader'))).toBe(true);
    expect(resources.some((r: string) => r.endsWith('/orders/*'))).toBe(true);
    expect(resources).not.toContain('*');
  });
});
