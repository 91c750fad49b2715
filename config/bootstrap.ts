/**
 * The CI/CD bootstrap: which GitHub repository the CI roles trust and which AWS account each
 * environment lives in. State bucket names and regions are not repeated here: they come from each
 * environment's `state` block (./environments.ts), so the bootstrap creates exactly the bucket the
 * S3 backends use. Validated once at synth time; errors read `[bootstrap] <field>: <what is wrong>`.
 */
import { z } from 'zod';
import { environments } from './environments';
import { EnvironmentConfigInput, environmentConfigSchema } from './schema';

const awsAccountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account ID');

export const bootstrapConfigSchema = z
  .object({
    /** The only repository whose workflows may assume the CI roles, as `owner/name` (case as on GitHub). */
    repository: z
      .string()
      .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/, "must be a GitHub repository as 'owner/name', e.g. 'acme/streaming-data-platform'"),
    /** AWS account of every environment in config/environments.ts, by environment name. */
    accounts: z.record(z.string(), awsAccountId),
    /**
     * Branch whose workflows may use the read-only plan role (drift detection, pre-deploy plans).
     * @default 'main'
     */
    deployBranch: z
      .string()
      .regex(/^[A-Za-z0-9._/-]{1,100}$/, 'must be a branch name')
      .default('main'),
    /**
     * Prefix of every bootstrap resource name, and of the IAM names the deploy roles may manage
     * (`<prefix>-<env>-*`).
     * @default 'sdp'
     */
    namePrefix: z
      .string()
      .regex(/^[a-z][a-z0-9]{1,11}$/, 'must be 2-12 lower-case letters or digits')
      .default('sdp'),
    /**
     * Accounts that already have the GitHub OIDC provider (IAM allows one per URL per account);
     * the bootstrap looks it up there instead of creating it.
     * @default []
     */
    existingGithubOidcProviderAccounts: z.array(awsAccountId).default([]),
    /**
     * Environments whose pull-request plans run only after a reviewer approves them: their plan
     * role is not trusted by `pull_request` but by the GitHub environment `<env>-plan`
     * (`reviewedPlanEnvironment()`), which must have required reviewers (docs/ci.md). Code of a
     * pull request controls what its plan job runs, so whoever can push a branch can use the
     * plan role of every other environment: it must hold no data worth protecting.
     * @default every environment of tier 'production'
     */
    reviewedPlanEnvironments: z.array(z.string()).optional(),
    image: z
      .object({
        /** @default 'sdp/apps' */
        repositoryName: z
          .string()
          .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, 'must be a valid ECR repository name')
          .default('sdp/apps'),
        /**
         * Environment whose account hosts the one app image repository; other accounts pull from it.
         * @default the first environment
         */
        registryEnvironment: z.string().optional(),
        /** @default 200 */
        keepLastImages: z.number().int().min(10).max(10000).default(200),
      })
      .strict()
      .prefault({}),
    state: z
      .object({
        /** Days an overwritten state version is kept for recovery. @default 90 */
        noncurrentVersionRetentionDays: z.number().int().min(7).default(90),
        /** @default 365 */
        accessLogRetentionDays: z.number().int().min(30).default(365),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type BootstrapConfigInput = z.input<typeof bootstrapConfigSchema>;

/** One environment as the CI roles see it. */
export interface BootstrapEnvironment {
  readonly name: string;
  /** Region the environment deploys to. */
  readonly region: string;
  /** The S3 backend key of the environment's state. */
  readonly stateKey: string;
  /** Its Keyspaces keyspace, whose schema the plan role refreshes. */
  readonly keyspaceName: string;
  /** Pull-request plans need a reviewer's approval (GitHub environment `<env>-plan`). */
  readonly reviewedPlans: boolean;
  /**
   * GitHub Actions `runs-on` labels of the jobs that plan, apply and check drift of it. A private
   * API endpoint is reachable only from inside its network, so those jobs run on self-hosted
   * runners registered there with the label `<namePrefix>-<env>` (README, "Deploying").
   */
  readonly runsOn: readonly string[];
}

/** Everything one AWS account's bootstrap stack creates. */
export interface BootstrapAccount {
  readonly accountId: string;
  readonly partition: string;
  /** Region of the state bucket, and of the bootstrap stack's provider. */
  readonly region: string;
  readonly stateBucket: string;
  /** Receives the state bucket's server access logs. */
  readonly accessLogBucket: string;
  readonly createOidcProvider: boolean;
  readonly hostsImageRepository: boolean;
  readonly environments: readonly BootstrapEnvironment[];
}

export interface BootstrapConfig {
  readonly repository: string;
  readonly deployBranch: string;
  readonly namePrefix: string;
  readonly image: {
    readonly repositoryName: string;
    readonly keepLastImages: number;
    readonly registryAccountId: string;
    readonly region: string;
    /** `<account>.dkr.ecr.<region>.amazonaws.com/<name>`: what the stacks deploy, tagged with APP_IMAGE_TAG. */
    readonly repositoryUrl: string;
  };
  readonly state: { readonly noncurrentVersionRetentionDays: number; readonly accessLogRetentionDays: number };
  /** One entry per AWS account, in the order the environments are declared. */
  readonly accounts: readonly BootstrapAccount[];
}

export class BootstrapConfigError extends Error {
  constructor(readonly issues: readonly { path: string; message: string }[]) {
    super(`Invalid bootstrap configuration:\n${issues.map((i) => `  - [bootstrap] ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The CI role and policy names; `ci` keeps them outside `<prefix>-<env>-*`, which deploy roles manage. */
export const ciNames = (prefix: string, env: string) => ({
  planRole: `${prefix}-ci-${env}-plan`,
  deployRole: `${prefix}-ci-${env}-deploy`,
  deployBoundary: `${prefix}-ci-${env}-deploy-boundary`,
});
export const imagePublishRoleName = (prefix: string) => `${prefix}-ci-image-publish`;
/** GitHub environment, with required reviewers, that a reviewed environment's pull-request plans run in. */
export const reviewedPlanEnvironment = (env: string) => `${env}-plan`;

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

const S3_SUFFIX = '-access-logs';

/**
 * Validates the bootstrap against the environments it serves. Rules across fields: every
 * environment has an account; environments of one account share one state bucket (the bootstrap
 * creates it in that account); a bucket belongs to one account.
 */
export function validateBootstrap(input: BootstrapConfigInput = bootstrap, envs: readonly EnvironmentConfigInput[] = environments): BootstrapConfig {
  const parsed = bootstrapConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new BootstrapConfigError(parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message })));
  }
  const c = parsed.data;
  const issues: { path: string; message: string }[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });

  const states = envs.map((e) => environmentConfigSchema.shape.state.safeParse(e.state));
  states.forEach((s, i) => {
    if (!s.success) add(`environments[${envs[i].name}].state`, 'is invalid; run the environment validation first');
  });
  if (issues.length > 0) throw new BootstrapConfigError(issues);

  const names = envs.map((e) => e.name);
  for (const name of names) {
    if (!(name in c.accounts)) add(`accounts.${name}`, `is missing: give the 12-digit AWS account of environment '${name}'`);
    if (name === 'ci') add(`accounts.${name}`, "an environment named 'ci' would collide with the CI role names");
  }
  for (const name of Object.keys(c.accounts)) {
    if (!names.includes(name)) add(`accounts.${name}`, `is not an environment in config/environments.ts (${names.join(', ')})`);
  }
  envs.forEach((e) => {
    if (e.accountId && c.accounts[e.name] && e.accountId !== c.accounts[e.name]) {
      add(`accounts.${e.name}`, `${c.accounts[e.name]} differs from the accountId ${e.accountId} in config/environments.ts`);
    }
  });
  const registryEnvironment = c.image.registryEnvironment ?? names[0];
  if (!names.includes(registryEnvironment)) {
    add('image.registryEnvironment', `'${registryEnvironment}' is not an environment (${names.join(', ')})`);
  }
  const reviewedPlans = c.reviewedPlanEnvironments ?? envs.filter((e) => e.tier === 'production').map((e) => e.name);
  for (const name of reviewedPlans) {
    if (!names.includes(name)) add('reviewedPlanEnvironments', `'${name}' is not an environment (${names.join(', ')})`);
  }
  for (const id of c.existingGithubOidcProviderAccounts) {
    if (!Object.values(c.accounts).includes(id)) add('existingGithubOidcProviderAccounts', `${id} is not one of the accounts`);
  }
  if (issues.length > 0) throw new BootstrapConfigError(issues);

  const byAccount = new Map<string, EnvironmentConfigInput[]>();
  for (const e of envs) byAccount.set(c.accounts[e.name], [...(byAccount.get(c.accounts[e.name]) ?? []), e]);
  const bucketOwner = new Map<string, string>();
  const accounts: BootstrapAccount[] = [];
  for (const [accountId, members] of byAccount) {
    const [first] = members;
    for (const e of members.slice(1)) {
      if (e.state.bucket !== first.state.bucket || e.state.region !== first.state.region) {
        add(
          `accounts.${e.name}`,
          `environments in account ${accountId} must share one state bucket: '${e.name}' uses ${e.state.bucket} (${e.state.region}) but '${first.name}' uses ${first.state.bucket} (${first.state.region})`,
        );
      }
    }
    const owner = bucketOwner.get(first.state.bucket);
    if (owner && owner !== accountId) {
      add(
        `accounts.${first.name}`,
        `state bucket ${first.state.bucket} is already created in account ${owner}; give environments in account ${accountId} their own state.bucket`,
      );
    }
    bucketOwner.set(first.state.bucket, accountId);
    if (first.state.bucket.length + S3_SUFFIX.length > 63) {
      add(`environments[${first.name}].state.bucket`, `is too long to derive its access-log bucket '${first.state.bucket}${S3_SUFFIX}' (max 63 characters)`);
    }
    accounts.push({
      accountId,
      partition: partitionOf(first.state.region),
      region: first.state.region,
      stateBucket: first.state.bucket,
      accessLogBucket: `${first.state.bucket}${S3_SUFFIX}`,
      createOidcProvider: !c.existingGithubOidcProviderAccounts.includes(accountId),
      hostsImageRepository: accountId === c.accounts[registryEnvironment],
      environments: members.map((e) => ({
        name: e.name,
        region: e.region,
        stateKey: `${e.name}/terraform.tfstate`,
        keyspaceName: e.keyspaces.keyspaceName,
        reviewedPlans: reviewedPlans.includes(e.name),
        runsOn: ciRunnerLabels(c.namePrefix, e),
      })),
    });
  }
  if (issues.length > 0) throw new BootstrapConfigError(issues);

  const registry = accounts.find((a) => a.hostsImageRepository)!;
  const dnsSuffix = registry.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return {
    repository: c.repository,
    deployBranch: c.deployBranch,
    namePrefix: c.namePrefix,
    image: {
      repositoryName: c.image.repositoryName,
      keepLastImages: c.image.keepLastImages,
      registryAccountId: registry.accountId,
      region: registry.region,
      repositoryUrl: `${registry.accountId}.dkr.ecr.${registry.region}.${dnsSuffix}/${c.image.repositoryName}`,
    },
    state: c.state,
    accounts,
  };
}

