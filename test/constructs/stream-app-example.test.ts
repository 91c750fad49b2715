/**
 * The README's "Deploying your own stream app" example is `stream-app-example.ts`: typecheck
 * compiles it, and here it runs inside a real environment stack, with the grants it promises.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { staging, validateEnvironment } from '../../config';
import { validateBootstrap } from '../../config/bootstrap';
import { deliveryFor } from '../../main';
import { PlatformStack } from '../../stacks/platform-stack';
import { addEnricher } from './stream-app-example';

type Json = Record<string, any>;
const README = readFileSync(join(__dirname, '../../README.md'), 'utf8');
const EXAMPLE = readFileSync(join(__dirname, 'stream-app-example.ts'), 'utf8');

it('is the code block of the README section', () => {
  const heading = '### Deploying your own stream app';
  const section = README.slice(README.indexOf(heading));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  expect(README.indexOf(heading)).toBeGreaterThan(0);
  expect(block).toBe(EXAMPLE.replace("from '../../constructs'", "from 'streaming-data-platform/constructs'"));
});

it('deploys the app with KEDA on its topic and exactly the grants it asks for', () => {
  const config = validateEnvironment({ ...staging, apps: { ...staging.apps, imageTag: 'sha-1a2b3c4' } });
  const stack = new PlatformStack(Testing.app(), { config, delivery: deliveryFor(validateBootstrap(), config.name) });
  addEnricher(stack, {
    cluster: stack.kubernetes,
    addons: stack.workloads.addons,
    kafka: stack.kafka,
    lake: stack.lake,
    privateSubnetCidrs: [...config.network.privateSubnetCidrs],
    imageRepositoryUrl: 'example.dkr.ecr.eu-west-1.amazonaws.com/sdp/apps',
  });
  const tf: Json = JSON.parse(Testing.synth(stack));
  const deployments = Object.values<Json>(tf.resource.kubernetes_deployment_v1);
  const enricher = deployments.find((d) => d.metadata.name === 'enricher');
  expect(enricher?.spec.template.spec.container[0].command).toEqual(['node', 'dist/apps/enricher/main.js']);
  // The stack's deploy ordering reaches apps added after the bundled ones too.
  expect(enricher?.depends_on).toEqual(
    expect.arrayContaining([expect.stringMatching(/^aws_eks_access_policy_association\./), expect.stringMatching(/^aws_eks_node_group\./)]),
  );
  const policies = JSON.stringify(tf.resource.aws_iam_role_policy ?? {}) + JSON.stringify(tf.data?.aws_iam_policy_document ?? {});
  expect(policies).toContain('telemetry.enriched.v1');
  expect(policies).toContain('enriched/');
});
