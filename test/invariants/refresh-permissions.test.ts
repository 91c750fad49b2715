/**
 * Every plan, drift check and deploy preview refreshes every resource and data source of its
 * stack with the CI plan role. A type the role cannot read makes all of them fail from the second
 * deploy on, which no per-resource test sees. This test takes the types from the synthesized
 * stacks, what reading each needs from policies/iam/refresh-actions.ts, and the plan role's
 * effective identity policy (AWS managed policies from the snapshots in policies/iam/aws-managed,
 * plus its inline policies) from the synthesized bootstrap, and checks that:
 *  - every synthesized type is in the table (a new type fails here, by name);
 *  - every action is allowed, and no Deny overlaps it;
 *  - the Kubernetes access the in-cluster types need is granted by the plan role's access entry;
 *  - the deploy role's permissions boundary lists every AWS service the types use;
 *  - the plan comment's DATA_BEARING_RESOURCES holds exactly the types the table marks dataBearing.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { ciNames, ciRoleArns } from '../../config/bootstrap';
import {
  Json,
  list,
  parseReference,
  policyDocuments,
  PolicyDocumentJson,
  resolveLiteral,
  SynthesizedStack,
  synthesizeApp,
  withAwsContext,
} from '../../policies/iam/documents';
import { evaluate, wildcardMatch } from '../../policies/iam/matcher';
import { EKS_VIEW_POLICIES, REFRESH_NEEDS, refreshKey } from '../../policies/iam/refresh-actions';
import { DATA_BEARING_RESOURCES } from '../../scripts/ci/plan-summary';
import { PLATFORM_SERVICES } from '../../stacks/bootstrap-stack';

const app = synthesizeApp();
const environmentStacks = app.stacks.filter((s) => s.environment);
const bootstrapStacks = app.stacks.filter((s) => !s.environment);

const typesOf = (stack: SynthesizedStack): string[] => [
  ...Object.keys(stack.json.resource ?? {}).map((t) => refreshKey('resource', t)),
  ...Object.keys(stack.json.data ?? {}).map((t) => refreshKey('data', t)),
];
const allTypes = [...new Set(app.stacks.flatMap(typesOf))].sort();

/** AWS managed policy documents, as snapshotted in policies/iam/aws-managed/<name>.json. */
function managedPolicy(arn: string): PolicyDocumentJson {
  const name = /^arn:[\w-]+:iam::aws:policy\/(.+)$/.exec(arn)?.[1];
  if (!name) throw new Error(`${arn} is not an AWS managed policy`);
  try {
    return JSON.parse(readFileSync(join(__dirname, '..', '..', 'policies', 'iam', 'aws-managed', `${name}.json`), 'utf8')).document;
  } catch {
    throw new Error(`no snapshot of ${name}: add policies/iam/aws-managed/${name}.json (see policies/iam/aws-managed/README.md)`);
  }
}

/** The identity policies of a role created in a bootstrap stack: attached and inline. */
function effectivePolicy(bootstrap: SynthesizedStack, roleName: string): PolicyDocumentJson[] {
  const roles = bootstrap.json.resource.aws_iam_role as Record<string, Json>;
  const [roleId] = Object.entries(roles).find(([, r]) => r.name === roleName) ?? [];
  if (!roleId) throw new Error(`${bootstrap.id} creates no role named ${roleName}`);
  const ofRole = (r: Json) => r.role === `\${aws_iam_role.${roleId}.name}` || r.role === roleName;
  const attached = Object.values<Json>(bootstrap.json.resource.aws_iam_role_policy_attachment ?? {})
    .filter(ofRole)
    .map((a) => {
      const ref = parseReference(a.policy_arn);
      if (ref?.type === 'aws_iam_policy') return JSON.parse(bootstrap.json.resource.aws_iam_policy[ref.name].policy);
      return managedPolicy(a.policy_arn);
    });
  const inline = policyDocuments(bootstrap)
    .filter((p) => p.type === 'aws_iam_role_policy' && ofRole(bootstrap.json.resource.aws_iam_role_policy[p.name]))
    .map((p) => p.document);
  return [...attached, ...inline].map((d) => JSON.parse(withAwsContext(JSON.stringify(d), bootstrap.aws)));
}

