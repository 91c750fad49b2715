/**
 * Runs parliament (PyPI, an AWS IAM policy linter) over every IAM policy document of every
 * synthesized stack, and fails on any finding at MEDIUM or above that
 * policies/iam/parliament-suppressions.yaml does not list (each with its reason). A suppression
 * that no longer matches anything fails too, so the file stays true.
 *
 * What parliament is given:
 *  - identity policies (inline, managed, permissions boundaries) and resource policies (keys,
 *    buckets, topics...) as written;
 *  - trust policies with `Resource` set to the role they belong to: IAM evaluates a trust policy
 *    as the resource policy of its role, and parliament requires a Resource element.
 * Terraform references are replaced by the ARN or ID the reference will have once applied (the
 * account, region and partition of the stack; names from the referenced resource), so patterns
 * and condition types are checked on realistic values. A reference without a known form stops
 * the lint, naming it.
 *
 * Usage: scripts/ci/lint-iam.sh (installs parliament, then runs this)
 */
import { spawnSync } from 'child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join, relative } from 'path';
import { parse } from 'yaml';
import { AwsLocation, FoundPolicy, Json, parseReference, policyDocuments, SynthesizedStack, synthesizeApp, withAwsContext } from '../../policies/iam/documents';
import { wildcardMatch } from '../../policies/iam/matcher';

const ROOT = join(__dirname, '..', '..');
const OUT = join(ROOT, 'cdktf.out', 'iam-lint');
const SUPPRESSIONS = join(ROOT, 'policies', 'iam', 'parliament-suppressions.yaml');
const GATE = ['MEDIUM', 'HIGH', 'CRITICAL'];
const PLACEHOLDER_UUID = '00000000-0000-4000-8000-000000000000';

/** The value a `${<type>.<name>.<attribute>}` reference takes after apply, from the resource's own attributes. */
const REFERENCE_FORMS: Record<string, (r: Json, aws: AwsLocation) => string> = {
  'aws_iam_role.arn': (r, a) => `arn:${a.partition}:iam::${a.accountId}:role/${r.name}`,
  'aws_iam_policy.arn': (r, a) => `arn:${a.partition}:iam::${a.accountId}:policy/${r.name}`,
  'aws_iam_openid_connect_provider.arn': (r, a) => `arn:${a.partition}:iam::${a.accountId}:oidc-provider/${String(r.url).replace(/^https:\/\//, '')}`,
  'aws_kms_key.arn': (_, a) => `arn:${a.partition}:kms:${a.region}:${a.accountId}:key/${PLACEHOLDER_UUID}`,
  'aws_kms_key.key_id': () => PLACEHOLDER_UUID,
  'aws_kms_alias.arn': (r, a) => `arn:${a.partition}:kms:${a.region}:${a.accountId}:${r.name}`,
  'aws_s3_bucket.arn': (r, a) => `arn:${a.partition}:s3:::${r.bucket}`,
  'aws_sns_topic.arn': (r, a) => `arn:${a.partition}:sns:${a.region}:${a.accountId}:${r.name}`,
  'aws_ecr_repository.arn': (r, a) => `arn:${a.partition}:ecr:${a.region}:${a.accountId}:repository/${r.name}`,
  'aws_eks_cluster.arn': (r, a) => `arn:${a.partition}:eks:${a.region}:${a.accountId}:cluster/${r.name}`,
  'aws_msk_cluster.arn': (r, a) => `arn:${a.partition}:kafka:${a.region}:${a.accountId}:cluster/${r.cluster_name}/${PLACEHOLDER_UUID}-1`,
  'aws_msk_cluster.cluster_uuid': () => `${PLACEHOLDER_UUID}-1`,
  'aws_cloudwatch_log_group.arn': (r, a) => `arn:${a.partition}:logs:${a.region}:${a.accountId}:log-group:${r.name}`,
};

/** Replaces every Terraform reference in a document with its post-apply value. */
export function resolveReferences(stack: SynthesizedStack, text: string, where: string): string {
  return withAwsContext(text, stack.aws).replace(/\$\{[^}]*\}/g, (token) => {
    const ref = parseReference(token);
    const form = ref && !ref.data ? REFERENCE_FORMS[`${ref.type}.${ref.attribute}`] : undefined;
    const target = ref ? stack.json.resource?.[ref.type]?.[ref.name] : undefined;
    if (!form || !target) throw new Error(`${where}: no known value for ${token}; add its form to REFERENCE_FORMS in scripts/ci/lint-iam.ts`);
    const value = withAwsContext(form(target, stack.aws), stack.aws);
    if (value.includes('${') || value.includes('undefined')) throw new Error(`${where}: ${token} resolves to '${value}': its resource has no literal name`);
    return value;
  });
}