/**
 * ARNs of an environment's CI roles, for its EKS access entries: the deploy role applies the
 * Kubernetes resources (cluster admin); the plan role refreshes them (read-only view).
 */
export function ciRoleArns(config: BootstrapConfig, environment: string): { readonly plan: string; readonly deploy: string } {
  const account = config.accounts.find((a) => a.environments.some((e) => e.name === environment));
  if (!account) throw new Error(`environment: '${environment}' is not bootstrapped`);
  const names = ciNames(config.namePrefix, environment);
  const arn = (role: string) => `arn:${account.partition}:iam::${account.accountId}:role/${role}`;
  return { plan: arn(names.planRole), deploy: arn(names.deployRole) };
}

/**
 * Edit here before the first bootstrap: your repository and account IDs. The placeholders are
 * valid so that synth and tests run; the AWS provider refuses any other account at deploy time.
 */
export const bootstrap: BootstrapConfigInput = {
  repository: 'example-org/streaming-data-platform',
  accounts: { dev: '123456789012', staging: '123456789012', prod: '123456789012' },
};

/** Hosted runners reach a public endpoint; a private one needs runners in its network. */
export function ciRunnerLabels(namePrefix: string, env: Pick<EnvironmentConfigInput, 'name' | 'kubernetes'>): string[] {
  return env.kubernetes.endpoint.access === 'private' ? ['self-hosted', `${namePrefix}-${env.name}`] : ['ubuntu-24.04'];
}
