import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration, S3BucketLifecycleConfigurationRule } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketLoggingA } from '@cdktf/provider-aws/lib/s3-bucket-logging';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { Lazy, TerraformResource, Token } from 'cdktf';
import { Construct } from 'constructs';
import { AwsContext } from './aws-context';
import { grant, policyDocument, PolicyStatement } from './iam';

export interface SecureBucketEncryption {
  /** Customer managed key for SSE-KMS default encryption. */
  readonly kmsKeyArn: string;
  /**
   * S3 Bucket Keys cut KMS requests (and cost) by orders of magnitude for many small objects.
   * Turn them off where per-object encryption context matters more (Terraform state).
   * @default true
   */
  readonly bucketKeyEnabled?: boolean;
  /**
   * Refuse writes that are not SSE-KMS with one of these key references (ARN, key id or alias
   * ARN, as writers name it), so no client can store objects outside the key.
   * @default none: writes without encryption headers get the default encryption
   */
  readonly requireKeyOnWrite?: readonly string[];
}

export interface WriteGrantOptions {
  /**
   * Scratch prefixes the writer may also upload to and delete from (DeleteObject without a
   * version id: versioning keeps the undo window). They must not overlap the write prefix.
   * @default none: nothing is deletable
   */
  readonly deleteUnder?: readonly string[];
  /**
   * Also read back (GetObject, which HeadObject needs too) what it wrote under the write and
   * scratch prefixes: for a writer that resumes from its own objects (the lake-sink restores an
   * open file's parts after a restart instead of replaying its whole block).
   * @default false
   */
  readonly readBack?: boolean;
}

export interface SecureBucketAccessLogs {
  /** A `SecureBucket` with `receivesAccessLogs: true`. */
  readonly bucket: SecureBucket;
  /** Key prefix of this bucket's logs in the log bucket, ending in "/". */
  readonly prefix: string;
}

export interface SecureBucketProps {
  /** Globally unique bucket name. */
  readonly bucketName: string;

  // Encryption
  /**
   * SSE-KMS with a customer managed key. Required, except on a bucket that receives server
   * access logs: S3 delivers those only to SSE-S3 buckets, so such a bucket is SSE-S3.
   */
  readonly encryption?: SecureBucketEncryption;

  // Logging
  /**
   * Where S3 server access logs of this bucket go. Required, except on a bucket that receives
   * server access logs itself. The log bucket's policy lets S3 log delivery write exactly this
   * bucket's prefix (AWS CDK's `allowLogDelivery`).
   */
  readonly accessLogs?: SecureBucketAccessLogs;
  /**
   * This bucket is the target of other buckets' server access logs: SSE-S3, no access logs of
   * its own, and S3 log delivery may write under each source bucket's prefix.
   * @default false
   */
  readonly receivesAccessLogs?: boolean;

  // Lifecycle
  /**
   * Lifecycle rules, applied as given.
   * @default one rule that aborts incomplete multipart uploads after 7 days
   */
  readonly lifecycleRules?: readonly S3BucketLifecycleConfigurationRule[];

  // Protection
  /**
   * Terraform `prevent_destroy` on the bucket: a plan that would delete it fails.
   * @default true
   */
  readonly protect?: boolean;
  /**
   * Let `terraform destroy` delete a non-empty bucket. Only for buckets that are not protected.
   * @default false
   */
  readonly forceDestroy?: boolean;

  // Addresses
  /**
   * Terraform logical ids of the resources, for buckets created before this construct: keeping
   * their ids keeps their state addresses, so adopting the construct moves nothing.
   * @default ids derived from the construct path
   */
  readonly logicalIds?: Partial<Record<keyof SecureBucketResources, string>>;
}

/** The Terraform resources of a `SecureBucket`, for stacks that must keep older addresses. */
export interface SecureBucketResources {
  readonly bucket: S3Bucket;
  readonly publicAccessBlock: S3BucketPublicAccessBlock;
  readonly ownershipControls: S3BucketOwnershipControls;
  readonly versioning: S3BucketVersioningA;
  readonly encryption: S3BucketServerSideEncryptionConfigurationA;
  readonly lifecycle: S3BucketLifecycleConfiguration;
  readonly logging?: S3BucketLoggingA;
  readonly policy: S3BucketPolicy;
}