/** The document as parliament should read it. */
function lintable(stack: SynthesizedStack, policy: FoundPolicy): Json {
  const where = `${stack.id}: ${policy.address}.${policy.attribute}`;
  const doc = JSON.parse(resolveReferences(stack, JSON.stringify(policy.document), where));
  if (policy.kind !== 'trust') return doc;
  const role = REFERENCE_FORMS['aws_iam_role.arn'](stack.json.resource.aws_iam_role[policy.name], stack.aws);
  return { ...doc, Statement: doc.Statement.map((s: Json) => ({ ...s, Resource: role })) };
}

interface Finding {
  readonly issue: string;
  readonly severity: string;
  readonly detail: unknown;
  /** `<stack>:<address>.<attribute>` of the document. */
  readonly where: string;
}

interface Suppression {
  readonly issue: string;
  readonly where: string;
  readonly detail?: string;
  readonly reason: string;
}

function loadSuppressions(): Suppression[] {
  const entries = (parse(readFileSync(SUPPRESSIONS, 'utf8')) ?? []) as Suppression[];
  entries.forEach((s, i) => {
    for (const field of ['issue', 'where', 'reason'] as const) {
      if (typeof s[field] !== 'string' || s[field].trim() === '') throw new Error(`${relative(ROOT, SUPPRESSIONS)}[${i}].${field}: required`);
    }
  });
  return entries;
}

const detailText = (detail: unknown) => (typeof detail === 'string' ? detail : JSON.stringify(detail));
const suppresses = (s: Suppression, f: Finding) =>
  s.issue === f.issue && wildcardMatch(s.where, f.where) && (s.detail === undefined || wildcardMatch(s.detail, detailText(f.detail)));

function main(): number {
  rmSync(OUT, { recursive: true, force: true });
  const files = new Map<string, string>();
  for (const stack of synthesizeApp().stacks) {
    for (const policy of policyDocuments(stack)) {
      const file = join(OUT, stack.id, `${policy.address}.${policy.attribute}.json`.replace(/[^\w.-]/g, '_'));
      mkdirSync(join(OUT, stack.id), { recursive: true });
      writeFileSync(file, JSON.stringify(lintable(stack, policy), null, 1));
      files.set(file, `${stack.id}:${policy.address}.${policy.attribute}`);
    }
  }
  const run = spawnSync('parliament', ['--directory', OUT, '--include_policy_extension', 'json', '--json', '--minimum_severity', 'INFO'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (run.error || (run.status !== 0 && run.status !== 1) || run.stderr.trim()) {
    process.stderr.write(`parliament failed (exit ${run.status}): ${run.error?.message ?? run.stderr}\n`);
    return 2;
  }
  const findings: Finding[] = run.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const f = JSON.parse(line);
      return { issue: f.issue, severity: f.severity, detail: f.detail, where: files.get(f.location?.filepath) ?? String(f.location?.filepath) };
    });

  const suppressions = loadSuppressions();
  const gated = findings.filter((f) => GATE.includes(f.severity));
  const open = gated.filter((f) => !suppressions.some((s) => suppresses(s, f)));
  const unused = suppressions.filter((s) => !gated.some((f) => suppresses(s, f)));
  const below = findings.length - gated.length;

  for (const f of open) console.log(`  ${f.severity} ${f.issue} ${f.where}: ${detailText(f.detail).slice(0, 400)}`);
  for (const s of unused) console.log(`  UNUSED SUPPRESSION ${s.issue} ${s.where}: remove it from ${relative(ROOT, SUPPRESSIONS)}`);
  console.log(
    `parliament: ${files.size} policy documents, ${open.length} findings at MEDIUM or above, ${gated.length - open.length} suppressed, ${below} below MEDIUM (not gated)`,
  );
  return open.length === 0 && unused.length === 0 ? 0 : 1;
}

if (require.main === module) process.exit(main());