interface PlanRole {
  readonly environment: SynthesizedStack;
  readonly bootstrap: SynthesizedStack;
  readonly arn: string;
  readonly policy: PolicyDocumentJson[];
}
const planRoles: PlanRole[] = environmentStacks.map((environment) => {
  const bootstrap = bootstrapStacks.find((b) => b.aws.accountId === environment.aws.accountId)!;
  const name = ciNames(app.bootstrap.namePrefix, environment.id).planRole;
  return { environment, bootstrap, arn: ciRoleArns(app.bootstrap, environment.id).plan, policy: effectivePolicy(bootstrap, name) };
});

/** The EKS access policies the stack associates with a principal. */
function eksAccessPolicies(stack: SynthesizedStack, principalArn: string): string[] {
  const entries = stack.json.resource?.aws_eks_access_entry ?? {};
  return Object.values<Json>(stack.json.resource?.aws_eks_access_policy_association ?? {})
    .filter((a) => {
      const ref = parseReference(a.principal_arn);
      const principal = ref?.type === 'aws_eks_access_entry' ? entries[ref.name]?.principal_arn : a.principal_arn;
      return principal === principalArn;
    })
    .map((a) => withAwsContext(a.policy_arn, stack.aws).split('/').pop()!);
}

function refreshGaps(role: PlanRole): string[] {
  const gaps: string[] = [];
  const stacks = [role.environment, role.bootstrap];
  const eks = eksAccessPolicies(role.environment, role.arn);
  for (const stack of stacks) {
    for (const [mode, blocks] of [
      ['resource', stack.json.resource ?? {}],
      ['data', stack.json.data ?? {}],
    ] as const) {
      for (const [type, byName] of Object.entries<Record<string, Json>>(blocks)) {
        const key = refreshKey(mode, type);
        const needs = REFRESH_NEEDS[key];
        if (!needs) continue; // reported by the table-coverage test, by name
        if (needs.eks && !eks.some((p) => EKS_VIEW_POLICIES.indexOf(p as never) >= EKS_VIEW_POLICIES.indexOf(needs.eks!))) {
          gaps.push(`${stack.id}: ${key} needs the EKS access policy ${needs.eks} for ${role.arn}; it has [${eks.join(', ')}]`);
        }
        const instances = needs.arns ? Object.values(byName).flatMap((r) => needs.arns!(r, stack.aws, (v) => resolveLiteral(stack, v))) : [undefined];
        for (const action of needs.iam) {
          for (const arn of instances) {
            const { allowedBy, deniedBy } = evaluate(role.policy, action, arn);
            const on = arn ?? 'any resource';
            if (allowedBy.length === 0) gaps.push(`${stack.id}: ${key} needs ${action} on ${on}, which ${role.arn} is not allowed`);
            for (const d of deniedBy) gaps.push(`${stack.id}: ${key} needs ${action} on ${on}, denied by statement ${d.Sid ?? JSON.stringify(d)}`);
          }
        }
      }
    }
  }
  return gaps;
}

describe('refresh permissions of the CI plan roles', () => {
  it('knows what reading every synthesized resource and data-source type needs', () => {
    expect(allTypes.length).toBeGreaterThan(50);
    expect(allTypes.filter((t) => !REFRESH_NEEDS[t])).toEqual([]);
  });

  it.each(planRoles.map((r) => [r.environment.id, r] as const))('the %s plan role can refresh its stack and the bootstrap', (_, role) => {
    expect(role.policy.length).toBeGreaterThanOrEqual(3);
    expect(refreshGaps(role)).toEqual([]);
  });

  it('lists every AWS service a synthesized type uses in the deploy roles permissions boundary', () => {
    const boundary = new Set<string>([...PLATFORM_SERVICES, 'iam']);
    const missing = allTypes
      .filter((t) => /^(data\.)?aws_/.test(t))
      .flatMap((t) => (REFRESH_NEEDS[t]?.iam ?? []).map((a) => ({ type: t, service: a.split(':')[0] })))
      .filter(({ service }) => !boundary.has(service));
    expect(missing).toEqual([]);
  });

  it('warns in the plan comment about destroying exactly the types that hold data', () => {
    const decided = Object.entries(REFRESH_NEEDS).filter(([t]) => !t.startsWith('data.'));
    expect(decided.filter(([, n]) => n.dataBearing).length).toBeGreaterThan(5);
    for (const [type, needs] of decided) {
      expect({ type, dataBearing: Object.hasOwn(DATA_BEARING_RESOURCES, type) }).toEqual({ type, dataBearing: needs.dataBearing });
    }
  });
});

