/**
 * The cdktf app: one stack per environment (ids `dev`, `staging`, `prod`).
 * Config is validated before anything is constructed, so a bad value fails synth with a
 * message naming the environment and the field.
 */
import { App } from 'cdktf';
import { ConfigError, EnvironmentConfig, EnvironmentConfigInput, environments, PLACEHOLDER_IMAGE_TAG, validateEnvironments } from './config';
import { BootstrapConfig, BootstrapConfigInput, bootstrap as bootstrapInput, ciRoleArns, validateBootstrap } from './config/bootstrap';
import { bootstrapStacks } from './stacks/bootstrap-stack';
import { DeliverySettings, PlatformStack } from './stacks/platform-stack';

/**
 * The app image tag comes from `APP_IMAGE_TAG` (CI sets it to the tag it published;
 * scripts/deploy/push-image.sh prints it for a laptop), which overrides `apps.imageTag` of
 * every environment and is validated like it.
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
    namePrefix: bootstrap.namePrefix,
    imageRepositoryUrl: bootstrap.image.repositoryUrl,
    stateKmsKeyId: `arn:${account.partition}:kms:${account.region}:${account.accountId}:alias/${bootstrap.namePrefix}-terraform-state`,
    deployRoleArn: roles.deploy,
    planRoleArn: roles.plan,
  };
}

/**
 * Refuses to synthesize an environment without an app image tag: nothing publishes a default
 * tag, so its pods could never start.
 */
export function requireImageTags(configs: readonly EnvironmentConfig[], repositoryUrl: string): void {
  const untagged = configs.find((c) => c.apps.imageTag === PLACEHOLDER_IMAGE_TAG);
  if (!untagged) return;
  throw new ConfigError(untagged.name, [
    {
      path: 'apps.imageTag',
      message:
        `no app image tag. Set APP_IMAGE_TAG to a tag published to ${repositoryUrl}: ` +
        `scripts/deploy/push-image.sh builds and pushes the image and prints the export line ` +
        `(or pin apps.imageTag in config/environments.ts). Synthesizing only, or applying only the bootstrap stack? ` +
        `npm run synth, then terraform -chdir=cdktf.out/stacks/<stack>.`,
    },
  ]);
}

export interface BuildAppOptions {
  /** @default APP_IMAGE_TAG from the environment */
  readonly imageTag?: string;
  /**
   * Synthesize environments without an image tag with PLACEHOLDER_IMAGE_TAG, whose plan fails
   * (tests, `npm run synth`); otherwise a missing tag fails synth, as `cdktf deploy` needs.
   * @default true
   */
  readonly allowPlaceholderImageTag?: boolean;
  /** @default the bootstrap in config/bootstrap.ts */
  readonly bootstrap?: BootstrapConfigInput;
}

export function buildApp(app: App = new App(), options: BuildAppOptions = {}): App {
  const configs = validateEnvironments(withImageTag(environments, options.imageTag ?? process.env.APP_IMAGE_TAG));
  const bootstrap = validateBootstrap(options.bootstrap ?? bootstrapInput);
  if (options.allowPlaceholderImageTag === false) requireImageTags(configs, bootstrap.image.repositoryUrl);
  for (const config of configs) {
    new PlatformStack(app, { config, delivery: deliveryFor(bootstrap, config.name) });
  }
  bootstrapStacks(app, bootstrap);
  return app;
}

if (require.main === module) {
  try {
    // `cdktf deploy` runs this file as is; `npm run synth` adds the flag.
    buildApp(new App(), { allowPlaceholderImageTag: process.argv.includes('--placeholder-image-tag') }).synth();
  } catch (err) {
    if (err instanceof Error && (err.name === 'ConfigError' || err.name === 'BootstrapConfigError')) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
