import { App, Testing } from 'cdktf';
import { bootstrap, BootstrapConfigError, BootstrapConfigInput, ciNames, ciRoleArns, reviewedPlanEnvironment, validateBootstrap } from '../../config/bootstrap';
import { environments } from '../../config/environments';
import { EnvironmentConfigInput } from '../../config/schema';
import {
  BootstrapStack,
  bootstrapStacks,
  DEPLOY_SESSION_SECONDS,
  GITHUB_OIDC_HOST,
  PLAN_ROLE_DENIED_DATA_READS,
  PLAN_ROLE_READS_BEYOND_READ_ONLY_ACCESS,
} from '../../stacks/bootstrap-stack';

type Json = Record<string, any>;
interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: string | string[];
  NotResource?: string[];
  Principal?: Json;
  Condition?: Record<string, Record<string, string | string[]>>;
}

const synth = (stack: BootstrapStack): Json => JSON.parse(Testing.synth(stack));
const resources = (tf: Json, type: string): Record<string, Json> => tf.resource?.[type] ?? {};
const resource = (tf: Json, type: string, id: string): Json => {
  const r = resources(tf, type)[id];
  if (!r) throw new Error(`no ${type}.${id}; have ${Object.keys(resources(tf, type)).join(', ')}`);
  return r;
};
const statements = (policy: string): Statement[] => JSON.parse(policy).Statement;
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const stmt = (policy: string, sid: string): Statement => {
  const s = statements(policy).find((x) => x.Sid === sid);
  if (!s) throw new Error(`no statement ${sid} in ${policy}`);
  return s;
};

const [firstEnv] = environments;
const STATE_BUCKET = firstEnv.state.bucket;
const REGION = firstEnv.state.region;
const ENV_NAMES = environments.map((e) => e.name);
const REPO = bootstrap.repository;
const BUCKET_ARN = `arn:aws:s3:::${STATE_BUCKET}`;

