import { AthenaWorkgroup } from '@cdktf/provider-aws/lib/athena-workgroup';
import { GlueCatalogDatabase } from '@cdktf/provider-aws/lib/glue-catalog-database';
import { GlueCatalogTable } from '@cdktf/provider-aws/lib/glue-catalog-table';
import { GlueDataCatalogEncryptionSettings } from '@cdktf/provider-aws/lib/glue-data-catalog-encryption-settings';
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
import { Lazy } from 'cdktf';
import { Construct } from 'constructs';
import { lakeLayout } from '../apps/contracts/lake';
import { AwsContext } from './aws-context';
import { grant, policyDocument, PolicyStatement } from './iam';
import { EncryptionKey } from './kms-key';

const GiB = 1024 ** 3;
/** Athena's smallest per-query scan cutoff (10 MB). */
const MIN_BYTES_SCANNED_CUTOFF = 10 * 1024 ** 2;

export type ArchiveStorageClass = 'GLACIER_IR' | 'GLACIER' | 'DEEP_ARCHIVE';

export interface DataLakeLifecycle {
  /**
   * Move objects to STANDARD_IA after this many days (S3 minimum: 30).
   * @default 30
   */
  readonly infrequentAccessAfterDays?: number;
  /**
   * Move objects to the archive class after this many days; at least 30 days after STANDARD_IA.
   * @default 90
   */
  readonly glacierAfterDays?: number;
  /**
   * Archive class. Glacier Instant Retrieval stays queryable by Athena; Flexible Retrieval and
   * Deep Archive are cheaper but Athena skips or fails on those objects until restored.
   * @default 'GLACIER_IR'
   */
  readonly archiveStorageClass?: ArchiveStorageClass;
  /**
   * Delete raw objects this many days after creation.
   * @default undefined (keep forever)
   */
  readonly expireAfterDays?: number;
  /**
   * Delete overwritten or deleted object versions after this many days; the undo window.
   * @default 30
   */
  readonly noncurrentVersionExpireAfterDays?: number;
  /** @default 7 */
  readonly abortIncompleteMultipartUploadAfterDays?: number;
}

export interface DataLakeProps {
  /** Name prefix of every resource, e.g. `sdp-dev`. */
  readonly name: string;

  // Encryption
  readonly encryption?: {
    /**
     * CMK for the lake and Athena results buckets, Athena query results and (opt-in) the Glue catalog.
     * @default a new EncryptionKey with rotation, alias `<name>-lake`
     */
    readonly kmsKey?: EncryptionKey;
  };

  // Lifecycle
  /** Tiering and expiry of the lake bucket. @default see DataLakeLifecycle */
  readonly lifecycle?: DataLakeLifecycle;

  // Logging
  readonly accessLogs?: {
    /** @default 90 */
    readonly expireAfterDays?: number;
  };

  // Catalog
  readonly catalog: {
    /** Glue database name: lower-case letters, digits and `_`, e.g. `sdp_dev_lake`. */
    readonly databaseName: string;
    /**
     * Encrypt the account's Glue Data Catalog (metadata and connection passwords) with this
     * lake's key. Off by default because the setting is one per account and region: two
     * environments sharing an account would overwrite each other's key on every apply, and every
     * catalog reader in the account then needs kms:Decrypt on this key.
     * @default false
     */
    readonly manageCatalogEncryption?: boolean;
  };

  // Query
  readonly athena?: {
    /** @default `<name>-lake` */
    readonly workgroupName?: string;
    /** @default 30 */
    readonly resultsExpireAfterDays?: number;
    /**
     * Queries that would scan more are cancelled: a guard against `SELECT *` over the whole lake.
     * @default 10 GiB
     */
    readonly bytesScannedCutoffPerQuery?: number;
  };

  // Protection
  /**
   * Let `terraform destroy` delete non-empty buckets (and the workgroup's saved queries).
   * @default false
   */
  readonly forceDestroy?: boolean;
  /**
   * Terraform `prevent_destroy` on the buckets, the key, the Glue database and table.
   * @default false
   */
  readonly preventDestroy?: boolean;
}