describe('the policy matcher', () => {
  it.each([
    ['s3:Get*', 's3:GetBucketPolicy', true],
    ['S3:get*', 's3:GetBucketPolicy', true],
    ['s3:Get*', 's3:ListBucket', false],
    ['ec2:Describe?pcs', 'ec2:DescribeVpcs', true],
    ['ec2:Describe?pcs', 'ec2:DescribeVVpcs', false],
    ['*', 'kafka:DescribeClusterV2', true],
    ['kms:*', 'kafka:DescribeCluster', false],
  ])('matches action pattern %s against %s: %s', (pattern, action, expected) => {
    expect(wildcardMatch(pattern, action, true)).toBe(expected);
  });

  it('matches resources case-sensitively, and treats regex characters literally', () => {
    expect(wildcardMatch('arn:aws:cassandra:*:*:/keyspace/system*', 'arn:aws:cassandra:eu-west-1:1:/keyspace/system_schema/')).toBe(true);
    expect(wildcardMatch('arn:aws:s3:::Bucket', 'arn:aws:s3:::bucket')).toBe(false);
    expect(wildcardMatch('arn:aws:s3:::a.b', 'arn:aws:s3:::aXb')).toBe(false);
  });

  const doc = (...Statement: PolicyDocumentJson['Statement']): PolicyDocumentJson => ({ Statement });
  const readOnly = doc({ Effect: 'Allow', Action: ['cassandra:Select', 's3:Get*'], Resource: '*' });

  it('finds a Deny with NotResource that covers the needed resource, and not one that excludes it', () => {
    const own = 'arn:aws:cassandra:eu-west-1:1:/keyspace/ks/';
    const deny = doc({ Effect: 'Deny', Action: 'cassandra:Select', NotResource: [own] });
    expect(evaluate([readOnly, deny], 'cassandra:Select', own).deniedBy).toEqual([]);
    expect(evaluate([readOnly, deny], 'cassandra:Select', 'arn:aws:cassandra:eu-west-1:1:/keyspace/other/').deniedBy).toHaveLength(1);
    expect(evaluate([readOnly, deny], 'cassandra:Select').deniedBy).toHaveLength(1);
  });

  it('counts neither a conditional Allow, nor an Allow on named resources for an unknown resource', () => {
    const conditional = doc({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:ViaService': 's3' } } });
    expect(evaluate([conditional], 'kms:Decrypt').allowedBy).toEqual([]);
    expect(evaluate([doc({ Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b' })], 's3:ListBucket').allowedBy).toEqual([]);
    expect(evaluate([readOnly], 's3:GetBucketTagging').allowedBy).toHaveLength(1);
  });

  it('honours NotAction in an Allow and a Deny', () => {
    const allowAllBut = doc({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' });
    expect(evaluate([allowAllBut], 'iam:GetRole').allowedBy).toEqual([]);
    expect(evaluate([allowAllBut], 'ec2:DescribeVpcs').allowedBy).toHaveLength(1);
    expect(evaluate([readOnly, doc({ Effect: 'Deny', NotAction: 's3:*', Resource: '*' })], 'cassandra:Select').deniedBy).toHaveLength(1);
  });

  it('reads the plan role from the bootstrap: ReadOnlyAccess and the inline policies', () => {
    const [role] = planRoles;
    expect(evaluate(role.policy, 'ec2:DescribeVpcs').allowedBy.length).toBeGreaterThan(0);
    expect(evaluate(role.policy, 's3:GetObject', 'arn:aws:s3:::some-lake/object').deniedBy.length).toBeGreaterThan(0);
    expect(list(role.policy.flatMap((d) => d.Statement).map((s) => s.Sid))).toEqual(expect.arrayContaining(['ReadState', 'DenyDataPlaneReads']));
  });
});
