import { AthenaWorkgroup } from '@cdktf/provider-aws/lib/athena-workgroup';
import { GlueCatalogDatabase } from '@cdktf/provider-aws/lib/glue-catalog-database';
import { GlueCatalogTable } from '@cdktf/provider-aws/lib/glue-catalog-table';
import { GlueDataCatalogEncryptionSettings } from '@cdktf/provider-aws/lib/glue-data-catalog-encryption-settings';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfigurationRule } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { Construct } from 'constructs';
import { AwsContext } from './aws-context';
import { grant, PolicyStatement } from './iam';
import { EncryptionKey } from './kms-key';
import { SecureBucket, slug } from './secure-bucket';

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
  /**
   * Delete a table's freshness parts (`LakeTableLayout.partsPrefix`) this many days after their
   * last write, and their overwritten versions a day after. The writer deletes a file's parts
   * once the file is written; this only removes the ones a crash or a failed deletion left,
   * which readers already ignore. A part of a file still open that long disappears from the
   * fresh view until the file is written (nothing is lost: the file holds every row).
   * @default 7
   */
  readonly partsExpireAfterDays?: number;
}

export interface LakeColumn {
  readonly name: string;
  /** Glue (Hive) type, e.g. `string`, `double`, `timestamp`. */
  readonly type: string;
  readonly comment?: string;
}

/**
 * One Parquet table in the lake, laid out as the writer writes it: objects under
 * `<prefix><date key>=yyyy-MM-dd/<hour key>=HH/`. `apps/contracts/lake.ts` declares the telemetry one.
 */
export interface LakeTableLayout {
  /** Glue table name: lower-case letters, digits and `_`. */
  readonly glueTableName: string;
  /** Key prefix in the lake bucket, ending in "/": the table's location. */
  readonly prefix: string;
  /**
   * Where the writer keeps freshness parts of files still open, ending in "/", beside (never
   * under) `prefix` so the Glue table does not list them (docs/lake.md). `grantWrite(prefix)`
   * then also lets the writer put and delete there, and a lifecycle rule expires strays.
   * @default none: the table has no parts
   */
  readonly partsPrefix?: string;
  readonly columns: readonly LakeColumn[];
  /** The UTC date key, then the hour key; Athena projects both (no crawler, no partition DDL). */
  readonly partitionKeys: readonly [LakeColumn, LakeColumn];
  /** First date partition projection considers, `yyyy-MM-dd`. */
  readonly projectionStartDate: string;
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
  /**
   * The tables of the lake, each a Glue table with partition projection. A lake with no tables
   * is only buckets, a database and a workgroup.
   */
  readonly tables: readonly LakeTableLayout[];
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
 * A Parquet lake: an SSE-KMS bucket, one Glue table per `tables` entry with partition projection
 * (Athena sees new date/hour partitions with no crawler), an Athena workgroup that enforces
 * encrypted results and a scan cutoff, and access logs for both buckets. Every bucket is a
 * `SecureBucket`.
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
  /** Glue tables by name. */
  readonly tables: Readonly<Record<string, GlueCatalogTable>>;
  /** The buckets, for grants and policies beyond the lake's own methods. */
  readonly buckets: { readonly lake: SecureBucket; readonly results: SecureBucket; readonly accessLogs: SecureBucket };
  readonly workgroup: AthenaWorkgroup;
  readonly workgroupName: string;

  private readonly ctx: AwsContext;
  private readonly layouts: readonly LakeTableLayout[];