/**
 * The raw telemetry lake: an SSE-KMS bucket laid out by `apps/contracts/lake.ts`, a Glue table
 * with partition projection (Athena sees new `dt`/`hour` partitions with no crawler), an Athena
 * workgroup that enforces encrypted results and a scan cutoff, and access logs for both buckets.
 */
export class DataLake extends Construct {
  readonly kmsKey: EncryptionKey;
  readonly bucket: S3Bucket;
  readonly bucketName: string;
  readonly bucketArn: string;
  readonly logBucket: S3Bucket;
  readonly logBucketName: string;
  readonly resultsBucket: S3Bucket;
  readonly resultsBucketName: string;
  readonly database: GlueCatalogDatabase;
  readonly databaseName: string;
  readonly table: GlueCatalogTable;
  readonly tableName: string;
  readonly workgroup: AthenaWorkgroup;
  readonly workgroupName: string;

  private readonly ctx: AwsContext;

  constructor(scope: Construct, id: string, props: DataLakeProps) {
    super(scope, id);
    const cfg = resolveProps(props);
    const ctx = (this.ctx = AwsContext.of(this));
    const protection = { forceDestroy: props.forceDestroy ?? false, preventDestroy: props.preventDestroy ?? false };

    this.kmsKey =
      props.encryption?.kmsKey ??
      new EncryptionKey(this, 'key', {
        alias: `${props.name}-lake`,
        description: `Data lake ${props.name}: lake and Athena results buckets, query results`,
        preventDestroy: props.preventDestroy,
      });

    // Bucket names are global: account and region make them unique without a random suffix.
    const bucketName = (purpose: string) => `${props.name}-${purpose}-${ctx.accountId}-${ctx.region}`;

    // S3 server access logging can only deliver to SSE-S3 buckets, so this one bucket is not KMS-encrypted.
    const logs = new HardenedBucket(this, 'access-logs', {
      bucketName: bucketName('lake-logs'),
      encryption: { sseAlgorithm: 'AES256' },
      rules: [expiryRule('expire-logs', cfg.accessLogsExpireAfterDays), ...cleanupRules(cfg.lifecycle)],
      ...protection,
    });
    const lake = new HardenedBucket(this, 'lake', {
      bucketName: bucketName('lake'),
      encryption: { sseAlgorithm: 'aws:kms', kmsKeyArn: this.kmsKey.arn },
      rules: [tieringRule(cfg.lifecycle), ...cleanupRules(cfg.lifecycle)],
      accessLogs: { bucket: logs.bucket, prefix: 'lake/' },
      ...protection,
    });
    // A separate results bucket: results expire fast, and query users may write there but never into the lake.
    const results = new HardenedBucket(this, 'athena-results', {
      bucketName: bucketName('athena-results'),
      encryption: { sseAlgorithm: 'aws:kms', kmsKeyArn: this.kmsKey.arn },
      rules: [expiryRule('expire-results', cfg.resultsExpireAfterDays), ...cleanupRules(cfg.lifecycle)],
      accessLogs: { bucket: logs.bucket, prefix: 'athena-results/' },
      ...protection,
    });
    logs.allowAccessLogDeliveryFrom([lake.bucket, results.bucket]);

    this.bucket = lake.bucket;
    this.bucketName = lake.bucket.bucket;
    this.bucketArn = lake.bucket.arn;
    this.logBucket = logs.bucket;
    this.logBucketName = logs.bucket.bucket;
    this.resultsBucket = results.bucket;
    this.resultsBucketName = results.bucket.bucket;

    const lifecycle = props.preventDestroy ? { preventDestroy: true } : undefined;

    // Catalog
    this.database = new GlueCatalogDatabase(this, 'database', {
      name: props.catalog.databaseName,
      description: `Data lake ${props.name}`,
      locationUri: `s3://${this.bucketName}/`,
      lifecycle,
    });
    this.databaseName = this.database.name;

    const location = `s3://${this.bucketName}/${lakeLayout.prefix}`;
    const [dt, hour] = lakeLayout.partitionKeys;
    this.table = new GlueCatalogTable(this, 'raw-telemetry', {
      databaseName: this.database.name,
      name: lakeLayout.glueTableName,
      description: 'Raw telemetry readings written by the lake sink (Parquet, partitioned by UTC date and hour)',
      tableType: 'EXTERNAL_TABLE',
      parameters: {
        EXTERNAL: 'TRUE',
        classification: 'parquet',
        // Partition projection: Athena computes partitions from these rules instead of the catalog.
        'projection.enabled': 'true',
        [`projection.${dt.name}.type`]: 'date',
        [`projection.${dt.name}.format`]: 'yyyy-MM-dd',
        [`projection.${dt.name}.range`]: `${lakeLayout.projectionStartDate},NOW`,
        [`projection.${dt.name}.interval`]: '1',
        [`projection.${dt.name}.interval.unit`]: 'DAYS',
        [`projection.${hour.name}.type`]: 'integer',
        [`projection.${hour.name}.range`]: '0,23',
        [`projection.${hour.name}.digits`]: '2',
        // `$${...}` renders as a literal `${...}` for Athena instead of a Terraform interpolation.
        'storage.location.template': `${location}${dt.name}=$\${${dt.name}}/${hour.name}=$\${${hour.name}}/`,
      },
      partitionKeys: lakeLayout.partitionKeys.map((k) => ({ name: k.name, type: k.type, comment: k.comment })),
      storageDescriptor: {
        location,
        inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
        outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
        serDeInfo: {
          name: 'parquet',
          serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
          parameters: { 'serialization.format': '1' },
        },
        columns: lakeLayout.columns.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
      },
      lifecycle,
    });
    this.tableName = this.table.name;

    if (props.catalog.manageCatalogEncryption) {
      new GlueDataCatalogEncryptionSettings(this, 'catalog-encryption', {
        dataCatalogEncryptionSettings: {
          encryptionAtRest: { catalogEncryptionMode: 'SSE-KMS', sseAwsKmsKeyId: this.kmsKey.arn },
          connectionPasswordEncryption: { returnConnectionPasswordEncrypted: true, awsKmsKeyId: this.kmsKey.arn },
        },
      });
    }

    // Query
    this.workgroup = new AthenaWorkgroup(this, 'workgroup', {
      name: cfg.workgroupName,
      description: `Queries over data lake ${props.name}`,
      state: 'ENABLED',
      forceDestroy: props.forceDestroy ?? false,
      configuration: {
        // Clients cannot override the output location, encryption or cutoff.
        enforceWorkgroupConfiguration: true,
        publishCloudwatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: cfg.bytesScannedCutoffPerQuery,
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucketName}/`,
          expectedBucketOwner: ctx.accountId,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKeyArn: this.kmsKey.arn },
        },
      },
    });
    this.workgroupName = this.workgroup.name;
  }

  /** Upload objects under `prefix` (e.g. `raw/telemetry/`) and nothing else. */
  grantWrite(role: IamRole, prefix: string): IamRolePolicy {
    assertPrefix(prefix, 'grantWrite');
    return grant(this, role, `${this.node.id}-write-${slug(prefix)}`, [
      {
        Sid: 'PutUnderPrefix',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: `${this.bucketArn}/${prefix}*`,
      },
      this.listUnderPrefix(prefix),
      this.kmsThroughS3(['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt']),
    ]);
  }

  /** Read objects under `prefix`. */
  grantRead(role: IamRole, prefix: string): IamRolePolicy {
    assertPrefix(prefix, 'grantRead');
    return grant(this, role, `${this.node.id}-read-${slug(prefix)}`, [
      { Sid: 'GetUnderPrefix', Effect: 'Allow', Action: 's3:GetObject', Resource: `${this.bucketArn}/${prefix}*` },
      this.listUnderPrefix(prefix),
      this.kmsThroughS3(['kms:Decrypt']),
    ]);
  }

  /** Run Athena queries over the raw telemetry table in this lake's workgroup. */
  grantQuery(role: IamRole): IamRolePolicy {
    const ctx = this.ctx;
    const resultsArn = this.resultsBucket.arn;
    const statements: PolicyStatement[] = [
      {
        Sid: 'QueryInWorkgroup',
        Effect: 'Allow',
        Action: [
          'athena:StartQueryExecution',
          'athena:StopQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:GetQueryResultsStream',
          'athena:GetQueryRuntimeStatistics',
          'athena:BatchGetQueryExecution',
          'athena:ListQueryExecutions',
          'athena:GetWorkGroup',
        ],
        Resource: ctx.arn('athena', `workgroup/${this.workgroupName}`),
      },
      {
        Sid: 'ReadCatalog',
        Effect: 'Allow',
        Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition'],
        Resource: [
          ctx.arn('glue', 'catalog'),
          ctx.arn('glue', `database/${this.databaseName}`),
          ctx.arn('glue', `table/${this.databaseName}/${this.tableName}`),
        ],
      },
      { Sid: 'ReadTableData', Effect: 'Allow', Action: 's3:GetObject', Resource: `${this.bucketArn}/${lakeLayout.prefix}*` },
      this.listUnderPrefix(lakeLayout.prefix),
      {
        Sid: 'LocateBuckets',
        Effect: 'Allow',
        Action: 's3:GetBucketLocation',
        Resource: [this.bucketArn, resultsArn],
      },
      {
        Sid: 'WriteAndReadResults',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: `${resultsArn}/*`,
      },
      { Sid: 'ListResults', Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: resultsArn },
      {
        Sid: 'UseLakeKey',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt'],
        Resource: this.kmsKey.arn,
        // Athena reads and writes S3 as the caller; Glue decrypts the catalog when it is encrypted.
        Condition: { StringEquals: { 'kms:ViaService': [this.viaService('s3'), this.viaService('glue')] } },
      },
    ];
    return grant(this, role, `${this.node.id}-query`, statements);
  }

  private listUnderPrefix(prefix: string): PolicyStatement {
    return {
      Sid: 'ListUnderPrefix',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: this.bucketArn,
      Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    };
  }

  private kmsThroughS3(actions: string[]): PolicyStatement {
    return {
      Sid: 'UseLakeKeyThroughS3',
      Effect: 'Allow',
      Action: actions,
      Resource: this.kmsKey.arn,
      Condition: { StringEquals: { 'kms:ViaService': this.viaService('s3') } },
    };
  }

  private viaService(service: string): string {
    return `${service}.${this.ctx.region}.${this.ctx.dnsSuffix}`;
  }
}

interface HardenedBucketProps {
  readonly bucketName: string;
  readonly encryption: { readonly sseAlgorithm: 'AES256' } | { readonly sseAlgorithm: 'aws:kms'; readonly kmsKeyArn: string };
  readonly rules: S3BucketLifecycleConfigurationRule[];
  readonly accessLogs?: { readonly bucket: S3Bucket; readonly prefix: string };
  readonly forceDestroy: boolean;
  readonly preventDestroy: boolean;
}

/**
 * A private bucket with the baseline every bucket here gets: default encryption (with bucket keys
 * for KMS), versioning, all four public access blocks, ACLs disabled, a TLS 1.2+ only policy,
 * lifecycle rules and optional access logging.
 */
class HardenedBucket extends Construct {
  readonly bucket: S3Bucket;
  private readonly extraStatements: PolicyStatement[] = [];

  constructor(scope: Construct, id: string, props: HardenedBucketProps) {
    super(scope, id);
    this.bucket = new S3Bucket(this, 'bucket', {
      bucket: props.bucketName,
      forceDestroy: props.forceDestroy,
      lifecycle: props.preventDestroy ? { preventDestroy: true } : undefined,
    });
    const bucket = this.bucket.id;

    const publicAccess = new S3BucketPublicAccessBlock(this, 'public-access', {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', { bucket, rule: { objectOwnership: 'BucketOwnerEnforced' } });
    new S3BucketVersioningA(this, 'versioning', { bucket, versioningConfiguration: { status: 'Enabled' } });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket,
      rule: [
        props.encryption.sseAlgorithm === 'aws:kms'
          ? {
              applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: props.encryption.kmsKeyArn },
              // Bucket keys cut KMS requests (and cost) by orders of magnitude for many small objects.
              bucketKeyEnabled: true,
            }
          : { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } },
      ],
    });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', { bucket, rule: props.rules });
    if (props.accessLogs) {
      new S3BucketLoggingA(this, 'logging', {
        bucket,
        targetBucket: props.accessLogs.bucket.id,
        targetPrefix: props.accessLogs.prefix,
        // Date-partitioned keys so the logs can be queried with Athena partition projection too.
        targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: 'EventTime' } },
      });
    }

    const arn = this.bucket.arn;
    new S3BucketPolicy(this, 'policy', {
      bucket,
      // Lazy: statements added after construction (log delivery) still land in this one policy.
      policy: policyDocumentLazy(() => [
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 's3:*',
          Resource: [arn, `${arn}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
        {
          Sid: 'DenyTlsBelow12',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 's3:*',
          Resource: [arn, `${arn}/*`],
          Condition: { NumericLessThan: { 's3:TlsVersion': '1.2' } },
        },
        ...this.extraStatements,
      ]),
      // S3 rejects concurrent configuration changes on one bucket; the public access block goes first.
      dependsOn: [publicAccess],
    });
  }

  /** With ACLs disabled, S3 log delivery writes through the bucket policy, only for these source buckets. */
  allowAccessLogDeliveryFrom(sources: S3Bucket[]): void {
    const ctx = AwsContext.of(this);
    this.extraStatements.push({
      Sid: 'AllowS3AccessLogDelivery',
      Effect: 'Allow',
      Principal: { Service: 'logging.s3.amazonaws.com' },
      Action: 's3:PutObject',
      Resource: `${this.bucket.arn}/*`,
      Condition: {
        ArnLike: { 'aws:SourceArn': sources.map((s) => s.arn) },
        StringEquals: { 'aws:SourceAccount': ctx.accountId },
      },
    });
  }
}

function policyDocumentLazy(statements: () => PolicyStatement[]): string {
  return Lazy.stringValue({ produce: () => policyDocument(statements()) });
}

interface ResolvedConfig {
  readonly lifecycle: Required<Omit<DataLakeLifecycle, 'expireAfterDays'>> & { readonly expireAfterDays?: number };
  readonly accessLogsExpireAfterDays: number;
  readonly workgroupName: string;
  readonly resultsExpireAfterDays: number;
  readonly bytesScannedCutoffPerQuery: number;
}

/** Applies the documented defaults and S3's lifecycle rules; every message names the prop. */
function resolveProps(props: DataLakeProps): ResolvedConfig {
  const l = props.lifecycle ?? {};
  const cfg: ResolvedConfig = {
    lifecycle: {
      infrequentAccessAfterDays: l.infrequentAccessAfterDays ?? 30,
      glacierAfterDays: l.glacierAfterDays ?? 90,
      archiveStorageClass: l.archiveStorageClass ?? 'GLACIER_IR',
      expireAfterDays: l.expireAfterDays,
      noncurrentVersionExpireAfterDays: l.noncurrentVersionExpireAfterDays ?? 30,
      abortIncompleteMultipartUploadAfterDays: l.abortIncompleteMultipartUploadAfterDays ?? 7,
    },
    accessLogsExpireAfterDays: props.accessLogs?.expireAfterDays ?? 90,
    workgroupName: props.athena?.workgroupName ?? `${props.name}-lake`,
    resultsExpireAfterDays: props.athena?.resultsExpireAfterDays ?? 30,
    bytesScannedCutoffPerQuery: props.athena?.bytesScannedCutoffPerQuery ?? 10 * GiB,
  };
  const issues: string[] = [];
  const wholeDays = (path: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) issues.push(`${path}: ${v} must be a whole number of days >= 1`);
  };
  const lc = cfg.lifecycle;
  wholeDays('lifecycle.infrequentAccessAfterDays', lc.infrequentAccessAfterDays);
  wholeDays('lifecycle.glacierAfterDays', lc.glacierAfterDays);
  wholeDays('lifecycle.expireAfterDays', lc.expireAfterDays);
  wholeDays('lifecycle.noncurrentVersionExpireAfterDays', lc.noncurrentVersionExpireAfterDays);
  wholeDays('lifecycle.abortIncompleteMultipartUploadAfterDays', lc.abortIncompleteMultipartUploadAfterDays);
  wholeDays('accessLogs.expireAfterDays', cfg.accessLogsExpireAfterDays);
  wholeDays('athena.resultsExpireAfterDays', cfg.resultsExpireAfterDays);
  if (lc.infrequentAccessAfterDays < 30) {
    issues.push(`lifecycle.infrequentAccessAfterDays: ${lc.infrequentAccessAfterDays} is below 30, the minimum S3 allows before STANDARD_IA`);
  }
  if (lc.glacierAfterDays < lc.infrequentAccessAfterDays + 30) {
    issues.push(
      `lifecycle.glacierAfterDays: ${lc.glacierAfterDays} must be at least 30 days after lifecycle.infrequentAccessAfterDays (${lc.infrequentAccessAfterDays}); S3 keeps objects in STANDARD_IA for 30 days`,
    );
  }
  if (lc.expireAfterDays !== undefined && lc.expireAfterDays <= lc.glacierAfterDays) {
    issues.push(`lifecycle.expireAfterDays: ${lc.expireAfterDays} must be after lifecycle.glacierAfterDays (${lc.glacierAfterDays})`);
  }
  if (!Number.isInteger(cfg.bytesScannedCutoffPerQuery) || cfg.bytesScannedCutoffPerQuery < MIN_BYTES_SCANNED_CUTOFF) {
    issues.push(`athena.bytesScannedCutoffPerQuery: ${cfg.bytesScannedCutoffPerQuery} is below Athena's minimum of ${MIN_BYTES_SCANNED_CUTOFF} bytes (10 MB)`);
  }
  if (!/^[a-z0-9_]{1,255}$/.test(props.catalog.databaseName)) {
    issues.push(`catalog.databaseName: '${props.catalog.databaseName}' must be lower-case letters, digits or "_" (Athena cannot query other names)`);
  }
  if (!/^[a-zA-Z0-9._-]{1,128}$/.test(cfg.workgroupName)) {
    issues.push(`athena.workgroupName: '${cfg.workgroupName}' must be 1-128 letters, digits, ".", "_" or "-"`);
  }
  if (!/^[a-z0-9][a-z0-9-]{0,19}$/.test(props.name)) {
    issues.push(`name: '${props.name}' must be 1-20 lower-case letters, digits or "-" (it prefixes global S3 bucket names)`);
  }
  if (issues.length > 0) throw new Error(`Invalid DataLake props for '${props.name}':\n${issues.map((i) => `  - ${i}`).join('\n')}`);
  return cfg;
}

const wholeBucket = [{}];

function tieringRule(l: ResolvedConfig['lifecycle']): S3BucketLifecycleConfigurationRule {
  return {
    id: 'tiering',
    status: 'Enabled',
    filter: wholeBucket,
    transition: [
      { days: l.infrequentAccessAfterDays, storageClass: 'STANDARD_IA' },
      { days: l.glacierAfterDays, storageClass: l.archiveStorageClass },
    ],
    ...(l.expireAfterDays !== undefined ? { expiration: [{ days: l.expireAfterDays }] } : {}),
  };
}

function expiryRule(id: string, days: number): S3BucketLifecycleConfigurationRule {
  return { id, status: 'Enabled', filter: wholeBucket, expiration: [{ days }] };
}

/** Versioning keeps every overwrite; these bound what it costs and clear failed uploads. */
function cleanupRules(l: ResolvedConfig['lifecycle']): S3BucketLifecycleConfigurationRule[] {
  return [
    {
      id: 'noncurrent-versions-and-incomplete-uploads',
      status: 'Enabled',
      filter: wholeBucket,
      noncurrentVersionExpiration: [{ noncurrentDays: l.noncurrentVersionExpireAfterDays }],
      abortIncompleteMultipartUpload: [{ daysAfterInitiation: l.abortIncompleteMultipartUploadAfterDays }],
    },
    {
      id: 'expired-delete-markers',
      status: 'Enabled',
      filter: wholeBucket,
      expiration: [{ expiredObjectDeleteMarker: true }],
    },
  ];
}

function assertPrefix(prefix: string, method: string): void {
  if (!/^[A-Za-z0-9!_.'()=-]+(\/[A-Za-z0-9!_.'()=-]+)*\/$/.test(prefix)) {
    throw new Error(`DataLake ${method}: prefix '${prefix}' must be a non-empty key prefix ending in "/" (e.g. '${lakeLayout.prefix}')`);
  }
}

/** IAM policy names allow `[\w+=,.@-]`; `raw/telemetry/` becomes `raw-telemetry`. */
const slug = (prefix: string) => prefix.replace(/\/+$/, '').replace(/[^\w+=,.@-]/g, '-');
