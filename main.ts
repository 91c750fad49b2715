/**
 * The cdktf app: one stack per environment (ids `dev`, `staging`, `prod`).
 * Config is validated before anything is constructed, so a bad value fails synth with a
 * message naming the environment and the field.
 */
import { App } from 'cdktf';
import { EnvironmentConfigInput, environments, validateEnvironments } from './config';
import { BootstrapConfig, ciRoleArns, validateBootstrap } from './config/bootstrap';
import { bootstrapStacks } from './stacks/bootstrap-stack';
import { DeliverySettings, PlatformStack } from './stacks/platform-stack';

/**
 * CI builds the app image per commit and deploys that tag: `APP_IMAGE_TAG` overrides
 * `apps.imageTag` of every environment (and is validated like it).
 */
export function withImageTag(inputs: readonly EnvironmentConfigInput[], tag = process.env.APP_IMAGE_TAG): EnvironmentConfigInput[] {
  return inputs.map((c) => (tag ? { ...c, apps: { ...c.apps, imageTag: tag } } : c));
}

/** What an environment takes from the bootstrap: its account, CI roles, state key and image repository. */
export function deliveryFor(bootstrap: BootstrapConfig, env: string): DeliverySettings {
  const account = bootstrap.accounts.find((a) => a.environments.some((e) => e.name === env))!;
  const roles = ciRoleArns(bootstrap, env);
  return {
    accountId: account.accountId,
    imageRepositoryUrl: bootstrap.image.repositoryUrl,
    stateKmsKeyId: `arn:${account.partition}:kms:${account.region}:${account.accountId}:alias/${bootstrap.namePrefix}-terraform-state`,
    deployRoleArn: roles.deploy,
    planRoleArn: roles.plan,
  };
}

export function buildApp(app: App = new App()): App {
  const configs = validateEnvironments(withImageTag(environments));
  const bootstrap = validateBootstrap();
  for (const config of configs) {
    new PlatformStack(app, { config, delivery: deliveryFor(bootstrap, config.name) });
  }
  bootstrapStacks(app, bootstrap);
  return app;
}

if (require.main === module) {
  try {
    buildApp().synth();
  } catch (err) {
    if (err instanceof Error && (err.name === 'ConfigError' || err.name === 'BootstrapConfigError')) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
