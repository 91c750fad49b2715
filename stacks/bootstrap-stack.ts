/**
 * The per-account CI/CD bootstrap, deployed once by an administrator before any environment:
 * the Terraform state bucket every environment's S3 backend uses (with its access-log bucket and
 * KMS key), the GitHub Actions OIDC provider, per environment a read-only plan role and a deploy
 * role, and the app image repository with its publish role.
 *
 * Its own state is local (`<stack id>.tfstate` at the repository root, git-ignored): keep that
 * file safe, or migrate it into the bucket it created once it exists (docs/ci.md).
 */
import { DataAwsIamOpenidConnectProvider } from '@cdktf/provider-aws/lib/data-aws-iam-openid-connect-provider';
import { EcrRegistryScanningConfiguration } from '@cdktf/provider-aws/lib/ecr-registry-scanning-configuration';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository';
import { EcrRepositoryPolicy } from '@cdktf/provider-aws/lib/ecr-repository-policy';
import { ContainerRegistry } from '../constructs/container-registry';
import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { App, LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { BootstrapAccount, BootstrapConfig, BootstrapEnvironment, ciNames, imagePublishRoleName, reviewedPlanEnvironment } from '../config/bootstrap';
import { grant, PolicyStatement, trustPolicy } from '../constructs/iam';
import { EncryptionKey } from '../constructs/kms-key';
import { SecureBucket, SecureBucketProps } from '../constructs/secure-bucket';
import { AwsContext } from '../constructs/aws-context';

export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';

/**
 * AWS services the deploy roles may use at all (their permissions boundary). Extend it when the
 * platform adopts a new service: a deploy that needs an unlisted one fails with AccessDenied.
 */
export const PLATFORM_SERVICES = [
  'acm',
  'application-autoscaling',
  'athena',
  'autoscaling',
  'cassandra',
  'cloudwatch',
  'ec2',
  'ecr',
  'eks',
  'elasticloadbalancing',
  'events',
  'glue',
  'kafka',
  'kafka-cluster',
  'kms',
  'logs',
  'route53',
  's3',
  'secretsmanager',
  'sns',
  'sqs',
  'ssm',
  'sts',
  'tag',
] as const;

/** IAM writes a deploy role makes, always on `<prefix>-<env>-*` names (never `iam:*`). */
const PLATFORM_IAM_WRITES = [
  'iam:CreateRole',
  'iam:DeleteRole',
  'iam:UpdateRole',
  'iam:UpdateRoleDescription',
  'iam:UpdateAssumeRolePolicy',
  'iam:TagRole',
  'iam:UntagRole',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:AttachRolePolicy',
  'iam:DetachRolePolicy',
  'iam:PassRole',
  'iam:CreatePolicy',
  'iam:DeletePolicy',
  'iam:CreatePolicyVersion',
  'iam:DeletePolicyVersion',
  'iam:TagPolicy',
  'iam:UntagPolicy',
  'iam:CreateInstanceProfile',
  'iam:DeleteInstanceProfile',
  'iam:AddRoleToInstanceProfile',
  'iam:RemoveRoleFromInstanceProfile',
  'iam:TagInstanceProfile',
  'iam:UntagInstanceProfile',
];
/** EKS clusters register their own OIDC issuer for IAM roles for service accounts. */
const EKS_OIDC_PROVIDER_WRITES = [
  'iam:CreateOpenIDConnectProvider',
  'iam:DeleteOpenIDConnectProvider',
  'iam:TagOpenIDConnectProvider',
  'iam:UntagOpenIDConnectProvider',
  'iam:UpdateOpenIDConnectProviderThumbprint',
  'iam:AddClientIDToOpenIDConnectProvider',
  'iam:RemoveClientIDFromOpenIDConnectProvider',
];

/**
 * Data-plane reads that AWS's ReadOnlyAccess includes and a plan never needs: a pull request can
 * change what its workflow runs, so the plan role must not be able to read the data itself.
 * `cassandra:Select` is not here: it also authorises Keyspaces' control-plane reads (GetKeyspace,
 * GetTable, ListTagsForResource), so refresh needs it; PLAN_ROLE_KEYSPACES_READS bounds it.
 */
export const PLAN_ROLE_DENIED_DATA_READS = [
  's3:GetObject',
  's3:GetObjectVersion',
  's3:GetObjectAttributes',
  's3express:CreateSession',
  'kafka-cluster:ReadData',
  'athena:GetQueryResults',
  'athena:GetQueryResultsStream',
  'logs:GetLogEvents',
  'logs:GetLogRecord',
  'logs:FilterLogEvents',
  'logs:StartQuery',
  'logs:GetQueryResults',
  'logs:StartLiveTail',
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:PartiQLSelect',
  'kinesis:GetRecords',
  'sqs:ReceiveMessage',
  'ssm:GetParameter',
  'ssm:GetParameters',
  'ssm:GetParametersByPath',
  'secretsmanager:GetSecretValue',
  'es:ESHttpGet',
] as const;

/**
 * Where the plan role may use `cassandra:Select`: its own environment's keyspace and tables
 * (refresh reads their definitions and tags) and the system keyspaces (schema metadata). The
 * action also authorises CQL SELECT on those tables: the cost, bounded to one environment's
 * tables, of a plan that can refresh Keyspaces at all (docs/ci.md, "What the plan role can read").
 */
export function planRoleKeyspacesReads(partition: string, accountId: string, env: BootstrapEnvironment): string[] {
  const keyspaces = `arn:${partition}:cassandra:${env.region}:${accountId}:/keyspace`;
  return [`${keyspaces}/${env.keyspaceName}/`, `${keyspaces}/${env.keyspaceName}/table/*`, `${keyspaces}/system*`];
}

/**
 * Reads Terraform's refresh makes that AWS's ReadOnlyAccess lacks (policies/iam/refresh-actions.ts
 * lists what each type needs; test/invariants/refresh-permissions.test.ts finds the gaps).
 */
export const PLAN_ROLE_READS_BEYOND_READ_ONLY_ACCESS = ['glue:GetPartitionIndexes'] as const;

/** Long applies (an MSK cluster takes ~40 minutes) must not outlive their credentials. */
export const DEPLOY_SESSION_SECONDS = 3 * 60 * 60;

export interface BootstrapStackProps {
  readonly config: BootstrapConfig;
  /**
   * The account this stack bootstraps.
   * @default the only account in the config; required when environments span accounts
   */
  readonly accountId?: string;
}

/** A statement that may use NotResource: IAM's way to say "everything except the bootstrap". */
type BoundaryStatement = PolicyStatement | (Omit<PolicyStatement, 'Resource'> & { readonly NotResource: string[] });
const document = (statements: readonly BoundaryStatement[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

export class BootstrapStack extends TerraformStack {
  readonly account: BootstrapAccount;
  readonly stateKey: EncryptionKey;
  readonly stateKeyAliasArn: string;
  readonly stateBucket: S3Bucket;
  readonly accessLogBucket: S3Bucket;
  readonly githubOidcProviderArn: string;
  readonly planRoles: Readonly<Record<string, IamRole>>;
  readonly deployRoles: Readonly<Record<string, IamRole>>;
  /** Present in the account that hosts the app image repository. */
  readonly imageRepository?: EcrRepository;
  readonly imagePublishRole?: IamRole;

  private readonly config: BootstrapConfig;
  private readonly arn: {
    readonly bucket: string;
    readonly logBucket: string;
    readonly iam: (resource: string) => string;
    readonly imageRepository: string;
  };

  constructor(scope: Construct, id: string, props: BootstrapStackProps) {
    super(scope, id);
    const { config } = props;
    this.config = config;
    this.account = pickAccount(config, props.accountId);
    const { accountId, partition, region } = this.account;
    this.arn = {
      bucket: `arn:${partition}:s3:::${this.account.stateBucket}`,
      logBucket: `arn:${partition}:s3:::${this.account.accessLogBucket}`,
      iam: (resource) => `arn:${partition}:iam::${accountId}:${resource}`,
      imageRepository: `arn:${partition}:ecr:${config.image.region}:${config.image.registryAccountId}:repository/${config.image.repositoryName}`,
    };

    // Relative to cdktf.out/stacks/<id>: the state file lands at the repository root.
    new LocalBackend(this, { path: `../../../${id}.tfstate` });
    new AwsProvider(this, 'aws', {
      region,
      allowedAccountIds: [accountId],
      defaultTags: [{ tags: { Project: 'streaming-data-platform', Component: 'ci-bootstrap', ManagedBy: 'cdktf' } }],
    });
    // The account is known from the config: bucket and key policies name it as plain values.
    AwsContext.provide(this, { accountId, partition, region });

    // Encryption ---------------------------------------------------------------------------------
    this.stateKey = new EncryptionKey(this, 'state-key', {
      alias: `${config.namePrefix}-terraform-state`,
      description: 'Terraform state of every environment (SSE-KMS on the state bucket)',
      deletionWindowInDays: 30,
      preventDestroy: true,
    });
    this.stateKeyAliasArn = this.stateKey.alias.arn;

    // Buckets ------------------------------------------------------------------------------------
    const accessLogs = this.createAccessLogBucket();
    const state = this.createStateBucket(accessLogs);
    this.accessLogBucket = accessLogs.bucket;
    this.stateBucket = state.bucket;

    // GitHub OIDC --------------------------------------------------------------------------------
    this.githubOidcProviderArn = this.account.createOidcProvider
      ? new IamOpenidConnectProvider(this, 'github-oidc', {
          url: `https://${GITHUB_OIDC_HOST}`,
          clientIdList: [GITHUB_OIDC_AUDIENCE],
        }).arn
      : new DataAwsIamOpenidConnectProvider(this, 'github-oidc', { url: `https://${GITHUB_OIDC_HOST}` }).arn;

    // Roles per environment ----------------------------------------------------------------------
    const planRoles: Record<string, IamRole> = {};
    const deployRoles: Record<string, IamRole> = {};
    for (const env of this.account.environments) {
      planRoles[env.name] = this.createPlanRole(env);
      deployRoles[env.name] = this.createDeployRole(env);
    }
    this.planRoles = planRoles;
    this.deployRoles = deployRoles;

    // App image ----------------------------------------------------------------------------------
    if (this.account.hostsImageRepository) {
      this.imageRepository = this.createImageRepository();
      this.imagePublishRole = this.createImagePublishRole(this.imageRepository);
    }

    this.createOutputs();
  }

  private createAccessLogBucket(): SecureBucket {
    return new SecureBucket(this, 'access-logs', {
      bucketName: this.account.accessLogBucket,
      logicalIds: existingAddresses('access-logs'),
      receivesAccessLogs: true,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          expiration: [{ days: this.config.state.accessLogRetentionDays }],
          noncurrentVersionExpiration: [{ noncurrentDays: 30 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
    });
  }

  private createStateBucket(accessLogs: SecureBucket): SecureBucket {
    return new SecureBucket(this, 'state', {
      bucketName: this.account.stateBucket,
      logicalIds: existingAddresses('state'),
      encryption: {
        kmsKeyArn: this.stateKey.arn,
        // Bucket Keys stay off: the bucket sees a few requests per deploy, and per-object encryption
        // context is what lets each role decrypt only its own environment's state.
        bucketKeyEnabled: false,
        // Environment stacks name the key by its alias ARN (deterministic before bootstrap exists).
        requireKeyOnWrite: [this.stateKey.arn, this.stateKey.keyId, this.stateKeyAliasArn],
      },
      accessLogs: { bucket: accessLogs, prefix: `${this.account.stateBucket}/` },
      lifecycleRules: [
        {
          id: 'expire-old-state-versions',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          // Keep the last 20 versions whatever their age: the recovery points that matter.
          noncurrentVersionExpiration: [{ noncurrentDays: this.config.state.noncurrentVersionRetentionDays, newerNoncurrentVersions: 20 }],
          expiration: [{ expiredObjectDeleteMarker: true }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
    });
  }

  /** Web-identity trust for exactly this repository and the given OIDC subjects. */
  private githubTrust(subjects: string[]): string {
    return trustPolicy([
      {
        Sid: 'GitHubActions',
        Effect: 'Allow',
        Principal: { Federated: this.githubOidcProviderArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
            [`${GITHUB_OIDC_HOST}:sub`]: subjects,
          },
        },
      },
    ]);
  }

  private stateObjects(env: BootstrapEnvironment) {
    // `<key>*` covers the state, its `.tflock` lock file and the digest newer backends write beside it.
    return { all: `${this.arn.bucket}/${env.stateKey}*` };
  }

  /** KMS use limited to S3 and to objects under `objectArnPattern` (SSE-KMS encryption context). */
  private stateKeyUse(sid: string, actions: string[], objectArnPattern: string): PolicyStatement {
    return {
      Sid: sid,
      Effect: 'Allow',
      Action: actions,
      Resource: this.stateKey.arn,
      Condition: {
        StringEquals: { 'kms:ViaService': `s3.${this.account.region}.amazonaws.com` },
        StringLike: { 'kms:EncryptionContext:aws:s3:arn': objectArnPattern },
      },
    };
  }

  /**
   * Read-only: pull-request plans, the deploy's preview plan and drift detection. ReadOnlyAccess
   * minus data-plane reads, plus reading its environment's state. Every plan it makes runs with
   * `-lock=false` (it never writes state), so it cannot write the lock file either.
   *
   * Pull-request code controls what the job runs (the synthesized provider config included), so
   * for an environment with reviewed plans the role trusts the GitHub environment `<env>-plan`,
   * whose required reviewers approve each run, instead of any pull request.
   */
  private createPlanRole(env: BootstrapEnvironment): IamRole {
    const names = ciNames(this.config.namePrefix, env.name);
    const repo = this.config.repository;
    const pullRequests = env.reviewedPlans ? `repo:${repo}:environment:${reviewedPlanEnvironment(env.name)}` : `repo:${repo}:pull_request`;
    const role = new IamRole(this, `${env.name}-plan-role`, {
      name: names.planRole,
      description: `Terraform plan of '${env.name}' from GitHub Actions (${env.reviewedPlans ? 'approved ' : ''}pull requests of ${repo}, ${this.config.deployBranch})`,
      assumeRolePolicy: this.githubTrust([pullRequests, `repo:${repo}:ref:refs/heads/${this.config.deployBranch}`]),
      maxSessionDuration: 3600,
    });
    new IamRolePolicyAttachment(this, `${env.name}-plan-read-only`, {
      role: role.name,
      policyArn: `arn:${this.account.partition}:iam::aws:policy/ReadOnlyAccess`,
    });
    const state = this.stateObjects(env);
    grant(this, role, 'refresh-reads', [
      {
        Sid: 'ReadsBeyondReadOnlyAccess',
        Effect: 'Allow',
        Action: [...PLAN_ROLE_READS_BEYOND_READ_ONLY_ACCESS],
        Resource: ['catalog', 'database/*', 'table/*'].map((r) => `arn:${this.account.partition}:glue:${env.region}:${this.account.accountId}:${r}`),
      },
    ]);
    grant(this, role, 'terraform-state-read', [
      // Key names only (the backend lists `env:/` for workspaces); contents stay per environment.
      { Sid: 'ListStateKeys', Effect: 'Allow', Action: 's3:ListBucket', Resource: this.arn.bucket },
      { Sid: 'ReadState', Effect: 'Allow', Action: 's3:GetObject', Resource: state.all },
      this.stateKeyUse('DecryptState', ['kms:Decrypt'], state.all),
    ]);
    new IamRolePolicy(this, `${env.name}-plan-deny-data-reads`, {
      name: 'deny-data-reads',
      role: role.name,
      policy: document([
        {
          Sid: 'DenyDataPlaneReads',
          Effect: 'Deny',
          Action: [...PLAN_ROLE_DENIED_DATA_READS],
          // AWS's public parameters (EKS AMI IDs) are what data sources legitimately read.
          NotResource: [state.all, `arn:${this.account.partition}:ssm:*::parameter/aws/service/*`],
        },
        {
          Sid: 'DenyKeyspacesOutsideOwnSchema',
          Effect: 'Deny',
          Action: 'cassandra:Select',
          NotResource: planRoleKeyspacesReads(this.account.partition, this.account.accountId, env),
        },
      ]),
    });
    return role;
  }

  /**
   * Applies one environment from its GitHub environment (`prod` has required reviewers).
   * PowerUserAccess plus IAM for `<prefix>-<env>-*` names, capped by a permissions boundary that
   * keeps it off the bootstrap (state of other environments, CI roles, keys, OIDC provider), IAM
   * users and access keys, other environments' resources (by their Environment tag) and any AWS
   * service the platform does not use.
   */
  private createDeployRole(env: BootstrapEnvironment): IamRole {
    const names = ciNames(this.config.namePrefix, env.name);
    const { partition } = this.account;
    const state = this.stateObjects(env);
    const platform = `${this.config.namePrefix}-${env.name}-`;

    const bootstrapOwned = [
      this.arn.bucket,
      `${this.arn.bucket}/*`,
      this.arn.logBucket,
      `${this.arn.logBucket}/*`,
      this.stateKey.arn,
      this.arn.iam(`role/${this.config.namePrefix}-ci-*`),
      this.arn.iam(`policy/${this.config.namePrefix}-ci-*`),
      this.arn.iam(`oidc-provider/${GITHUB_OIDC_HOST}`),
      ...(this.account.hostsImageRepository ? [this.arn.imageRepository] : []),
    ];
    const boundary = new IamPolicy(this, `${env.name}-deploy-boundary`, {
      name: names.deployBoundary,
      description: `Permissions boundary of ${names.deployRole}`,
      policy: document([
        { Sid: 'PlatformServicesOutsideTheBootstrap', Effect: 'Allow', Action: PLATFORM_SERVICES.map((s) => `${s}:*`), NotResource: bootstrapOwned },
        {
          Sid: 'PlatformIamOutsideTheBootstrap',
          Effect: 'Allow',
          Action: [
            ...PLATFORM_IAM_WRITES,
            ...EKS_OIDC_PROVIDER_WRITES,
            'iam:Get*',
            'iam:List*',
            'iam:CreateServiceLinkedRole',
            'iam:DeleteServiceLinkedRole',
            'iam:GetServiceLinkedRoleDeletionStatus',
          ],
          NotResource: bootstrapOwned,
        },
        { Sid: 'ListStateKeys', Effect: 'Allow', Action: 's3:ListBucket', Resource: this.arn.bucket },
        { Sid: 'OwnStateObjects', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: state.all },
        this.stateKeyUse('OwnStateEncryption', ['kms:Decrypt', 'kms:GenerateDataKey'], state.all),
        {
          Sid: 'NoIamUsersOrLongLivedCredentials',
          Effect: 'Deny',
          Action: [
            'iam:*User*',
            'iam:*Group*',
            'iam:*AccessKey*',
            'iam:*LoginProfile*',
            'iam:*SSHPublicKey*',
            'iam:*ServiceSpecificCredential*',
            'iam:*SigningCertificate*',
            'iam:*MFADevice*',
            'iam:*AccountAlias*',
            'iam:*AccountPasswordPolicy*',
            'iam:*SAMLProvider*',
          ],
          Resource: '*',
        },
        {
          Sid: 'NoOtherEnvironmentsResources',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:ResourceTag/Environment': env.name }, Null: { 'aws:ResourceTag/Environment': 'false' } },
        },
        {
          Sid: 'NoResourcesTaggedForOtherEnvironments',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:RequestTag/Environment': env.name }, Null: { 'aws:RequestTag/Environment': 'false' } },
        },
      ]),
    });

    const role = new IamRole(this, `${env.name}-deploy-role`, {
      name: names.deployRole,
      description: `Terraform apply of '${env.name}' from the GitHub environment '${env.name}' of ${this.config.repository}`,
      assumeRolePolicy: this.githubTrust([`repo:${this.config.repository}:environment:${env.name}`]),
      permissionsBoundary: boundary.arn,
      maxSessionDuration: DEPLOY_SESSION_SECONDS,
    });
    new IamRolePolicyAttachment(this, `${env.name}-deploy-power-user`, {
      role: role.name,
      policyArn: `arn:${partition}:iam::aws:policy/PowerUserAccess`,
    });
    grant(this, role, 'platform-iam', [
      {
        Sid: 'ManagePlatformIam',
        Effect: 'Allow',
        Action: PLATFORM_IAM_WRITES,
        Resource: [this.arn.iam(`role/${platform}*`), this.arn.iam(`policy/${platform}*`), this.arn.iam(`instance-profile/${platform}*`)],
      },
      {
        Sid: 'ManageEksOidcProviders',
        Effect: 'Allow',
        Action: EKS_OIDC_PROVIDER_WRITES,
        Resource: this.arn.iam(`oidc-provider/oidc.eks.${env.region}.amazonaws.com/id/*`),
      },
      // Terraform refreshes roles and looks up AWS-managed policies.
      { Sid: 'ReadIam', Effect: 'Allow', Action: ['iam:Get*', 'iam:List*'], Resource: [this.arn.iam('*'), `arn:${partition}:iam::aws:policy/*`] },
    ]);
    grant(this, role, 'terraform-state', [
      { Sid: 'ListStateKeys', Effect: 'Allow', Action: 's3:ListBucket', Resource: this.arn.bucket },
      { Sid: 'ReadWriteOwnState', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: state.all },
      this.stateKeyUse('EncryptOwnState', ['kms:Decrypt', 'kms:GenerateDataKey'], state.all),
    ]);
    return role;
  }

  /** One repository for every app; environments deploy immutable tags (APP_IMAGE_TAG) from it. */
  private createImageRepository(): EcrRepository {
    const registry = new ContainerRegistry(this, 'images', {
      name: `${this.config.namePrefix}-app-images`,
      repositoryNames: [this.config.image.repositoryName],
      keepLastTaggedImages: this.config.image.keepLastImages,
      // Running pods pull from it on every reschedule.
      preventDestroy: true,
    });
    const repository = registry.repositories[this.config.image.repositoryName];
    this.createImageScanning();
    const otherAccounts = this.config.accounts.map((a) => a.accountId).filter((id) => id !== this.account.accountId);
    if (otherAccounts.length > 0) {
      new EcrRepositoryPolicy(this, 'image-cross-account-pull', {
        repository: repository.name,
        policy: document([
          {
            Sid: 'PullFromEnvironmentAccounts',
            Effect: 'Allow',
            Principal: { AWS: otherAccounts.map((id) => `arn:${this.account.partition}:iam::${id}:root`) },
            Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
            Resource: this.arn.imageRepository,
          },
        ]),
      });
    }
    return repository;
  }

  /**
   * Enhanced (Amazon Inspector) scanning of the registry: OS and npm packages, and rescans of the
   * app images whenever a new CVE affects them, for as long as they were pushed or ran on a cluster
   * recently (Inspector's re-scan duration, 14 days by default). CI's trivy gate sees an image once,
   * on the day it is built; the images then run for weeks, so the rescans are what find the CVEs
   * published after the build. Basic scanning (free) would scan each push once, OS packages only.
   *
   * Cost, billed by Inspector: about $0.09 per image pushed and $0.01 per rescan (list prices at
   * the time of writing; https://aws.amazon.com/inspector/pricing/). A month of ~40 pushes with
   * ~20 images under watch rescanned ~5 times each is ~$4.60.
   *
   * The configuration is one per registry (account and region) and replaces what was there, so
   * every other repository keeps a scan on push. Inspector's ECR scanning is switched on with it.
   */
  private createImageScanning(): void {
    new EcrRegistryScanningConfiguration(this, 'image-scanning', {
      scanType: 'ENHANCED',
      rule: [
        { scanFrequency: 'CONTINUOUS_SCAN', repositoryFilter: [{ filter: this.config.image.repositoryName, filterType: 'WILDCARD' }] },
        { scanFrequency: 'SCAN_ON_PUSH', repositoryFilter: [{ filter: '*', filterType: 'WILDCARD' }] },
      ],
    });
  }

  private createImagePublishRole(repository: EcrRepository): IamRole {
    const role = new IamRole(this, 'image-publish-role', {
      name: imagePublishRoleName(this.config.namePrefix),
      description: `Pushes app images from ${this.config.deployBranch} of ${this.config.repository}`,
      assumeRolePolicy: this.githubTrust([`repo:${this.config.repository}:ref:refs/heads/${this.config.deployBranch}`]),
      maxSessionDuration: 3600,
    });
    grant(this, role, 'push-app-images', [
      // ECR's registry login is account-wide: GetAuthorizationToken has no resource-level form.
      { Sid: 'RegistryLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      {
        Sid: 'PushAppImages',
        Effect: 'Allow',
        Action: [
          'ecr:BatchCheckLayerAvailability',
          'ecr:InitiateLayerUpload',
          'ecr:UploadLayerPart',
          'ecr:CompleteLayerUpload',
          'ecr:PutImage',
          'ecr:BatchGetImage',
          'ecr:GetDownloadUrlForLayer',
          'ecr:DescribeImages',
        ],
        Resource: repository.arn,
      },
    ]);
    return role;
  }

  /**
   * `github_actions_config` is the value of the repository variable SDP_CI_CONFIG, exactly as the
   * workflows read it (docs/ci.md). With several accounts, merge the outputs of their stacks.
   */
  private createOutputs(): void {
    const environments = Object.fromEntries(
      this.account.environments.map((env) => [
        env.name,
        {
          region: env.region,
          planRoleArn: this.planRoles[env.name].arn,
          deployRoleArn: this.deployRoles[env.name].arn,
          stateKmsKeyArn: this.stateKey.arn,
          runsOn: env.runsOn,
        },
      ]),
    );
    const image =
      this.imageRepository && this.imagePublishRole
        ? { image: { region: this.config.image.region, repositoryUrl: this.imageRepository.repositoryUrl, publishRoleArn: this.imagePublishRole.arn } }
        : {};
    new TerraformOutput(this, 'github_actions_config', {
      description: 'Value of the GitHub repository variable SDP_CI_CONFIG',
      value: { environments, ...image },
    });
    new TerraformOutput(this, 'state_bucket', { value: this.stateBucket.bucket });
    new TerraformOutput(this, 'state_kms_key_arn', {
      description: 'kms_key_id of every S3 backend in this account',
      value: this.stateKey.arn,
    });
  }
}

/**
 * The bootstrap's buckets predate SecureBucket and live in a state only an administrator applies:
 * their resources keep the addresses they had (`state`, `state-versioning`, ...), so adopting the
 * construct moves nothing.
 */
function existingAddresses(id: string): SecureBucketProps['logicalIds'] {
  return {
    bucket: id,
    publicAccessBlock: `${id}-public-access-block`,
    ownershipControls: `${id}-ownership`,
    versioning: `${id}-versioning`,
    encryption: `${id}-encryption`,
    lifecycle: `${id}-lifecycle`,
    logging: `${id}-logging`,
    policy: `${id}-policy`,
  };
}

function pickAccount(config: BootstrapConfig, accountId?: string): BootstrapAccount {
  if (accountId === undefined) {
    if (config.accounts.length !== 1) {
      throw new Error(
        `accountId: the environments span ${config.accounts.length} accounts (${config.accounts.map((a) => a.accountId).join(', ')}); create one BootstrapStack per account (bootstrapStacks() does)`,
      );
    }
    return config.accounts[0];
  }
  const account = config.accounts.find((a) => a.accountId === accountId);
  if (!account) throw new Error(`accountId: ${accountId} hosts no environment in the bootstrap config`);
  return account;
}

/**
 * One bootstrap stack per account: `bootstrap` when every environment shares one account,
 * else `bootstrap-<account id>`. Each keeps its state in `<id>.tfstate` at the repository root.
 */
export function bootstrapStacks(app: App | Construct, config: BootstrapConfig): BootstrapStack[] {
  if (config.accounts.length === 1) return [new BootstrapStack(app, 'bootstrap', { config })];
  return config.accounts.map((a) => new BootstrapStack(app, `bootstrap-${a.accountId}`, { config, accountId: a.accountId }));
}