/**
 * A private S3 bucket with the baseline every bucket here gets, as AWS CDK's `Bucket` with
 * `enforceSSL`: default encryption (SSE-KMS with bucket keys), versioning, all four public access
 * blocks, ACLs disabled, a TLS 1.2+ only policy, lifecycle rules and server access logs. Grants
 * are methods, so least privilege on a bucket is written here once.
 */
export class SecureBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly bucketName: string;
  readonly bucketArn: string;
  readonly kmsKeyArn?: string;
  readonly receivesAccessLogs: boolean;
  readonly resources: SecureBucketResources;

  private readonly ctx: AwsContext;
  private readonly logSources: { readonly bucketArn: string; readonly prefix: string }[] = [];

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    validate(this.node.path, props);
    const ctx = (this.ctx = AwsContext.of(this));
    this.receivesAccessLogs = props.receivesAccessLogs ?? false;
    this.kmsKeyArn = props.encryption?.kmsKeyArn;
    const protect = props.protect ?? true;
    // Before anything references a resource: a reference renders its logical id when it is taken.
    const named = <T extends TerraformResource>(part: keyof SecureBucketResources, resource: T): T => {
      const logicalId = props.logicalIds?.[part];
      if (logicalId) resource.overrideLogicalId(logicalId);
      return resource;
    };

    this.bucket = named(
      'bucket',
      new S3Bucket(this, 'bucket', {
        bucket: props.bucketName,
        forceDestroy: props.forceDestroy ?? false,
        lifecycle: protect ? { preventDestroy: true } : undefined,
      }),
    );
    this.bucketName = this.bucket.bucket;
    // Built from the name, not read from the resource: where the stack knows its account as plain
    // values (AwsContext.provide), policies elsewhere can name the bucket as a literal.
    this.bucketArn = `arn:${ctx.partition}:s3:::${props.bucketName}`;
    const bucket = this.bucket.id;

    const publicAccessBlock = named(
      'publicAccessBlock',
      new S3BucketPublicAccessBlock(this, 'public-access', {
        bucket,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      }),
    );
    const ownershipControls = named(
      'ownershipControls',
      new S3BucketOwnershipControls(this, 'ownership', { bucket, rule: { objectOwnership: 'BucketOwnerEnforced' } }),
    );
    const versioning = named('versioning', new S3BucketVersioningA(this, 'versioning', { bucket, versioningConfiguration: { status: 'Enabled' } }));
    const kms = props.encryption;
    const encryption = named(
      'encryption',
      new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
        bucket,
        rule: [
          kms
            ? {
                applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: kms.kmsKeyArn },
                bucketKeyEnabled: kms.bucketKeyEnabled ?? true,
              }
            : { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } },
        ],
      }),
    );
    const lifecycle = named(
      'lifecycle',
      new S3BucketLifecycleConfiguration(this, 'lifecycle', {
        bucket,
        rule: [...(props.lifecycleRules ?? [ABORT_INCOMPLETE_UPLOADS])],
      }),
    );

    let logging: S3BucketLoggingA | undefined;
    if (props.accessLogs) {
      const { bucket: target, prefix } = props.accessLogs;
      logging = named(
        'logging',
        new S3BucketLoggingA(this, 'logging', {
          bucket,
          targetBucket: target.bucket.id,
          targetPrefix: prefix,
          // Date-partitioned keys so the logs can be queried with Athena partition projection too.
          targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: 'EventTime' } },
        }),
      );
      target.allowLogDeliveryFrom(this, prefix);
    }

    const arn = this.bucketArn;
    const all = [arn, `${arn}/*`];
    const policy = named(
      'policy',
      new S3BucketPolicy(this, 'policy', {
        bucket,
        // Lazy: log delivery for source buckets declared after this one still lands in this policy.
        policy: Lazy.stringValue({
          produce: () =>
            policyDocument([
              denyToAll('DenyInsecureTransport', 's3:*', all, { Bool: { 'aws:SecureTransport': 'false' } }),
              denyToAll('DenyTlsBelow12', 's3:*', all, { NumericLessThan: { 's3:TlsVersion': '1.2' } }),
              ...(kms?.requireKeyOnWrite ? requireKeyStatements(`${arn}/*`, kms.requireKeyOnWrite) : []),
              ...this.logSources.map((source, i, sources) => ({
                Sid: sources.length === 1 ? 'S3ServerAccessLogDelivery' : `S3ServerAccessLogDelivery${i + 1}`,
                Effect: 'Allow' as const,
                Principal: { Service: 'logging.s3.amazonaws.com' },
                Action: 's3:PutObject',
                Resource: `${arn}/${source.prefix}*`,
                Condition: { ArnLike: { 'aws:SourceArn': source.bucketArn }, StringEquals: { 'aws:SourceAccount': ctx.accountId } },
              })),
            ]),
        }),
        // S3 rejects concurrent configuration changes on one bucket; the public access block goes first.
        dependsOn: [publicAccessBlock],
      }),
    );
    this.resources = { bucket: this.bucket, publicAccessBlock, ownershipControls, versioning, encryption, lifecycle, logging, policy };
  }

  /**
   * With ACLs disabled, S3 log delivery writes through the bucket policy: allow it under
   * `prefix`, for `source` in this account only. `accessLogs` on the source calls this.
   */
  allowLogDeliveryFrom(source: SecureBucket, prefix: string): void {
    if (!this.receivesAccessLogs) {
      throw new Error(
        `${source.node.path}: accessLogs.bucket ${this.node.path} must be created with receivesAccessLogs: true (S3 delivers logs only to SSE-S3 buckets)`,
      );
    }
    assertPrefix(prefix, `${source.node.path}: accessLogs.prefix`);
    this.logSources.push({ bucketArn: source.bucketArn, prefix });
  }

  /**
   * Upload objects under `prefix` (e.g. `raw/telemetry/`) and nothing else; with `deleteUnder`,
   * also upload and delete (a delete marker; never a version) under those scratch prefixes.
   */
  grantWrite(role: IamRole, prefix: string, opts: WriteGrantOptions = {}): IamRolePolicy {
    return grant(this, role, `${this.node.id}-write-${slug(prefix)}`, this.writeStatements(prefix, opts));
  }

  /** Read objects under `prefix`. */
  grantRead(role: IamRole, prefix: string): IamRolePolicy {
    return grant(this, role, `${this.node.id}-read-${slug(prefix)}`, this.readStatements(prefix));
  }

  /** The statements of `grantWrite`, for a construct that grants them as its own policy. */
  writeStatements(prefix: string, opts: WriteGrantOptions = {}): PolicyStatement[] {
    assertPrefix(prefix, `${this.node.path}: grantWrite prefix`);
    const scratch = [...(opts.deleteUnder ?? [])];
    for (const p of scratch) {
      assertPrefix(p, `${this.node.path}: grantWrite deleteUnder`);
      if (p.startsWith(prefix) || prefix.startsWith(p)) {
        throw new Error(`${this.node.path}: grantWrite deleteUnder '${p}' overlaps '${prefix}': objects under the write prefix are never deletable`);
      }
    }
    const objects = [prefix, ...scratch].map((p) => `${this.bucketArn}/${p}*`);
    return [
      {
        Sid: 'PutUnderPrefix',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: objects.length === 1 ? objects[0] : objects,
      },
      ...(opts.readBack
        ? [{ Sid: 'ReadBackUnderPrefix', Effect: 'Allow' as const, Action: 's3:GetObject', Resource: objects.length === 1 ? objects[0] : objects }]
        : []),
      ...(scratch.length > 0
        ? [
            {
              Sid: 'DeleteUnderScratchPrefix',
              Effect: 'Allow' as const,
              Action: 's3:DeleteObject',
              Resource: objects.slice(1).length === 1 ? objects[1] : objects.slice(1),
            },
          ]
        : []),
      this.listUnderPrefix(prefix, ...scratch),
      ...this.keyThroughS3(['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt']),
    ];
  }

  /**
   * The statements of `grantRead`. `withKey: false` leaves out the KMS statement, for a
   * caller that grants the key more broadly (Athena through Glue too).
   */
  readStatements(prefix: string | readonly string[], opts: { readonly withKey?: boolean } = {}): PolicyStatement[] {
    const prefixes = [prefix].flat();
    for (const p of prefixes) assertPrefix(p, `${this.node.path}: grantRead prefix`);
    const objects = prefixes.map((p) => `${this.bucketArn}/${p}*`);
    return [
      { Sid: 'GetUnderPrefix', Effect: 'Allow', Action: 's3:GetObject', Resource: objects.length === 1 ? objects[0] : objects },
      this.listUnderPrefix(...prefixes),
      ...(opts.withKey === false ? [] : this.keyThroughS3(['kms:Decrypt'])),
    ];
  }

  /** `kms:ViaService` value for `service` in this stack's region (`s3.eu-west-1.amazonaws.com`). */
  viaService(service: string): string {
    return `${service}.${this.ctx.region}.${this.ctx.dnsSuffix}`;
  }

  private listUnderPrefix(...prefixes: string[]): PolicyStatement {
    return {
      Sid: 'ListUnderPrefix',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: this.bucketArn,
      Condition: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
    };
  }

  private keyThroughS3(actions: string[]): PolicyStatement[] {
    if (!this.kmsKeyArn) return [];
    return [
      {
        Sid: 'UseBucketKeyThroughS3',
        Effect: 'Allow',
        Action: actions,
        Resource: this.kmsKeyArn,
        Condition: { StringEquals: { 'kms:ViaService': this.viaService('s3') } },
      },
    ];
  }
}

