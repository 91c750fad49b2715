/**
 * The project's checkov policies (policies/checkov) must catch what they claim to: each is run
 * against a passing and a failing resource. checkov is installed by scripts/test.sh.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const cached = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'streaming-data-platform', 'bin', 'checkov');
const checkov = spawnSync(cached, ['--version']).status === 0 ? cached : 'checkov';

function scan(policyDir: string, resources: Record<string, Record<string, unknown>>): Map<string, 'passed' | 'failed'> {
  const dir = mkdtempSync(join(tmpdir(), 'policy-'));
  mkdirSync(join(dir, 'stack'));
  writeFileSync(join(dir, 'stack', 'cdk.tf.json'), JSON.stringify({ resource: resources }));
  const res = spawnSync(
    checkov,
    [
      '-d',
      join(dir, 'stack'),
      '--framework',
      'terraform_json',
      '--external-checks-dir',
      join(root, 'policies/checkov', policyDir),
      '--check',
      'CKV_SDP_1,CKV_SDP_2,CKV_SDP_3,CKV_SDP_101,CKV_SDP_102,CKV_SDP_103,CKV_SDP_104,CKV_SDP_105',
      '-o',
      'json',
      '--compact',
    ],
    { encoding: 'utf8' },
  );
  const report = JSON.parse(res.stdout || '{}');
  const out = new Map<string, 'passed' | 'failed'>();
  // checkov's terraform_json runner reports resources as `resource.<name>`: names are unique per test.
  const name = (c: { resource: string }) => c.resource.split('.').pop();
  for (const c of report.results?.passed_checks ?? []) out.set(`${c.check_id} ${name(c)}`, 'passed');
  for (const c of report.results?.failed_checks ?? []) out.set(`${c.check_id} ${name(c)}`, 'failed');
  return out;
}

const props = (lines: Record<string, string>) =>
  Object.entries(lines)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');

describe('project checkov policies', () => {
  beforeAll(() => {
    execFileSync(checkov, ['--version']);
  });

  it('CKV_SDP_1/2: MSK configuration must disable unclean election and topic auto-creation', () => {
    const results = scan('all', {
      aws_msk_configuration: {
        msk_good: { name: 'good', server_properties: props({ 'unclean.leader.election.enable': 'false', 'auto.create.topics.enable': 'false' }) },
        msk_bad: { name: 'bad', server_properties: props({ 'unclean.leader.election.enable': 'true' }) },
      },
    });
    expect(results.get('CKV_SDP_1 msk_good')).toBe('passed');
    expect(results.get('CKV_SDP_2 msk_good')).toBe('passed');
    expect(results.get('CKV_SDP_1 msk_bad')).toBe('failed');
    expect(results.get('CKV_SDP_2 msk_bad')).toBe('failed');
  }, 60_000);

  it('CKV_SDP_3: buckets use SSE-KMS, except server-access-log targets', () => {
    const sse = (bucket: string, sse_algorithm: string) => ({
      bucket,
      rule: [{ apply_server_side_encryption_by_default: [{ sse_algorithm }] }],
    });
    const results = scan('all', {
      aws_s3_bucket_server_side_encryption_configuration: {
        sse_kms: sse('${aws_s3_bucket.lake.id}', 'aws:kms'),
        sse_logs: sse('${aws_s3_bucket.lake_access-logs_bucket.id}', 'AES256'),
        sse_plain: sse('${aws_s3_bucket.lake.id}', 'AES256'),
      },
    });
    expect(results.get('CKV_SDP_3 sse_kms')).toBe('passed');
    expect(results.get('CKV_SDP_3 sse_logs')).toBe('passed');
    expect(results.get('CKV_SDP_3 sse_plain')).toBe('failed');
  }, 60_000);

  it('CKV_SDP_101/102/103: production needs PITR, min ISR 2 and prevent_destroy on data stores', () => {
    const results = scan('production', {
      aws_keyspaces_table: {
        table_good: { keyspace_name: 'k', table_name: 'good', point_in_time_recovery: { status: 'ENABLED' }, lifecycle: { prevent_destroy: true } },
        table_bad: { keyspace_name: 'k', table_name: 'bad', point_in_time_recovery: { status: 'DISABLED' } },
      },
      aws_cloudwatch_log_group: {
        logs_year: { name: 'a', retention_in_days: 365 },
        logs_week: { name: 'b', retention_in_days: 7 },
      },
      aws_msk_configuration: {
        msk_good: { name: 'good', server_properties: props({ 'min.insync.replicas': '2' }) },
        msk_bad: { name: 'bad', server_properties: props({ 'min.insync.replicas': '1' }) },
      },
    });
    expect(results.get('CKV_SDP_101 table_good')).toBe('passed');
    expect(results.get('CKV_SDP_101 table_bad')).toBe('failed');
    expect(results.get('CKV_SDP_102 msk_good')).toBe('passed');
    expect(results.get('CKV_SDP_102 msk_bad')).toBe('failed');
    expect(results.get('CKV_SDP_103 table_good')).toBe('passed');
    expect(results.get('CKV_SDP_103 table_bad')).toBe('failed');
    expect(results.get('CKV_SDP_104 logs_year')).toBe('passed');
    expect(results.get('CKV_SDP_104 logs_week')).toBe('failed');
  }, 60_000);

  it('CKV_SDP_105: the production API server is private or allow-listed, never open to the internet', () => {
    const cluster = (vpc: Record<string, unknown>) => ({
      name: 'c',
      role_arn: 'r',
      vpc_config: { subnet_ids: ['a', 'b'], endpoint_private_access: true, ...vpc },
    });
    const results = scan('production', {
      aws_eks_cluster: {
        eks_private: cluster({ endpoint_public_access: false }),
        eks_listed: cluster({ endpoint_public_access: true, public_access_cidrs: ['198.51.100.0/24'] }),
        eks_open: cluster({ endpoint_public_access: true, public_access_cidrs: ['0.0.0.0/0'] }),
        eks_default: cluster({ endpoint_public_access: true }),
      },
    });
    expect(results.get('CKV_SDP_105 eks_private')).toBe('passed');
    expect(results.get('CKV_SDP_105 eks_listed')).toBe('passed');
    expect(results.get('CKV_SDP_105 eks_open')).toBe('failed');
    expect(results.get('CKV_SDP_105 eks_default')).toBe('failed');
  }, 60_000);
});