  constructor(scope: Construct, id: string, props: DataLakeProps) {
    super(scope, id);
    const cfg = resolveProps(props);
    const ctx = (this.ctx = AwsContext.of(this));
    this.layouts = props.tables;
    const protection = { protect: props.preventDestroy ?? false, forceDestroy: props.forceDestroy ?? false };

    this.kmsKey =
      props.encryption?.kmsKey ??
      new EncryptionKey(this, 'key', {
        alias: `${props.name}-lake`,
        description: `Data lake ${props.name}: lake and Athena results buckets, query results`,
        preventDestroy: props.preventDestroy,
      });

    // Bucket names are global: account and region make them unique without a random suffix.
    const bucketName = (purpose: string) => `${props.name}-${purpose}-${ctx.accountId}-${ctx.region}`;

    const logs = new SecureBucket(this, 'access-logs', {
      bucketName: bucketName('lake-logs'),
      receivesAccessLogs: true,
      lifecycleRules: [expiryRule('expire-logs', cfg.accessLogsExpireAfterDays), ...cleanupRules(cfg.lifecycle)],
      ...protection,
    });
    const lake = new SecureBucket(this, 'lake', {
      bucketName: bucketName('lake'),
      encryption: { kmsKeyArn: this.kmsKey.arn },
      lifecycleRules: [
        tieringRule(cfg.lifecycle),
        ...cleanupRules(cfg.lifecycle),
        ...props.tables.flatMap((t) => (t.partsPrefix ? [partsRule(t.partsPrefix, cfg.lifecycle.partsExpireAfterDays)] : [])),
      ],
      accessLogs: { bucket: logs, prefix: 'lake/' },
      ...protection,
    });
    // A separate results bucket: results expire fast, and query users may write there but never into the lake.
    const results = new SecureBucket(this, 'athena-results', {
      bucketName: bucketName('athena-results'),
      encryption: { kmsKeyArn: this.kmsKey.arn },
      lifecycleRules: [expiryRule('expire-results', cfg.resultsExpireAfterDays), ...cleanupRules(cfg.lifecycle)],
      accessLogs: { bucket: logs, prefix: 'athena-results/' },
      ...protection,
    });

    this.buckets = { lake, results, accessLogs: logs };
    this.bucket = lake.bucket;
    this.bucketName = lake.bucketName;
    this.bucketArn = lake.bucketArn;
    this.logBucket = logs.bucket;
    this.logBucketName = logs.bucketName;
    this.resultsBucket = results.bucket;
    this.resultsBucketName = results.bucketName;

    const lifecycle = props.preventDestroy ? { preventDestroy: true } : undefined;

    // Catalog
    this.database = new GlueCatalogDatabase(this, 'database', {
      name: props.catalog.databaseName,
      description: `Data lake ${props.name}`,
      locationUri: `s3://${this.bucketName}/`,
      lifecycle,
    });
    this.databaseName = this.database.name;

    this.tables = Object.fromEntries(props.tables.map((layout) => [layout.glueTableName, this.createTable(layout, lifecycle)]));

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

  /**
   * Upload objects under `prefix` (e.g. `raw/telemetry/`) of the lake bucket and nothing else;
   * when `prefix` is a table's location, also put and delete under the table's `partsPrefix`,
   * and read both back (a restarted lake-sink restores its open files from their parts).
   */
  grantWrite(role: IamRole, prefix: string): IamRolePolicy {
    const parts = this.layouts.find((t) => t.prefix === prefix)?.partsPrefix;
    return grant(
      this,
      role,
      `${this.node.id}-write-${slug(prefix)}`,
      this.buckets.lake.writeStatements(prefix, parts ? { deleteUnder: [parts], readBack: true } : {}),
    );
  }

  /** Read objects under `prefix` of the lake bucket. */
  grantRead(role: IamRole, prefix: string): IamRolePolicy {
    return grant(this, role, `${this.node.id}-read-${slug(prefix)}`, this.buckets.lake.readStatements(prefix));
  }

  /** Run Athena queries over this lake's tables in its workgroup. */
  grantQuery(role: IamRole): IamRolePolicy {
    if (this.layouts.length === 0) throw new Error(`DataLake ${this.node.path}: grantQuery: the lake has no tables to query (props.tables is empty)`);
    const ctx = this.ctx;
    const lake = this.buckets.lake;
    const resultsArn = this.buckets.results.bucketArn;
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
          ...Object.values(this.tables).map((t) => ctx.arn('glue', `table/${this.databaseName}/${t.name}`)),
        ],
      },
      // The tables' objects; the key statement below also lets Glue decrypt an encrypted catalog.
      ...lake.readStatements(
        this.layouts.map((t) => t.prefix),
        { withKey: false },
      ),
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
        Condition: { StringEquals: { 'kms:ViaService': [lake.viaService('s3'), lake.viaService('glue')] } },
      },
    ];
    return grant(this, role, `${this.node.id}-query`, statements);
  }

  private createTable(layout: LakeTableLayout, lifecycle: { preventDestroy: boolean } | undefined): GlueCatalogTable {
    const location = `s3://${this.bucketName}/${layout.prefix}`;
    const [dt, hour] = layout.partitionKeys;
    const glueColumn = (c: LakeColumn) => ({ name: c.name, type: c.type, comment: c.comment });
    // `raw_telemetry` is `raw-telemetry` in the address, as before tables became a prop.
    return new GlueCatalogTable(this, layout.glueTableName.replace(/_/g, '-'), {
      databaseName: this.database.name,
      name: layout.glueTableName,
      description: `Parquet under ${layout.prefix}, partitioned by UTC date (${dt.name}) and hour (${hour.name})`,
      tableType: 'EXTERNAL_TABLE',
      parameters: {
        EXTERNAL: 'TRUE',
        classification: 'parquet',
        // Partition projection: Athena computes partitions from these rules instead of the catalog.
        'projection.enabled': 'true',
        [`projection.${dt.name}.type`]: 'date',
        [`projection.${dt.name}.format`]: 'yyyy-MM-dd',
        [`projection.${dt.name}.range`]: `${layout.projectionStartDate},NOW`,
        [`projection.${dt.name}.interval`]: '1',
        [`projection.${dt.name}.interval.unit`]: 'DAYS',
        [`projection.${hour.name}.type`]: 'integer',
        [`projection.${hour.name}.range`]: '0,23',
        [`projection.${hour.name}.digits`]: '2',
        // `$${...}` renders as a literal `${...}` for Athena instead of a Terraform interpolation.
        'storage.location.template': `${location}${dt.name}=$\${${dt.name}}/${hour.name}=$\${${hour.name}}/`,
      },
      partitionKeys: layout.partitionKeys.map(glueColumn),
      storageDescriptor: {
        location,
        inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
        outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
        serDeInfo: {
          name: 'parquet',
          serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
          parameters: { 'serialization.format': '1' },
        },
        columns: layout.columns.map(glueColumn),
      },
      lifecycle,
    });
  }
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
      partsExpireAfterDays: l.partsExpireAfterDays ?? 7,
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
  wholeDays('lifecycle.partsExpireAfterDays', lc.partsExpireAfterDays);
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
  if (props.forceDestroy && props.preventDestroy) {
    issues.push('forceDestroy: cannot be combined with preventDestroy; a protected lake is never emptied by a destroy');
  }
  const seen = new Set<string>();
  props.tables.forEach((t, i) => {
    const at = `tables[${i}]`;
    if (!/^[a-z0-9_]{1,255}$/.test(t.glueTableName)) issues.push(`${at}.glueTableName: '${t.glueTableName}' must be lower-case letters, digits or "_"`);
    if (seen.has(t.glueTableName)) issues.push(`${at}.glueTableName: '${t.glueTableName}' is declared twice`);
    seen.add(t.glueTableName);
    if (!/^[A-Za-z0-9!_.'()=-]+(\/[A-Za-z0-9!_.'()=-]+)*\/$/.test(t.prefix))
      issues.push(`${at}.prefix: '${t.prefix}' must be a non-empty key prefix ending in "/"`);
    if (t.partsPrefix !== undefined) {
      if (!/^[A-Za-z0-9!_.'()=-]+(\/[A-Za-z0-9!_.'()=-]+)*\/$/.test(t.partsPrefix))
        issues.push(`${at}.partsPrefix: '${t.partsPrefix}' must be a non-empty key prefix ending in "/"`);
      else if (t.partsPrefix.startsWith(t.prefix) || t.prefix.startsWith(t.partsPrefix))
        issues.push(`${at}.partsPrefix: '${t.partsPrefix}' overlaps the table's prefix '${t.prefix}': Athena would read the parts as well as the files`);
    }
    if (t.columns.length === 0) issues.push(`${at}.columns: a table needs at least one column`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(t.projectionStartDate)) issues.push(`${at}.projectionStartDate: '${t.projectionStartDate}' must be yyyy-MM-dd`);
  });
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

/** Stray freshness parts (docs/lake.md): readers ignore them once their file exists. */
function partsRule(prefix: string, days: number): S3BucketLifecycleConfigurationRule {
  return {
    id: `expire-parts-${slug(prefix)}`,
    status: 'Enabled',
    filter: [{ prefix }],
    expiration: [{ days }],
    noncurrentVersionExpiration: [{ noncurrentDays: 1 }],
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