describe('BootstrapStack (every environment in one account)', () => {
  const config = validateBootstrap();
  const stack = new BootstrapStack(Testing.app(), 'bootstrap', { config });
  const tf = synth(stack);
  const stateKeyId = Object.keys(resources(tf, 'aws_kms_key')).find((k) => k.startsWith('state-key'))!;
  const stateKeyArn = `\${aws_kms_key.${stateKeyId}.arn}`;

  it('keeps its own state locally, in bootstrap.tfstate at the repository root', () => {
    expect(tf.terraform.backend).toEqual({ local: { path: '../../../bootstrap.tfstate' } });
  });

  it('runs only against the configured account, in the state region', () => {
    expect(tf.provider.aws[0]).toMatchObject({ region: REGION, allowed_account_ids: [bootstrap.accounts.dev] });
  });

  describe('state bucket', () => {
    const bucket = resource(tf, 'aws_s3_bucket', 'state');

    it('is the bucket every environment backend uses, and cannot be destroyed', () => {
      expect(new Set(environments.map((e) => e.state.bucket))).toEqual(new Set([bucket.bucket]));
      expect(bucket.force_destroy).toBe(false);
      expect(bucket.lifecycle).toEqual({ prevent_destroy: true });
    });

    it('is versioned, with old versions expiring but the newest kept', () => {
      expect(resource(tf, 'aws_s3_bucket_versioning', 'state-versioning').versioning_configuration).toEqual({ status: 'Enabled' });
      const [rule] = resource(tf, 'aws_s3_bucket_lifecycle_configuration', 'state-lifecycle').rule;
      expect(rule.noncurrent_version_expiration).toEqual([{ noncurrent_days: 90, newer_noncurrent_versions: 20 }]);
      expect(rule.abort_incomplete_multipart_upload).toEqual([{ days_after_initiation: 7 }]);
    });

    it('is encrypted with its own rotating CMK, without bucket keys so encryption context is per object', () => {
      const [rule] = resource(tf, 'aws_s3_bucket_server_side_encryption_configuration', 'state-encryption').rule;
      expect(rule).toEqual({
        apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: stateKeyArn },
        bucket_key_enabled: false,
      });
      const key = resource(tf, 'aws_kms_key', stateKeyId);
      expect(key.enable_key_rotation).toBe(true);
      expect(key.lifecycle).toEqual({ prevent_destroy: true });
    });

    it('blocks public access and ACLs', () => {
      expect(resource(tf, 'aws_s3_bucket_public_access_block', 'state-public-access-block')).toMatchObject({
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      });
      expect(resource(tf, 'aws_s3_bucket_ownership_controls', 'state-ownership').rule).toEqual({ object_ownership: 'BucketOwnerEnforced' });
    });

    it('accepts TLS 1.2+ only, and only writes encrypted with the state key', () => {
      const policy = resource(tf, 'aws_s3_bucket_policy', 'state-policy').policy;
      expect(stmt(policy, 'DenyInsecureTransport')).toMatchObject({
        Effect: 'Deny',
        Action: 's3:*',
        Resource: [BUCKET_ARN, `${BUCKET_ARN}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
      expect(stmt(policy, 'DenyTlsBelow12').Condition).toEqual({ NumericLessThan: { 's3:TlsVersion': '1.2' } });
      expect(stmt(policy, 'DenyWritesWithoutSseKms').Condition).toEqual({ StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' } });
      expect(stmt(policy, 'DenyWritesEncryptedWithAnotherKey').Condition).toMatchObject({
        StringNotEquals: {
          's3:x-amz-server-side-encryption-aws-kms-key-id': [
            stateKeyArn,
            `\${aws_kms_key.${stateKeyId}.key_id}`,
            // The environments' S3 backends name the key by alias ARN (main.ts deliveryFor).
            expect.stringMatching(/^\$\{aws_kms_alias\..*\.arn\}$/),
          ],
        },
      });
    });

    it('logs access to a separate SSE-S3 bucket that only S3 log delivery for this bucket can write', () => {
      const logs = resource(tf, 'aws_s3_bucket', 'access-logs');
      expect(logs.bucket).toBe(`${STATE_BUCKET}-access-logs`);
      expect(logs.lifecycle).toEqual({ prevent_destroy: true });
      expect(resource(tf, 'aws_s3_bucket_logging', 'state-logging')).toMatchObject({
        target_bucket: '${aws_s3_bucket.access-logs.id}',
        target_prefix: `${STATE_BUCKET}/`,
      });
      expect(
        resource(tf, 'aws_s3_bucket_server_side_encryption_configuration', 'access-logs-encryption').rule[0].apply_server_side_encryption_by_default,
      ).toEqual({ sse_algorithm: 'AES256' });
      const policy = resource(tf, 'aws_s3_bucket_policy', 'access-logs-policy').policy;
      expect(stmt(policy, 'S3ServerAccessLogDelivery')).toMatchObject({
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Condition: { ArnLike: { 'aws:SourceArn': BUCKET_ARN }, StringEquals: { 'aws:SourceAccount': bootstrap.accounts.dev } },
      });
      expect(stmt(policy, 'DenyInsecureTransport').Effect).toBe('Deny');
      expect(resource(tf, 'aws_s3_bucket_public_access_block', 'access-logs-public-access-block').block_public_policy).toBe(true);
    });
  });

  it('creates the GitHub OIDC provider for STS', () => {
    expect(resource(tf, 'aws_iam_openid_connect_provider', 'github-oidc')).toMatchObject({
      url: `https://${GITHUB_OIDC_HOST}`,
      client_id_list: ['sts.amazonaws.com'],
    });
  });

  const trustOf = (role: Json) => {
    const [s] = statements(role.assume_role_policy);
    expect(s).toMatchObject({
      Effect: 'Allow',
      Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: { Federated: '${aws_iam_openid_connect_provider.github-oidc.arn}' },
    });
    expect(s.Condition?.StringEquals[`${GITHUB_OIDC_HOST}:aud`]).toBe('sts.amazonaws.com');
    expect(Object.keys(s.Condition ?? {})).toEqual(['StringEquals']); // no StringLike wildcards on sub
    return list(s.Condition?.StringEquals[`${GITHUB_OIDC_HOST}:sub`]);
  };
  const inline = (role: string, purpose: string) => resource(tf, 'aws_iam_role_policy', `grant-${role}-${purpose}`).policy;

  describe.each(ENV_NAMES)('%s roles', (env) => {
    const others = ENV_NAMES.filter((e) => e !== env);
    const stateKey = `${BUCKET_ARN}/${env}/terraform.tfstate`;

    const reviewed = environments.find((e) => e.name === env)!.tier === 'production';

    it(`plan role: trusted by the deploy branch and ${reviewed ? 'approved runs in its GitHub plan environment' : 'pull requests'} of this repository only`, () => {
      const role = resource(tf, 'aws_iam_role', `${env}-plan-role`);
      expect(role.name).toBe(ciNames('sdp', env).planRole);
      const pullRequests = reviewed ? `repo:${REPO}:environment:${reviewedPlanEnvironment(env)}` : `repo:${REPO}:pull_request`;
      expect(trustOf(role)).toEqual([pullRequests, `repo:${REPO}:ref:refs/heads/main`]);
    });

    it('plan role: read-only, reads its own state and writes nothing, not even the lock file', () => {
      expect(resource(tf, 'aws_iam_role_policy_attachment', `${env}-plan-read-only`).policy_arn).toBe('arn:aws:iam::aws:policy/ReadOnlyAccess');
      const policy = inline(`${env}-plan-role`, 'terraform-state-read');
      expect(stmt(policy, 'ReadState')).toMatchObject({ Action: 's3:GetObject', Resource: `${stateKey}*` });
      expect(statements(policy).flatMap((s) => list(s.Action))).toEqual(['s3:ListBucket', 's3:GetObject', 'kms:Decrypt']);
      expect(stmt(policy, 'DecryptState').Condition).toEqual({
        StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` },
        StringLike: { 'kms:EncryptionContext:aws:s3:arn': `${stateKey}*` },
      });
      for (const other of others) expect(policy).not.toContain(`/${other}/`);
      const extra = stmt(inline(`${env}-plan-role`, 'refresh-reads'), 'ReadsBeyondReadOnlyAccess');
      expect(extra.Action).toEqual([...PLAN_ROLE_READS_BEYOND_READ_ONLY_ACCESS]);
      expect(list(extra.Resource).every((r) => r.startsWith(`arn:aws:glue:${REGION}:${bootstrap.accounts[env]}:`))).toBe(true);
    });

    it('plan role: cannot read data through ReadOnlyAccess, nor Keyspaces beyond its own schema', () => {
      const [deny, keyspaces] = statements(resource(tf, 'aws_iam_role_policy', `${env}-plan-deny-data-reads`).policy);
      expect(deny).toMatchObject({ Effect: 'Deny', NotResource: [`${stateKey}*`, 'arn:aws:ssm:*::parameter/aws/service/*'] });
      expect(deny.Action).toEqual([...PLAN_ROLE_DENIED_DATA_READS]);
      expect(deny.Action).toEqual(expect.arrayContaining(['s3:GetObject', 'kafka-cluster:ReadData', 'logs:StartLiveTail']));
      const keyspace = environments.find((e) => e.name === env)!.keyspaces.keyspaceName;
      const arn = `arn:aws:cassandra:${REGION}:${bootstrap.accounts[env]}:/keyspace`;
      expect(keyspaces).toEqual({
        Sid: 'DenyKeyspacesOutsideOwnSchema',
        Effect: 'Deny',
        Action: 'cassandra:Select',
        NotResource: [`${arn}/${keyspace}/`, `${arn}/${keyspace}/table/*`, `${arn}/system*`],
      });
      for (const other of others) expect(JSON.stringify(keyspaces)).not.toContain(environments.find((e) => e.name === other)!.keyspaces.keyspaceName);
    });

    it('deploy role: trusted by the GitHub environment of the same name only, for long applies', () => {
      const role = resource(tf, 'aws_iam_role', `${env}-deploy-role`);
      expect(role.name).toBe(ciNames('sdp', env).deployRole);
      expect(trustOf(role)).toEqual([`repo:${REPO}:environment:${env}`]);
      expect(role.max_session_duration).toBe(DEPLOY_SESSION_SECONDS);
      expect(role.permissions_boundary).toBe(`\${aws_iam_policy.${env}-deploy-boundary.arn}`);
      expect(resource(tf, 'aws_iam_role_policy_attachment', `${env}-deploy-power-user`).policy_arn).toBe('arn:aws:iam::aws:policy/PowerUserAccess');
    });

    it('deploy role: manages IAM only under sdp-<env>-, and reads and writes only its own state', () => {
      const iam = stmt(inline(`${env}-deploy-role`, 'platform-iam'), 'ManagePlatformIam');
      expect(list(iam.Resource)).toEqual([
        `arn:aws:iam::${bootstrap.accounts[env]}:role/sdp-${env}-*`,
        `arn:aws:iam::${bootstrap.accounts[env]}:policy/sdp-${env}-*`,
        `arn:aws:iam::${bootstrap.accounts[env]}:instance-profile/sdp-${env}-*`,
      ]);
      expect(list(iam.Action)).toContain('iam:PassRole');
      const state = inline(`${env}-deploy-role`, 'terraform-state');
      expect(stmt(state, 'ReadWriteOwnState').Resource).toBe(`${stateKey}*`);
      for (const other of others) expect(state).not.toContain(`/${other}/`);
    });

    it('deploy role boundary: keeps it off the bootstrap, IAM users and keys, and other environments', () => {
      const boundary = resource(tf, 'aws_iam_policy', `${env}-deploy-boundary`).policy;
      const allow = stmt(boundary, 'PlatformServicesOutsideTheBootstrap');
      expect(allow.NotResource).toEqual(
        expect.arrayContaining([
          BUCKET_ARN,
          `${BUCKET_ARN}/*`,
          `arn:aws:s3:::${STATE_BUCKET}-access-logs/*`,
          stateKeyArn,
          `arn:aws:iam::${bootstrap.accounts[env]}:role/sdp-ci-*`,
          `arn:aws:iam::${bootstrap.accounts[env]}:oidc-provider/${GITHUB_OIDC_HOST}`,
        ]),
      );
      expect(stmt(boundary, 'PlatformIamOutsideTheBootstrap').NotResource).toEqual(allow.NotResource);
      expect(list(allow.Action)).not.toContain('iam:*');
      expect(stmt(boundary, 'OwnStateObjects').Resource).toBe(`${stateKey}*`);
      expect(list(stmt(boundary, 'NoIamUsersOrLongLivedCredentials').Action)).toEqual(
        expect.arrayContaining(['iam:*User*', 'iam:*AccessKey*', 'iam:*LoginProfile*']),
      );
      expect(stmt(boundary, 'NoOtherEnvironmentsResources')).toMatchObject({
        Effect: 'Deny',
        Condition: { StringNotEquals: { 'aws:ResourceTag/Environment': env }, Null: { 'aws:ResourceTag/Environment': 'false' } },
      });
      expect(stmt(boundary, 'NoResourcesTaggedForOtherEnvironments').Condition?.StringNotEquals).toEqual({ 'aws:RequestTag/Environment': env });
    });
  });

  it('grants no Allow on every action, and "*" resources only where AWS has no narrower one', () => {
    const policies = [
      ...Object.values(resources(tf, 'aws_iam_role_policy')).map((p) => p.policy as string),
      ...Object.values(resources(tf, 'aws_iam_policy')).map((p) => p.policy as string),
    ];
    const allows = policies.flatMap(statements).filter((s) => s.Effect === 'Allow');
    expect(allows.length).toBeGreaterThan(10);
    for (const s of allows) {
      expect(list(s.Action)).not.toContain('*');
      if (list(s.Resource).includes('*')) expect(s.Action).toBe('ecr:GetAuthorizationToken');
    }
  });

  it('hosts the app image repository: immutable tags, scanned, KMS-encrypted, pushed from main only', () => {
    const repoId = Object.keys(resources(tf, 'aws_ecr_repository'))[0];
    const repo = resource(tf, 'aws_ecr_repository', repoId);
    expect(repo).toMatchObject({
      name: 'sdp/apps',
      image_tag_mutability: 'IMMUTABLE',
      image_scanning_configuration: { scan_on_push: true },
      force_delete: false,
    });
    expect(repo.encryption_configuration[0].encryption_type).toBe('KMS');
    const lifecycle = Object.values(resources(tf, 'aws_ecr_lifecycle_policy'));
    expect(lifecycle).toHaveLength(1);
    const rules = JSON.parse((lifecycle[0] as Json).policy).rules;
    expect(rules.map((r: Json) => r.selection.tagStatus)).toEqual(expect.arrayContaining(['untagged']));
    expect(trustOf(resource(tf, 'aws_iam_role', 'image-publish-role'))).toEqual([`repo:${REPO}:ref:refs/heads/main`]);
    expect(stmt(inline('image-publish-role', 'push-app-images'), 'PushAppImages').Resource).toBe(`\${aws_ecr_repository.${repoId}.arn}`);
    expect(config.image.repositoryUrl).toBe(`${bootstrap.accounts.dev}.dkr.ecr.${REGION}.amazonaws.com/sdp/apps`);
    // One account: nobody else needs to pull.
    expect(resources(tf, 'aws_ecr_repository_policy')).toEqual({});
  });

  it('outputs the SDP_CI_CONFIG repository variable in the shape the workflows read', () => {
    const value = tf.output.github_actions_config.value;
    expect(Object.keys(value.environments)).toEqual([...ENV_NAMES].sort());
    for (const env of ENV_NAMES) {
      expect(value.environments[env]).toEqual({
        region: environments.find((e) => e.name === env)!.region,
        planRoleArn: `\${aws_iam_role.${env}-plan-role.arn}`,
        deployRoleArn: `\${aws_iam_role.${env}-deploy-role.arn}`,
        stateKmsKeyArn: stateKeyArn,
        runsOn:
          environments.find((e) => e.name === env)!.kubernetes.endpoint.access === 'private'
            ? ['self-hosted', `${config.namePrefix}-${env}`]
            : ['ubuntu-24.04'],
      });
    }
    // prod ships with a private API endpoint: hosted runners cannot reach it.
    expect(value.environments.prod.runsOn).toEqual(['self-hosted', `${config.namePrefix}-prod`]);
    expect(value.image).toEqual({
      region: REGION,
      repositoryUrl: `\${aws_ecr_repository.${Object.keys(resources(tf, 'aws_ecr_repository'))[0]}.repository_url}`,
      publishRoleArn: '${aws_iam_role.image-publish-role.arn}',
    });
    expect(tf.output.state_kms_key_arn.value).toBe(stateKeyArn);
  });

  it('names the role ARNs the clusters must admit, matching the roles it creates', () => {
    expect(ciRoleArns(config, 'prod')).toEqual({
      plan: `arn:aws:iam::${bootstrap.accounts.prod}:role/${resource(tf, 'aws_iam_role', 'prod-plan-role').name}`,
      deploy: `arn:aws:iam::${bootstrap.accounts.prod}:role/${resource(tf, 'aws_iam_role', 'prod-deploy-role').name}`,
    });
    expect(() => ciRoleArns(config, 'qa')).toThrow(/'qa' is not bootstrapped/);
  });
});

describe('BootstrapStack options', () => {
  it('looks up an existing GitHub OIDC provider instead of creating a second one', () => {
    const config = validateBootstrap({ ...bootstrap, existingGithubOidcProviderAccounts: [bootstrap.accounts.dev] });
    const tf = synth(new BootstrapStack(Testing.app(), 'bootstrap', { config }));
    expect(resources(tf, 'aws_iam_openid_connect_provider')).toEqual({});
    expect(tf.data.aws_iam_openid_connect_provider['github-oidc'].url).toBe(`https://${GITHUB_OIDC_HOST}`);
    expect(statements(resource(tf, 'aws_iam_role', 'dev-plan-role').assume_role_policy)[0].Principal).toEqual({
      Federated: '${data.aws_iam_openid_connect_provider.github-oidc.arn}',
    });
  });

  describe('environments in two accounts', () => {
    const envs: EnvironmentConfigInput[] = environments.map((e) =>
      e.name === 'prod' ? { ...e, state: { bucket: 'sdp-prod-terraform-state', region: e.state.region } } : e,
    );
    const input: BootstrapConfigInput = { ...bootstrap, accounts: { dev: '111111111111', staging: '111111111111', prod: '222222222222' } };
    const config = validateBootstrap(input, envs);

    it('creates one stack per account, each with its own bucket, roles and state file', () => {
      const app = new App({ outdir: Testing.app().outdir });
      const stacks = bootstrapStacks(app, config);
      expect(stacks.map((s) => s.node.id)).toEqual(['bootstrap-111111111111', 'bootstrap-222222222222']);
      const [shared, prod] = stacks.map(synth);
      expect(shared.terraform.backend.local.path).toBe('../../../bootstrap-111111111111.tfstate');
      expect(resource(shared, 'aws_s3_bucket', 'state').bucket).toBe(firstEnv.state.bucket);
      expect(resource(prod, 'aws_s3_bucket', 'state').bucket).toBe('sdp-prod-terraform-state');
      expect(Object.keys(resources(shared, 'aws_iam_role')).sort()).toEqual([
        'dev-deploy-role',
        'dev-plan-role',
        'image-publish-role',
        'staging-deploy-role',
        'staging-plan-role',
      ]);
      expect(Object.keys(resources(prod, 'aws_iam_role')).sort()).toEqual(['prod-deploy-role', 'prod-plan-role']);
      expect(prod.provider.aws[0].allowed_account_ids).toEqual(['222222222222']);
    });

    it('lets the other accounts pull app images from the one repository', () => {
      const tf = synth(new BootstrapStack(Testing.app(), 'b', { config, accountId: '111111111111' }));
      const [pull] = statements(resource(tf, 'aws_ecr_repository_policy', 'image-cross-account-pull').policy);
      expect(pull.Principal).toEqual({ AWS: ['arn:aws:iam::222222222222:root'] });
      expect(pull.Action).toEqual(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability']);
    });

    it('needs the account when there are several', () => {
      expect(() => new BootstrapStack(Testing.app(), 'b', { config })).toThrow(/accountId: the environments span 2 accounts/);
      expect(() => new BootstrapStack(Testing.app(), 'b', { config, accountId: '333333333333' })).toThrow(/333333333333 hosts no environment/);
    });
  });
});

describe('validateBootstrap', () => {
  const issuesOf = (input: BootstrapConfigInput, envs: readonly EnvironmentConfigInput[] = environments): string[] => {
    try {
      validateBootstrap(input, envs);
    } catch (e) {
      expect(e).toBeInstanceOf(BootstrapConfigError);
      expect((e as Error).message).toMatch(/^Invalid bootstrap configuration:\n {2}- \[bootstrap\] /);
      return (e as BootstrapConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    }
    throw new Error('expected a BootstrapConfigError');
  };

  it('accepts the committed configuration and derives the bucket from the environments', () => {
    const config = validateBootstrap();
    expect(config.accounts).toHaveLength(1);
    expect(config.accounts[0]).toMatchObject({ stateBucket: STATE_BUCKET, region: REGION, createOidcProvider: true, hostsImageRepository: true });
    expect(config.accounts[0].environments.map((e) => e.stateKey)).toEqual(ENV_NAMES.map((n) => `${n}/terraform.tfstate`));
    expect(config.state).toEqual({ noncurrentVersionRetentionDays: 90, accessLogRetentionDays: 365 });
  });

  it('reviews the pull-request plans of production-tier environments unless told otherwise', () => {
    const reviewed = (c = validateBootstrap()) => c.accounts.flatMap((a) => a.environments.filter((e) => e.reviewedPlans).map((e) => e.name));
    expect(reviewed()).toEqual(environments.filter((e) => e.tier === 'production').map((e) => e.name));
    expect(reviewed()).toEqual(['prod']);
    expect(reviewed(validateBootstrap({ ...bootstrap, reviewedPlanEnvironments: ['staging', 'prod'] }))).toEqual(['staging', 'prod']);
    const tf = synth(new BootstrapStack(Testing.app(), 'bootstrap', { config: validateBootstrap({ ...bootstrap, reviewedPlanEnvironments: [] }) }));
    expect(list(statements(resource(tf, 'aws_iam_role', 'prod-plan-role').assume_role_policy)[0].Condition?.StringEquals[`${GITHUB_OIDC_HOST}:sub`])).toContain(
      `repo:${REPO}:pull_request`,
    );
  });

  it.each<[string, BootstrapConfigInput, RegExp]>([
    [
      'a repository that is not owner/name',
      { ...bootstrap, repository: 'streaming-data-platform' },
      /^repository: must be a GitHub repository as 'owner\/name'/,
    ],
    [
      'an account ID that is not 12 digits',
      { ...bootstrap, accounts: { ...bootstrap.accounts, dev: '12345' } },
      /^accounts\.dev: must be a 12-digit AWS account ID/,
    ],
    ['an environment without an account', { ...bootstrap, accounts: { dev: '123456789012', staging: '123456789012' } }, /^accounts\.prod: is missing/],
    [
      'an account for an unknown environment',
      { ...bootstrap, accounts: { ...bootstrap.accounts, qa: '123456789012' } },
      /^accounts\.qa: is not an environment in config\/environments\.ts/,
    ],
    [
      'an unknown image registry environment',
      { ...bootstrap, image: { registryEnvironment: 'qa' } },
      /^image\.registryEnvironment: 'qa' is not an environment/,
    ],
    ['an unknown reviewed-plan environment', { ...bootstrap, reviewedPlanEnvironments: ['qa'] }, /^reviewedPlanEnvironments: 'qa' is not an environment/],
    ['an unknown field', { ...bootstrap, stateBucket: 'x' } as BootstrapConfigInput, /^\(root\): Unrecognized key/],
  ])('rejects %s, naming the field', (_, input, message) => {
    expect(issuesOf(input)).toEqual([expect.stringMatching(message)]);
  });

  it('rejects one state bucket split across accounts', () => {
    const issues = issuesOf({ ...bootstrap, accounts: { dev: '111111111111', staging: '111111111111', prod: '222222222222' } });
    expect(issues).toEqual([expect.stringMatching(/^accounts\.prod: state bucket sdp-terraform-state-example is already created in account 111111111111/)]);
  });

  it('rejects environments of one account with different state buckets', () => {
    const envs = environments.map((e) => (e.name === 'staging' ? { ...e, state: { ...e.state, bucket: 'another-state-bucket' } } : e));
    expect(issuesOf(bootstrap, envs)).toEqual([expect.stringMatching(/^accounts\.staging: environments in account 123456789012 must share one state bucket/)]);
  });

  it('rejects an account that contradicts the environment config', () => {
    const envs = environments.map((e) => (e.name === 'prod' ? { ...e, accountId: '999999999999' } : e));
    expect(issuesOf(bootstrap, envs)).toEqual([expect.stringMatching(/^accounts\.prod: 123456789012 differs from the accountId 999999999999/)]);
  });

  it('rejects a state bucket name too long to derive the access-log bucket from', () => {
    const long = 'a'.repeat(55);
    const envs = environments.map((e) => ({ ...e, state: { ...e.state, bucket: long } }));
    expect(issuesOf(bootstrap, envs)).toEqual([expect.stringMatching(/^environments\[dev\]\.state\.bucket: is too long/)]);
  });
});