const ABORT_INCOMPLETE_UPLOADS: S3BucketLifecycleConfigurationRule = {
  id: 'abort-incomplete-uploads',
  status: 'Enabled',
  filter: [{}],
  abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
};

/**
 * Writers that send `x-amz-server-side-encryption` with anything but SSE-KMS, or with another
 * key, are refused. (The S3 backend sends `encrypt = true` as SSE-S3 unless kms_key_id is set.)
 */
function requireKeyStatements(objects: string, keyIds: readonly string[]): PolicyStatement[] {
  return [
    denyToAll('DenyWritesWithoutSseKms', 's3:PutObject', objects, { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' } }),
    denyToAll('DenyWritesEncryptedWithAnotherKey', 's3:PutObject', objects, {
      Null: { 's3:x-amz-server-side-encryption': 'false' },
      StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': [...keyIds] },
    }),
  ];
}

function denyToAll(sid: string, action: string, resource: string | string[], condition: PolicyStatement['Condition']): PolicyStatement {
  return { Sid: sid, Effect: 'Deny', Principal: { AWS: '*' }, Action: action, Resource: resource, Condition: condition };
}

function validate(path: string, props: SecureBucketProps): void {
  const fail = (field: string, message: string): never => {
    throw new Error(`${path}: ${field} ${message}`);
  };
  const name = props.bucketName;
  if (!Token.isUnresolved(name) && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
    fail('bucketName', `'${name}' must be 3-63 lower-case letters, digits, "." or "-", starting and ending with a letter or digit`);
  }
  if (props.receivesAccessLogs) {
    if (props.encryption) fail('encryption', 'must be unset on a bucket that receivesAccessLogs: S3 delivers server access logs only to SSE-S3 buckets');
    if (props.accessLogs) fail('accessLogs', 'must be unset on a bucket that receivesAccessLogs: a log bucket logging into a log bucket never ends');
  } else {
    if (!props.encryption) fail('encryption', 'is required: give a KMS key (only a bucket that receivesAccessLogs is SSE-S3)');
    if (!props.accessLogs) fail('accessLogs', 'is required: give a SecureBucket with receivesAccessLogs: true and a prefix');
  }
  if (props.encryption?.requireKeyOnWrite?.length === 0) fail('encryption.requireKeyOnWrite', 'must name at least one key reference');
  if ((props.protect ?? true) && props.forceDestroy) fail('forceDestroy', 'cannot be true on a protected bucket: set protect: false first');
}

function assertPrefix(prefix: string, where: string): void {
  if (!/^[A-Za-z0-9!_.'()=-]+(\/[A-Za-z0-9!_.'()=-]+)*\/$/.test(prefix)) {
    throw new Error(`${where} '${prefix}' must be a non-empty key prefix ending in "/" (e.g. 'raw/telemetry/')`);
  }
}

/** IAM policy names allow `[\w+=,.@-]`; `raw/telemetry/` becomes `raw-telemetry`. */
export const slug = (prefix: string) => prefix.replace(/\/+$/, '').replace(/[^\w+=,.@-]/g, '-');
