import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformStack, Testing } from 'cdktf';
import { trustPolicy } from '../../constructs/iam';
import { SecureBucket, SecureBucketProps } from '../../constructs/secure-bucket';

type Json = Record<string, any>;

/** A stack with a log bucket and one data bucket logging into it; `more` adds to the stack. */
function build(props: Partial<SecureBucketProps> = {}, more?: (stack: TerraformStack, data: SecureBucket, logs: SecureBucket) => void) {
  const stack = new TerraformStack(Testing.app(), 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const logs = new SecureBucket(stack, 'access-logs', { bucketName: 'team-a-access-logs', receivesAccessLogs: true });
  const data = new SecureBucket(stack, 'data', {
    bucketName: 'team-a-data',
    encryption: { kmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/abc' },
    accessLogs: { bucket: logs, prefix: 'data/' },
    ...props,
  });
  more?.(stack, data, logs);
  const r: Record<string, Json> = JSON.parse(Testing.synth(stack)).resource;
  const bucketRef = (b: SecureBucket) => `\${aws_s3_bucket.${b.bucket.friendlyUniqueId}.id}`;
  const of = (type: string, b: SecureBucket): Json[] => Object.values(r[type] ?? {}).filter((x: Json) => x.bucket === bucketRef(b));
  const policyOf = (b: SecureBucket): Json[] => JSON.parse(of('aws_s3_bucket_policy', b)[0].policy).Statement;
  const grants = Object.values(r.aws_iam_role_policy ?? {}).map((p: Json) => JSON.parse(p.policy).Statement as Json[]);
  return { r, data, logs, of, policyOf, grants };
}

const role = (stack: TerraformStack) =>
  new IamRole(stack, 'app', {
    name: 'app',
    assumeRolePolicy: trustPolicy([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]),
  });

describe('SecureBucket', () => {
  test('defaults are the safe ones: SSE-KMS with bucket keys, versioning, no public access or ACLs, TLS 1.2+, prevent_destroy', () => {
    const { r, data, of, policyOf } = build();
    const bucket = Object.values(r.aws_s3_bucket).find((b: Json) => b.bucket === 'team-a-data')!;
    expect(bucket).toMatchObject({ force_destroy: false, lifecycle: { prevent_destroy: true } });
    expect(of('aws_s3_bucket_server_side_encryption_configuration', data)[0].rule).toEqual([
      {
        apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: 'arn:aws:kms:eu-west-1:111111111111:key/abc' },
        bucket_key_enabled: true,
      },
    ]);
    expect(of('aws_s3_bucket_versioning', data)[0].versioning_configuration).toEqual({ status: 'Enabled' });
    expect(of('aws_s3_bucket_public_access_block', data)[0]).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(of('aws_s3_bucket_ownership_controls', data)[0].rule).toEqual({ object_ownership: 'BucketOwnerEnforced' });
    expect(of('aws_s3_bucket_lifecycle_configuration', data)[0].rule).toEqual([
      expect.objectContaining({ id: 'abort-incomplete-uploads', abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }] }),
    ]);
    const statements = policyOf(data);
    expect(statements.map((s) => s.Sid)).toEqual(['DenyInsecureTransport', 'DenyTlsBelow12']);
    expect(statements.every((s) => s.Effect === 'Deny')).toBe(true);
  });

  test('requireKeyOnWrite refuses writes that are not SSE-KMS with one of the given keys', () => {
    const keys = ['arn:aws:kms:eu-west-1:111111111111:key/abc', 'alias-arn'];
    const { data, policyOf } = build({ encryption: { kmsKeyArn: keys[0], requireKeyOnWrite: keys, bucketKeyEnabled: false } });
    const statements = policyOf(data);
    expect(statements.find((s) => s.Sid === 'DenyWritesWithoutSseKms')).toMatchObject({ Effect: 'Deny', Action: 's3:PutObject' });
    expect(statements.find((s) => s.Sid === 'DenyWritesEncryptedWithAnotherKey')!.Condition.StringNotEquals).toEqual({
      's3:x-amz-server-side-encryption-aws-kms-key-id': keys,
    });
  });

  test('an access-log target is SSE-S3, not logged itself, and lets S3 log delivery write each source under its own prefix only', () => {
    const { logs, data, of, policyOf } = build({}, (stack, _data, logBucket) => {
      new SecureBucket(stack, 'other', { bucketName: 'team-a-other', encryption: { kmsKeyArn: 'k' }, accessLogs: { bucket: logBucket, prefix: 'other/' } });
    });
    expect(of('aws_s3_bucket_server_side_encryption_configuration', logs)[0].rule[0].apply_server_side_encryption_by_default).toEqual({
      sse_algorithm: 'AES256',
    });
    expect(of('aws_s3_bucket_logging', logs)).toEqual([]);
    expect(of('aws_s3_bucket_logging', data)[0]).toMatchObject({ target_bucket: expect.stringMatching(/access-logs/), target_prefix: 'data/' });
    const delivery = policyOf(logs).filter((s) => s.Principal?.Service === 'logging.s3.amazonaws.com');
    expect(delivery.map((s) => [s.Sid, s.Resource, s.Condition.ArnLike['aws:SourceArn']])).toEqual([
      ['S3ServerAccessLogDelivery1', expect.stringMatching(/:s3:::team-a-access-logs\/data\/\*$/), expect.stringMatching(/:s3:::team-a-data$/)],
      ['S3ServerAccessLogDelivery2', expect.stringMatching(/:s3:::team-a-access-logs\/other\/\*$/), expect.stringMatching(/:s3:::team-a-other$/)],
    ]);
    for (const s of delivery) expect(s.Condition.StringEquals['aws:SourceAccount']).toMatch(/account_id/);
  });

  test('grants: objects under the prefix only, listing only the prefix, the key only through S3', () => {
    const { grants } = build({}, (stack, data, logs) => {
      const app = role(stack);
      data.grantWrite(app, 'in/');
      logs.grantRead(app, 'data/');
    });
    const write = grants.find((g) => g.some((s) => s.Sid === 'PutUnderPrefix'))!;
    const read = grants.find((g) => g !== write)!;
    expect(write.find((s) => s.Sid === 'PutUnderPrefix')!.Resource).toMatch(/:s3:::team-a-data\/in\/\*$/);
    expect(write.find((s) => s.Sid === 'ListUnderPrefix')!.Condition).toEqual({ StringLike: { 's3:prefix': ['in/*'] } });
    expect(write.find((s) => s.Sid === 'UseBucketKeyThroughS3')).toMatchObject({
      Resource: 'arn:aws:kms:eu-west-1:111111111111:key/abc',
      Condition: { StringEquals: { 'kms:ViaService': expect.stringMatching(/^s3\./) } },
    });
    // An SSE-S3 bucket has no key to grant.
    expect(read.map((s) => s.Sid)).toEqual(['GetUnderPrefix', 'ListUnderPrefix']);
    for (const s of [...write, ...read]) expect([s.Resource].flat()).not.toContain('*');
  });

  test('logicalIds keep the addresses of buckets that predate the construct', () => {
    const { r } = build({ logicalIds: { bucket: 'legacy', policy: 'legacy-policy' } });
    expect(r.aws_s3_bucket.legacy.bucket).toBe('team-a-data');
    expect(r.aws_s3_bucket_policy['legacy-policy'].bucket).toBe('${aws_s3_bucket.legacy.id}');
  });

  test('invalid props fail synth naming the field', () => {
    expect(() => build({ encryption: undefined })).toThrow(/data: encryption is required/);
    expect(() => build({ accessLogs: undefined })).toThrow(/data: accessLogs is required/);
    expect(() => build({ forceDestroy: true })).toThrow(/forceDestroy cannot be true on a protected bucket/);
    expect(() => build({ bucketName: 'Team_A' })).toThrow(/bucketName 'Team_A'/);
    expect(() => build({ receivesAccessLogs: true, accessLogs: undefined })).toThrow(/encryption must be unset on a bucket that receivesAccessLogs/);
    expect(() =>
      build(
        {},
        (stack, data) => new SecureBucket(stack, 'x', { bucketName: 'team-a-x', encryption: { kmsKeyArn: 'k' }, accessLogs: { bucket: data, prefix: 'x/' } }),
      ),
    ).toThrow(/accessLogs\.bucket test\/data must be created with receivesAccessLogs: true/);
    expect(() => build({}, (stack, data) => data.grantWrite(role(stack), 'no-slash'))).toThrow(/grantWrite prefix 'no-slash' must be/);
    expect(() => build({ protect: false, forceDestroy: true })).not.toThrow();
  });
});
