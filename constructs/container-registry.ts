import { EcrLifecyclePolicy } from '@cdktf/provider-aws/lib/ecr-lifecycle-policy';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';
import { grant, PolicyStatement } from './iam';
import { EncryptionKey } from './kms-key';

/** ECR repository names: lower-case path segments of letters and digits joined by `.`, `_` or `-`. */
const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

const PULL_ACTIONS = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'];
const PUSH_ACTIONS = ['ecr:PutImage', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload'];

export interface ContainerRegistryProps {
  /** Name prefix of the registry's key alias, e.g. `sdp-dev`. */
  readonly name: string;
  /** One repository per app image, e.g. `sdp/validator`. */
  readonly repositoryNames: readonly string[];

  // Encryption
  readonly encryption?: {
    /**
     * KMS key for image layers in every repository (fixed at creation; changing it replaces the repository).
     * @default a new EncryptionKey with rotation, alias `<name>-ecr`
     */
    readonly kmsKey?: EncryptionKey;
  };

  // Lifecycle
  /**
   * Tagged images to keep per repository; older ones expire.
   * @default 30
   */
  readonly keepLastTaggedImages?: number;
  /**
   * Untagged images (failed or superseded pushes) expire after this many days.
   * @default 7
   */
  readonly expireUntaggedAfterDays?: number;

  // Protection
  /**
   * Terraform `prevent_destroy` on the repositories.
   * @default false
   */
  readonly preventDestroy?: boolean;
  /**
   * Let `terraform destroy` delete repositories that still hold images.
   * @default false
   */
  readonly forceDelete?: boolean;
}

/**
 * ECR repositories for the platform's app images: immutable tags (a tag always names the same
 * image, so rollbacks are exact), scan on push, KMS encryption and a lifecycle policy that keeps
 * the last N tagged images. Pull and push access are methods scoped to exact repository ARNs.
 */
export class ContainerRegistry extends Construct {
  readonly kmsKey: EncryptionKey;
  /** The `aws_ecr_repository` resources by repository name. */
  readonly repositories: Readonly<Record<string, EcrRepository>>;

  constructor(scope: Construct, id: string, props: ContainerRegistryProps) {
    super(scope, id);
    validate(props);
    const keepTagged = props.keepLastTaggedImages ?? 30;
    const untaggedDays = props.expireUntaggedAfterDays ?? 7;

    this.kmsKey =
      props.encryption?.kmsKey ??
      new EncryptionKey(this, 'key', {
        alias: `${props.name}-ecr`,
        description: `ECR repositories of ${props.name}`,
        preventDestroy: props.preventDestroy,
      });

    const lifecyclePolicy = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          description: `Expire untagged images after ${untaggedDays} days`,
          selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: untaggedDays },
          action: { type: 'expire' },
        },
        {
          rulePriority: 2,
          description: `Keep the last ${keepTagged} tagged images`,
          selection: { tagStatus: 'tagged', tagPatternList: ['*'], countType: 'imageCountMoreThan', countNumber: keepTagged },
          action: { type: 'expire' },
        },
      ],
    });

    const repositories: Record<string, EcrRepository> = {};
    for (const name of props.repositoryNames) {
      const id = `repo-${name.replace(/\//g, '-')}`;
      const repo = new EcrRepository(this, id, {
        name,
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: [{ encryptionType: 'KMS', kmsKey: this.kmsKey.arn }],
        forceDelete: props.forceDelete ?? false,
        lifecycle: props.preventDestroy ? { preventDestroy: true } : undefined,
      });
      new EcrLifecyclePolicy(this, `${id}-lifecycle`, { repository: repo.name, policy: lifecyclePolicy });
      repositories[name] = repo;
    }
    this.repositories = repositories;
  }

  /** `<account>.dkr.ecr.<region>.amazonaws.com/<name>`, for image references. */
  repositoryUrl(name: string): string {
    return this.repository(name).repositoryUrl;
  }

  repositoryArn(name: string): string {
    return this.repository(name).arn;
  }

  /** Pull images from the given repositories (default: all). */
  grantPull(role: IamRole, repositoryNames: readonly string[] = Object.keys(this.repositories)): IamRolePolicy {
    return grant(this, role, `${this.node.id}-pull`, [
      authorizationToken(),
      { Sid: 'PullImages', Effect: 'Allow', Action: PULL_ACTIONS, Resource: this.arns(repositoryNames, 'grantPull') },
    ]);
  }

  /** Push (and pull) images to the given repositories (default: all). Tags are immutable, so a push never overwrites. */
  grantPush(role: IamRole, repositoryNames: readonly string[] = Object.keys(this.repositories)): IamRolePolicy {
    return grant(this, role, `${this.node.id}-push`, [
      authorizationToken(),
      { Sid: 'PushImages', Effect: 'Allow', Action: [...PULL_ACTIONS, ...PUSH_ACTIONS], Resource: this.arns(repositoryNames, 'grantPush') },
    ]);
  }

  private arns(names: readonly string[], method: string): string[] {
    if (names.length === 0) throw new Error(`ContainerRegistry ${this.node.path}: ${method} needs at least one repository name`);
    return names.map((n) => this.repository(n, method).arn);
  }

  private repository(name: string, method = 'lookup'): EcrRepository {
    const repo = this.repositories[name];
    if (!repo) {
      throw new Error(
        `ContainerRegistry ${this.node.path}: ${method}: unknown repository '${name}'; repositories are ${Object.keys(this.repositories).join(', ')}`,
      );
    }
    return repo;
  }
}

/** GetAuthorizationToken has no resource-level permissions: `*` is the only valid resource. */
function authorizationToken(): PolicyStatement {
  return { Sid: 'GetRegistryToken', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' };
}

function validate(props: ContainerRegistryProps): void {
  const issues: string[] = [];
  if (props.repositoryNames.length === 0) issues.push('repositoryNames: give at least one repository');
  props.repositoryNames.forEach((name, i) => {
    if (name.length < 2 || name.length > 256 || !REPOSITORY_NAME.test(name)) {
      issues.push(`repositoryNames[${i}]: '${name}' is not a valid ECR repository name (lower-case, e.g. 'sdp/validator')`);
    }
    if (props.repositoryNames.indexOf(name) !== i) issues.push(`repositoryNames[${i}]: '${name}' is listed twice`);
  });
  const keep = props.keepLastTaggedImages;
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 1)) issues.push(`keepLastTaggedImages: ${keep} must be a whole number >= 1`);
  const days = props.expireUntaggedAfterDays;
  if (days !== undefined && (!Number.isInteger(days) || days < 1)) issues.push(`expireUntaggedAfterDays: ${days} must be a whole number >= 1`);
  if (issues.length > 0) throw new Error(`Invalid ContainerRegistry props for '${props.name}':\n${issues.map((i) => `  - ${i}`).join('\n')}`);
}
