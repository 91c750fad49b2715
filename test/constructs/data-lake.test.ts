import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformStack, Testing } from 'cdktf';
import { lakeLayout } from '../../apps/contracts/lake';
import { DataLake, DataLakeProps } from '../../constructs/data-lake';
import { trustPolicy } from '../../constructs/iam';

type Resources = Record<string, Record<string, any>>;

function build(props: Partial<DataLakeProps> = {}, wire?: (lake: DataLake, role: IamRole) => void) {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const lake = new DataLake(stack, 'lake', { name: 'sdp-test', tables: [lakeLayout], catalog: { databaseName: 'sdp_test_lake' }, ...props });
  if (wire) {
    const role = new IamRole(stack, 'app', {
      name: 'app',
      assumeRolePolicy: trustPolicy([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]),
    });
    wire(lake, role);
  }
  const synth = JSON.parse(Testing.synth(stack));
  const r: Resources = synth.resource;
  const partition = `\${data.aws_partition.${Object.keys(synth.data.aws_partition)[0]}.partition}`;
  // Policies name a bucket by its ARN, built from partition and name.
  const buckets = Object.entries(r.aws_s3_bucket).map(([key, b]) => ({
    key,
    ref: `\${aws_s3_bucket.${key}.id}`,
    arn: `arn:${partition}:s3:::${b.bucket}`,
    ...b,
  }));
  // Names are `<name>-<purpose>-<account>-<region>`; the account is a token.
  const find = (purpose: string) => buckets.find((b) => b.bucket.startsWith(`sdp-test-${purpose}-\${`))!;
  const forBucket = (type: string, bucket: { ref: string }) => Object.values(r[type] ?? {}).filter((x: any) => x.bucket === bucket.ref);
  const policies = Object.values(r.aws_iam_role_policy ?? {}).map((p: any) => JSON.parse(p.policy).Statement as any[]);
  return { r, lake, buckets, find, forBucket, policies };
}

const rulesOf = (lc: any) => Object.fromEntries(lc.rule.map((rule: any) => [rule.id, rule]));

