/**
 * Per-app settings on the cluster: catalog defaults (apps/contracts/apps.ts) with the
 * environment's optional `apps.<configKey>` block on top, checked by config validation.
 */
import { Testing } from 'cdktf';
import { allApps, apps, maxUsefulReplicas } from '../../apps/contracts/apps';
import { prod, staging, validateEnvironment } from '../../config';
import { appRuntimeSettings, PRODUCTION_MIN_REPLICAS } from '../../config/apps';
import { validateBootstrap } from '../../config/bootstrap';
import { EnvironmentConfigInput } from '../../config/schema';
import { deliveryFor } from '../../main';
import { PlatformStack } from '../../stacks/platform-stack';

/** The environment with no per-app block at all: only what every environment must say. */
function withoutAppBlocks(env: EnvironmentConfigInput, extra: Record<string, unknown> = {}): EnvironmentConfigInput {
  return { ...env, apps: { imageTag: env.apps.imageTag, lagThreshold: env.apps.lagThreshold, ...extra } as EnvironmentConfigInput['apps'] };
}

describe('app settings', () => {
  it('deploy every catalog app with its catalog defaults when the environment has no block for it', () => {
    const config = validateEnvironment(withoutAppBlocks(staging));
    const synth = JSON.parse(Testing.synth(new PlatformStack(Testing.app(), { config, delivery: deliveryFor(validateBootstrap(), 'staging') })));
    const deployments = Object.values(synth.resource.kubernetes_deployment_v1) as any[];
    for (const app of allApps) {
      const d = deployments.find((x) => x.metadata.name === app.name);
      expect([app.name, d?.spec.template.spec.container[0].resources]).toEqual([app.name, app.deployment.resources]);
    }
  });

  it('resolve consumer scaling from the catalog, up to the partitions the app can use', () => {
    const config = validateEnvironment(withoutAppBlocks(staging));
    const s = appRuntimeSettings(apps.cassandraSink, config);
    expect(s).toMatchObject({
      minReplicas: apps.cassandraSink.deployment.minReplicas,
      maxReplicas: maxUsefulReplicas(apps.cassandraSink),
      lagThreshold: staging.apps.lagThreshold,
    });
    expect(appRuntimeSettings(apps.producer, config)).toMatchObject({
      replicas: apps.producer.deployment.replicas,
      env: { PRODUCER_RATE: '200', PRODUCER_EVENTS: '0' },
    });
  });

  it('keep production consumers at two replicas unless the environment says otherwise', () => {
    const config = validateEnvironment(withoutAppBlocks(prod));
    for (const app of allApps.filter((a) => a.consumerGroup))
      expect([app.name, appRuntimeSettings(app, config).minReplicas]).toEqual([app.name, PRODUCTION_MIN_REPLICAS]);
  });

  it('take overrides field by field, app settings included', () => {
    const config = validateEnvironment(
      withoutAppBlocks(staging, { lakeSink: { resources: { limits: { memory: '2Gi' } }, lagThreshold: 20000 }, producer: { ratePerSecond: 5000 } }),
    );
    const lake = appRuntimeSettings(apps.lakeSink, config);
    expect(lake.resources).toEqual({
      requests: apps.lakeSink.deployment.resources.requests,
      limits: { cpu: apps.lakeSink.deployment.resources.limits.cpu, memory: '2Gi' },
    });
    expect(lake.lagThreshold).toBe(20000);
    expect(appRuntimeSettings(apps.producer, config).env.PRODUCER_RATE).toBe('5000');
  });

  it.each([
    [
      'more replicas than partitions',
      { cassandraSink: { maxReplicas: 24 } },
      /apps\.cassandraSink\.maxReplicas: 24 exceeds the 12 partitions of telemetry\.clean\.v1, telemetry\.aggregates\.v1/,
    ],
    ['min above max', { processor: { minReplicas: 5, maxReplicas: 3 } }, /apps\.processor\.minReplicas: 5 is above apps\.processor\.maxReplicas \(3\)/],
    ['a consumer field on a producer', { producer: { minReplicas: 2 } }, /apps\.producer: Unrecognized key: "minReplicas"/],
    ['an unknown app', { enricher: { minReplicas: 2 } }, /apps: Unrecognized key: "enricher"/],
    ['a bad quantity', { processor: { resources: { limits: { cpu: 'lots' } } } }, /apps\.processor\.resources\.limits\.cpu: must be a Kubernetes quantity/],
  ])('reject %s, naming the field', (_case, extra, message) => {
    expect(() => validateEnvironment(withoutAppBlocks(staging, extra))).toThrow(message);
  });
});
