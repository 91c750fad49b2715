/**
 * Safe rollouts on the whole environment graph: every app Deployment keeps its old pods until
 * new ones are ready, gives up after a progress deadline, and carries the label that
 * scripts/deploy/wait-for-rollout.sh selects on, so the deploy workflow waits for exactly these.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdktf';
import { environments, validateEnvironment } from '../../config';
import { validateBootstrap } from '../../config/bootstrap';
import { ROLLOUT_MIN_READY_SECONDS, ROLLOUT_PROGRESS_DEADLINE_SECONDS } from '../../constructs/stream-app';
import { deliveryFor } from '../../main';
import { PlatformStack } from '../../stacks/platform-stack';

type Json = Record<string, any>;
const WAIT_SCRIPT = readFileSync(join(__dirname, '..', '..', 'scripts', 'deploy', 'wait-for-rollout.sh'), 'utf8');
const selector = /^APP_SELECTOR="\$\{APP_SELECTOR:-([^}]+)\}"$/m.exec(WAIT_SCRIPT)?.[1];

describe.each(environments.map((e) => e.name))('rollouts in %s', (name) => {
  const config = validateEnvironment(environments.find((e) => e.name === name)!);
  const tf: Json = JSON.parse(Testing.synth(new PlatformStack(Testing.app(), { config, delivery: deliveryFor(validateBootstrap(), name) })));
  const deployments: Json[] = Object.values(tf.resource.kubernetes_deployment_v1 ?? {});

  it('never takes an old pod away before a new one is ready, and fails a rollout that stalls', () => {
    expect(deployments.length).toBeGreaterThanOrEqual(4);
    for (const d of deployments) {
      const app = d.metadata.name;
      const spec = d.spec;
      expect({ app, strategy: spec.strategy }).toEqual({ app, strategy: { type: 'RollingUpdate', rolling_update: { max_surge: '1', max_unavailable: '0' } } });
      expect({ app, deadline: spec.progress_deadline_seconds, minReady: spec.min_ready_seconds }).toEqual({
        app,
        deadline: ROLLOUT_PROGRESS_DEADLINE_SECONDS,
        minReady: ROLLOUT_MIN_READY_SECONDS,
      });
      const [container] = spec.template.spec.container;
      expect({ app, readiness: container.readiness_probe.http_get.path }).toEqual({ app, readiness: '/readyz' });
    }
  });

  it('labels every app Deployment with what wait-for-rollout.sh selects', () => {
    expect(selector).toBeDefined();
    const [key, value] = selector!.split('=');
    for (const d of deployments) expect({ app: d.metadata.name, label: d.metadata.labels[key] }).toEqual({ app: d.metadata.name, label: value });
  });
});