describe('DataLake', () => {
  test('three buckets, each private, versioned, ACL-less, TLS-only, with lifecycle rules', () => {
    const { buckets, forBucket } = build();
    expect(buckets).toHaveLength(3);
    for (const b of buckets) {
      expect(b.force_destroy).toBe(false);
      expect(forBucket('aws_s3_bucket_public_access_block', b)).toEqual([
        expect.objectContaining({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true }),
      ]);
      expect(forBucket('aws_s3_bucket_ownership_controls', b)).toEqual([expect.objectContaining({ rule: { object_ownership: 'BucketOwnerEnforced' } })]);
      expect(forBucket('aws_s3_bucket_versioning', b)).toEqual([expect.objectContaining({ versioning_configuration: { status: 'Enabled' } })]);
      expect(forBucket('aws_s3_bucket_lifecycle_configuration', b)).toHaveLength(1);
      const [policy] = forBucket('aws_s3_bucket_policy', b) as any[];
      const statements = JSON.parse(policy.policy).Statement;
      expect(statements).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          expect.objectContaining({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': '1.2' } } }),
        ]),
      );
      // No Allow to everyone, ever.
      expect(statements.filter((s: any) => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes('"*"'))).toEqual([]);
    }
  });

  test('lake and results buckets use the CMK with bucket keys; the log bucket uses SSE-S3', () => {
    const { find, forBucket } = build();
    for (const purpose of ['lake', 'athena-results']) {
      const [sse] = forBucket('aws_s3_bucket_server_side_encryption_configuration', find(purpose)) as any[];
      expect(sse.rule[0].bucket_key_enabled).toBe(true);
      expect(sse.rule[0].apply_server_side_encryption_by_default.sse_algorithm).toBe('aws:kms');
      expect(sse.rule[0].apply_server_side_encryption_by_default.kms_master_key_id).toMatch(/^\$\{aws_kms_key\..+\.arn\}$/);
    }
    const [logSse] = forBucket('aws_s3_bucket_server_side_encryption_configuration', find('lake-logs')) as any[];
    expect(logSse.rule[0].apply_server_side_encryption_by_default.sse_algorithm).toBe('AES256');
  });

  test('lake and results buckets log into the log bucket, which only accepts delivery from each under its own prefix', () => {
    const { find, forBucket } = build();
    const logs = find('lake-logs');
    const logsArn = logs.arn;
    const delivery = JSON.parse((forBucket('aws_s3_bucket_policy', logs)[0] as any).policy).Statement.filter(
      (s: any) => s.Principal?.Service === 'logging.s3.amazonaws.com',
    );
    expect(delivery).toHaveLength(2);
    for (const [purpose, prefix] of [
      ['lake', 'lake/'],
      ['athena-results', 'athena-results/'],
    ]) {
      const [logging] = forBucket('aws_s3_bucket_logging', find(purpose)) as any[];
      expect(logging).toMatchObject({ target_bucket: logs.ref, target_prefix: prefix });
      const sourceArn = find(purpose).arn;
      expect(delivery.find((s: any) => s.Condition.ArnLike['aws:SourceArn'] === sourceArn)).toMatchObject({
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: `${logsArn}/${prefix}*`,
        Condition: { StringEquals: { 'aws:SourceAccount': expect.stringMatching(/account_id/) } },
      });
    }
    expect(forBucket('aws_s3_bucket_logging', logs)).toEqual([]);
  });

  test('lifecycle defaults: IA at 30, Glacier IR at 90, no expiry; versions and uploads cleaned up', () => {
    const { find, forBucket } = build();
    const lake = rulesOf(forBucket('aws_s3_bucket_lifecycle_configuration', find('lake'))[0]);
    expect(lake.tiering.transition).toEqual([
      { days: 30, storage_class: 'STANDARD_IA' },
      { days: 90, storage_class: 'GLACIER_IR' },
    ]);
    expect(lake.tiering.expiration).toBeUndefined();
    expect(lake['noncurrent-versions-and-incomplete-uploads']).toMatchObject({
      noncurrent_version_expiration: [{ noncurrent_days: 30 }],
      abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
    });
    const logs = rulesOf(forBucket('aws_s3_bucket_lifecycle_configuration', find('lake-logs'))[0]);
    expect(logs['expire-logs'].expiration).toEqual([{ days: 90 }]);
    const results = rulesOf(forBucket('aws_s3_bucket_lifecycle_configuration', find('athena-results'))[0]);
    expect(results['expire-results'].expiration).toEqual([{ days: 30 }]);
  });

  test('lifecycle overrides and expiry', () => {
    const { find, forBucket } = build({
      lifecycle: { infrequentAccessAfterDays: 45, glacierAfterDays: 120, archiveStorageClass: 'DEEP_ARCHIVE', expireAfterDays: 400 },
      accessLogs: { expireAfterDays: 14 },
      athena: { resultsExpireAfterDays: 3 },
    });
    const lake = rulesOf(forBucket('aws_s3_bucket_lifecycle_configuration', find('lake'))[0]);
    expect(lake.tiering.transition).toEqual([
      { days: 45, storage_class: 'STANDARD_IA' },
      { days: 120, storage_class: 'DEEP_ARCHIVE' },
    ]);
    expect(lake.tiering.expiration).toEqual([{ days: 400 }]);
    expect(rulesOf(forBucket('aws_s3_bucket_lifecycle_configuration', find('lake-logs'))[0])['expire-logs'].expiration).toEqual([{ days: 14 }]);
    expect(rulesOf(forBucket('aws_s3_bucket_lifecycle_configuration', find('athena-results'))[0])['expire-results'].expiration).toEqual([{ days: 3 }]);
  });

  test('rejects lifecycles S3 would refuse, naming the field', () => {
    expect(() => build({ lifecycle: { infrequentAccessAfterDays: 10 } })).toThrow(/lifecycle\.infrequentAccessAfterDays/);
    expect(() => build({ lifecycle: { infrequentAccessAfterDays: 30, glacierAfterDays: 45 } })).toThrow(/lifecycle\.glacierAfterDays/);
    expect(() => build({ lifecycle: { expireAfterDays: 60 } })).toThrow(/lifecycle\.expireAfterDays/);
    expect(() => build({ athena: { bytesScannedCutoffPerQuery: 1000 } })).toThrow(/athena\.bytesScannedCutoffPerQuery/);
    expect(() => build({ catalog: { databaseName: 'Bad-Name' } })).toThrow(/catalog\.databaseName/);
  });

  test('protection: preventDestroy on buckets, key, database and table; forceDestroy only on an unprotected lake', () => {
    const { buckets, r } = build({ preventDestroy: true });
    for (const b of buckets) {
      expect(b.force_destroy).toBe(false);
      expect(b.lifecycle).toEqual({ prevent_destroy: true });
    }
    expect(Object.values(r.aws_kms_key)[0].lifecycle).toEqual({ prevent_destroy: true });
    expect(Object.values(r.aws_glue_catalog_table)[0].lifecycle).toEqual({ prevent_destroy: true });
    expect(Object.values(r.aws_glue_catalog_database)[0].lifecycle).toEqual({ prevent_destroy: true });
    const disposable = build({ forceDestroy: true });
    for (const b of disposable.buckets) {
      expect(b.force_destroy).toBe(true);
      expect(b.lifecycle).toBeUndefined();
    }
    expect(() => build({ forceDestroy: true, preventDestroy: true })).toThrow(/forceDestroy: cannot be combined with preventDestroy/);
  });

  test('tables are a prop: no tables means no Glue table, and a second layout is a second table', () => {
    expect(build({ tables: [] }).r.aws_glue_catalog_table).toBeUndefined();
    const orders = { ...lakeLayout, glueTableName: 'orders', prefix: 'orders/' };
    const { r, lake } = build({ tables: [lakeLayout, orders] });
    expect(
      Object.values(r.aws_glue_catalog_table)
        .map((t: any) => [t.name, t.storage_descriptor.location.replace(/^s3:\/\/[^/]+\//, '')])
        .sort(),
    ).toEqual([
      ['orders', 'orders/'],
      [lakeLayout.glueTableName, lakeLayout.prefix],
    ]);
    expect(Object.keys(lake.tables)).toEqual([lakeLayout.glueTableName, 'orders']);
    expect(() => build({ tables: [lakeLayout, lakeLayout] })).toThrow(/tables\[1\]\.glueTableName: 'raw_telemetry' is declared twice/);
    expect(() => build({ tables: [{ ...lakeLayout, prefix: 'orders' }] })).toThrow(/tables\[0\]\.prefix/);
    expect(() => build({ tables: [] }, (l, role) => l.grantQuery(role))).toThrow(/no tables to query/);
  });

  test('Glue table follows the lake layout with partition projection and no crawler', () => {
    const { r, find } = build();
    const table = Object.values(r.aws_glue_catalog_table)[0];
    const bucket = `\${aws_s3_bucket.${find('lake').key}.bucket}`;
    expect(table.name).toBe(lakeLayout.glueTableName);
    expect(table.table_type).toBe('EXTERNAL_TABLE');
    expect(table.storage_descriptor.location).toBe(`s3://${bucket}/${lakeLayout.prefix}`);
    expect(table.storage_descriptor.ser_de_info.serialization_library).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    expect(table.storage_descriptor.input_format).toMatch(/MapredParquetInputFormat$/);
    expect(table.storage_descriptor.output_format).toMatch(/MapredParquetOutputFormat$/);
    expect(table.storage_descriptor.columns.map((c: any) => [c.name, c.type])).toEqual(lakeLayout.columns.map((c) => [c.name, c.type]));
    // The reading's v2 field, from the same declaration the lake sink writes.
    expect(table.storage_descriptor.columns.at(-1)).toEqual({ name: 'unit', type: 'string', comment: expect.stringMatching(/since v2/) });
    expect(table.partition_keys.map((k: any) => k.name)).toEqual(lakeLayout.partitionKeys.map((k) => k.name));
    expect(table.parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
      'projection.dt.range': `${lakeLayout.projectionStartDate},NOW`,
      'projection.hour.type': 'integer',
      'projection.hour.range': '0,23',
      'projection.hour.digits': '2',
      // `$$` is Terraform's escape: Glue receives `${dt}` and `${hour}`.
      'storage.location.template': `s3://${bucket}/${lakeLayout.prefix}dt=$\${dt}/hour=$\${hour}/`,
    });
    expect(r.aws_glue_data_catalog_encryption_settings).toBeUndefined();
  });

  test('catalog encryption is opt-in', () => {
    const { r } = build({ catalog: { databaseName: 'sdp_test_lake', manageCatalogEncryption: true } });
    const [settings] = Object.values(r.aws_glue_data_catalog_encryption_settings);
    expect(settings.data_catalog_encryption_settings.encryption_at_rest).toMatchObject({ catalog_encryption_mode: 'SSE-KMS' });
    expect(settings.data_catalog_encryption_settings.connection_password_encryption.return_connection_password_encrypted).toBe(true);
  });

  test('Athena workgroup enforces encrypted results in the results bucket, metrics and a scan cutoff', () => {
    const { r, find } = build();
    const [wg] = Object.values(r.aws_athena_workgroup);
    expect(wg.name).toBe('sdp-test-lake');
    expect(wg.force_destroy).toBe(false);
    expect(wg.configuration).toMatchObject({
      enforce_workgroup_configuration: true,
      publish_cloudwatch_metrics_enabled: true,
      bytes_scanned_cutoff_per_query: 10 * 1024 ** 3,
    });
    const rc = wg.configuration.result_configuration;
    expect(rc.output_location).toBe(`s3://\${aws_s3_bucket.${find('athena-results').key}.bucket}/`);
    expect(rc.encryption_configuration.encryption_option).toBe('SSE_KMS');
    expect(rc.encryption_configuration.kms_key_arn).toMatch(/^\$\{aws_kms_key\..+\.arn\}$/);
  });

  test('grantWrite: put only under the prefix, list only the prefix, KMS only through S3, delete nothing', () => {
    const { policies, find } = build({ tables: [{ ...lakeLayout, partsPrefix: undefined }] }, (lake, role) => lake.grantWrite(role, lakeLayout.prefix));
    const lakeArn = find('lake').arn;
    const [statements] = policies;
    expect(statements.find((s) => s.Sid === 'PutUnderPrefix')).toMatchObject({
      Action: expect.arrayContaining(['s3:PutObject', 's3:AbortMultipartUpload']),
      Resource: `${lakeArn}/${lakeLayout.prefix}*`,
    });
    expect(statements.find((s) => s.Sid === 'ListUnderPrefix')).toEqual(
      expect.objectContaining({ Action: 's3:ListBucket', Resource: lakeArn, Condition: { StringLike: { 's3:prefix': [`${lakeLayout.prefix}*`] } } }),
    );
    const kms = statements.find((s) => s.Sid === 'UseBucketKeyThroughS3');
    expect(kms.Action).toEqual(expect.arrayContaining(['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt']));
    expect(kms.Resource).toMatch(/^\$\{aws_kms_key\..+\.arn\}$/);
    expect(kms.Condition.StringEquals['kms:ViaService']).toMatch(/^s3\./);
    for (const s of statements) expect([s.Resource].flat()).not.toContain('*');
    expect(statements.flatMap((s) => [s.Action].flat()).filter((a: string) => a.startsWith('s3:Delete'))).toEqual([]);
  });

  test("grantWrite of a table's prefix: put and delete its parts, delete nothing else; strays expire", () => {
    const { policies, find, forBucket } = build({}, (lake, role) => lake.grantWrite(role, lakeLayout.prefix));
    const lakeArn = find('lake').arn;
    const [statements] = policies;
    expect(statements.find((s) => s.Sid === 'PutUnderPrefix').Resource).toEqual([`${lakeArn}/${lakeLayout.prefix}*`, `${lakeArn}/${lakeLayout.partsPrefix}*`]);
    // Read back only what it writes: the restore of an open file after a restart (docs/lake.md).
    expect(statements.find((s) => s.Sid === 'ReadBackUnderPrefix')).toEqual({
      Sid: 'ReadBackUnderPrefix',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: [`${lakeArn}/${lakeLayout.prefix}*`, `${lakeArn}/${lakeLayout.partsPrefix}*`],
    });
    const deletes = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('s3:Delete')));
    expect(deletes).toEqual([
      { Sid: 'DeleteUnderScratchPrefix', Effect: 'Allow', Action: 's3:DeleteObject', Resource: `${lakeArn}/${lakeLayout.partsPrefix}*` },
    ]);
    expect(statements.find((s) => s.Sid === 'ListUnderPrefix').Condition).toEqual({
      StringLike: { 's3:prefix': [`${lakeLayout.prefix}*`, `${lakeLayout.partsPrefix}*`] },
    });
    const rules = rulesOf(forBucket('aws_s3_bucket_lifecycle_configuration', find('lake'))[0]);
    expect(rules['expire-parts-raw-telemetry_parts']).toEqual(
      expect.objectContaining({
        filter: [{ prefix: lakeLayout.partsPrefix }],
        expiration: [{ days: 7 }],
        noncurrent_version_expiration: [{ noncurrent_days: 1 }],
      }),
    );
    // Parts beside the table, never under it: Athena would read them twice.
    expect(() => build({ tables: [{ ...lakeLayout, partsPrefix: `${lakeLayout.prefix}parts/` }] })).toThrow(/tables\[0\]\.partsPrefix: .* overlaps/);
  });

  test('grantRead and grantQuery are scoped to the lake, workgroup, database and table', () => {
    const { policies } = build({}, (lake, role) => {
      lake.grantRead(role, 'raw/');
      lake.grantQuery(role);
    });
    expect(policies).toHaveLength(2);
    const read = policies.find((p) => !p.some((s) => s.Sid === 'QueryInWorkgroup'))!;
    const query = policies.find((p) => p.some((s) => s.Sid === 'QueryInWorkgroup'))!;
    expect(read.find((s) => s.Sid === 'GetUnderPrefix').Resource).toMatch(/\/raw\/\*$/);
    expect(read.flatMap((s) => [s.Action].flat())).not.toContain('s3:PutObject');
    expect(query.find((s) => s.Sid === 'GetUnderPrefix').Resource).toBe(`${query.find((s) => s.Sid === 'ListUnderPrefix').Resource}/${lakeLayout.prefix}*`);
    expect(query.find((s) => s.Sid === 'QueryInWorkgroup').Resource).toMatch(/:workgroup\/\$\{aws_athena_workgroup\..+\.name\}$/);
    expect(query.find((s) => s.Sid === 'ReadCatalog').Resource).toEqual([
      expect.stringMatching(/:catalog$/),
      expect.stringMatching(/:database\/\$\{aws_glue_catalog_database\..+\.name\}$/),
      expect.stringMatching(/:table\/\$\{aws_glue_catalog_database\..+\.name\}\/\$\{aws_glue_catalog_table\..+\.name\}$/),
    ]);
    expect(query.find((s) => s.Sid === 'WriteAndReadResults').Resource).toMatch(/:s3:::sdp-test-athena-results-.+\/\*$/);
    for (const s of [...read, ...query]) {
      expect([s.Resource].flat()).not.toContain('*');
      expect([s.Action].flat().some((a: string) => a.endsWith(':*'))).toBe(false);
    }
  });

  test('grant prefixes are validated', () => {
    expect(() => build({}, (lake, role) => lake.grantWrite(role, ''))).toThrow(/prefix '' must be/);
    expect(() => build({}, (lake, role) => lake.grantWrite(role, 'raw'))).toThrow(/ending in "\/"/);
  });
});
