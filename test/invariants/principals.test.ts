/**
 * Every principal any policy in any synthesized stack names must exist when the policy is
 * created, or AWS rejects the policy (KMS: MalformedPolicyDocumentException; IAM: "Invalid
 * principal"). In an empty account that leaves: an account root, a service principal, a role or
 * OIDC provider created in the same stack or the bootstrap, or one named explicitly in config.
 * `"*"` is allowed in Deny statements (it denies everyone) and in an Allow whose condition pins
 * the caller to this account (the same set of principals as the account root).
 *
 * Also checked: EKS access entries, whose principal must exist just the same.
 */
import {
  FoundPolicy,
  list,
  parseReference,
  policyDocuments,
  PolicyStatementJson,
  SynthesizedStack,
  synthesizeApp,
  withAwsContext,
} from '../../policies/iam/documents';

const app = synthesizeApp();
const configuredAccounts = new Set(app.bootstrap.accounts.map((a) => a.accountId));

/** Literal role names each stack creates; the bootstrap's are visible to every stack of its account. */
const rolesCreatedIn = (stack: SynthesizedStack): string[] =>
  Object.values<Record<string, unknown>>(stack.json.resource?.aws_iam_role ?? {})
    .map((r) => r.name)
    .filter((n): n is string => typeof n === 'string' && !n.includes('${'));
const bootstrapStacks = app.stacks.filter((s) => !s.environment);

function roleArnsKnownTo(stack: SynthesizedStack): Set<string> {
  const sameAccount = [stack, ...bootstrapStacks.filter((b) => b.aws.accountId === stack.aws.accountId)];
  const created = sameAccount.flatMap((s) => rolesCreatedIn(s).map((name) => `arn:${stack.aws.partition}:iam::${stack.aws.accountId}:role/${name}`));
  const configured = stack.environment ? [...stack.environment.kubernetes.adminRoleArns, ...stack.environment.kubernetes.viewerRoleArns] : [];
  return new Set([...created, ...configured]);
}

const SERVICE_PRINCIPAL = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$/;
/** Conditions under which `"*"` means exactly "principals of this account". */
const OWN_ACCOUNT_KEYS = ['kms:CallerAccount', 'aws:PrincipalAccount'];

interface Finding {
  readonly where: string;
  readonly principal: string;
  readonly why: string;
}

function pinsToOwnAccount(s: PolicyStatementJson, accountId: string, stack: SynthesizedStack): boolean {
  const equals = s.Condition?.StringEquals ?? {};
  return OWN_ACCOUNT_KEYS.some(
    (k) =>
      list(equals[k] as string | string[])
        .map((v) => withAwsContext(v, stack.aws))
        .every((v) => v === accountId) && equals[k] !== undefined,
  );
}

function checkPrincipal(stack: SynthesizedStack, type: string, raw: string, statement: PolicyStatementJson | undefined): string | undefined {
  const value = withAwsContext(raw, stack.aws);
  if (type === 'Service') return SERVICE_PRINCIPAL.test(value) ? undefined : 'is not a service principal (<service>.amazonaws.com)';
  if (type === 'Federated') {
    const ref = parseReference(value);
    return ref?.type === 'aws_iam_openid_connect_provider' && ref.attribute === 'arn'
      ? undefined // created in this stack, or looked up (a missing one fails the plan, not the apply)
      : 'is not an OIDC provider this stack creates or looks up';
  }
  if (type !== 'AWS') return `principal type '${type}' is not checked by this test; extend it`;
  if (value === '*') {
    if (!statement || statement.Effect === 'Deny') return undefined;
    return pinsToOwnAccount(statement, stack.aws.accountId, stack)
      ? undefined
      : `"*" in an Allow must be pinned to this account (${OWN_ACCOUNT_KEYS.join(' or ')})`;
  }
  const ref = parseReference(value);
  if (ref)
    return ref.type === 'aws_iam_role' && !ref.data && ref.attribute === 'arn'
      ? undefined
      : `references ${ref.type}.${ref.attribute}, not a role this stack creates`;
  const root = /^arn:[\w-]+:iam::(\d{12}):root$/.exec(value);
  if (root) return configuredAccounts.has(root[1]) ? undefined : `account ${root[1]} is not an account of config/bootstrap.ts`;
  if (/^\d{12}$/.test(value)) return configuredAccounts.has(value) ? undefined : `account ${value} is not an account of config/bootstrap.ts`;
  if (roleArnsKnownTo(stack).has(value)) return undefined;
  return 'is neither created by this stack or the bootstrap nor named in config (it may not exist in an empty account)';
}

function findingsOf(stack: SynthesizedStack): Finding[] {
  const findings: Finding[] = [];
  const policies: FoundPolicy[] = policyDocuments(stack);
  for (const p of policies) {
    p.document.Statement.forEach((s, i) => {
      const where = `${stack.id}: ${p.address}.${p.attribute} statement ${s.Sid ?? i}`;
      if (s.NotPrincipal) findings.push({ where, principal: JSON.stringify(s.NotPrincipal), why: 'NotPrincipal is not allowed' });
      if (s.Principal === '*') {
        const why = checkPrincipal(stack, 'AWS', '*', s);
        if (why) findings.push({ where, principal: '*', why });
        return;
      }
      for (const [type, values] of Object.entries(s.Principal ?? {})) {
        for (const principal of list(values)) {
          const why = checkPrincipal(stack, type, principal, s);
          if (why) findings.push({ where, principal: `${type}: ${principal}`, why });
        }
      }
    });
  }
  for (const [name, entry] of Object.entries<Record<string, string>>(stack.json.resource?.aws_eks_access_entry ?? {})) {
    const why = checkPrincipal(stack, 'AWS', entry.principal_arn, undefined);
    if (why) findings.push({ where: `${stack.id}: aws_eks_access_entry.${name}`, principal: entry.principal_arn, why });
  }
  return findings;
}

describe('principals in every policy of every stack', () => {
  it('synthesizes every environment and the bootstrap', () => {
    expect(app.stacks.map((s) => s.id).sort()).toEqual([...app.environments.map((e) => e.name), ...bootstrapStacks.map((b) => b.id)].sort());
    expect(bootstrapStacks.length).toBeGreaterThan(0);
  });

  it.each(app.stacks.map((s) => [s.id, s] as const))('%s names only principals that exist in an empty account', (_, stack) => {
    const policies = policyDocuments(stack);
    expect(policies.filter((p) => p.document.Statement.some((s) => s.Principal)).length).toBeGreaterThan(0);
    expect(findingsOf(stack)).toEqual([]);
  });
});

describe('the principal check itself', () => {
  const [stack] = app.stacks.filter((s) => s.environment);
  const acct = stack.aws.accountId;
  const allow = (condition?: PolicyStatementJson['Condition']): PolicyStatementJson => ({
    Effect: 'Allow',
    Action: 'kms:Decrypt',
    Resource: '*',
    Condition: condition,
  });

  it.each([
    [
      'a service-linked role that exists only once the service was used',
      `arn:aws:iam::${acct}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
    ],
    ['a role nobody creates', `arn:aws:iam::${acct}:role/someone-elses-role`],
    ['an account outside the config', 'arn:aws:iam::999999999999:root'],
    ['a user', `arn:aws:iam::${acct}:user/alice`],
  ])('rejects %s', (_, principal) => {
    expect(checkPrincipal(stack, 'AWS', principal, allow())).toEqual(expect.any(String));
  });

  it('rejects "*" in an Allow unless it is pinned to this account', () => {
    expect(checkPrincipal(stack, 'AWS', '*', allow())).toMatch(/pinned to this account/);
    expect(checkPrincipal(stack, 'AWS', '*', allow({ StringEquals: { 'kms:CallerAccount': '999999999999' } }))).toMatch(/pinned/);
    expect(checkPrincipal(stack, 'AWS', '*', allow({ StringEquals: { 'kms:CallerAccount': acct } }))).toBeUndefined();
    expect(checkPrincipal(stack, 'AWS', '*', { ...allow(), Effect: 'Deny' })).toBeUndefined();
  });

  it('accepts the account root, service principals, created roles and configured accounts', () => {
    expect(checkPrincipal(stack, 'AWS', 'arn:${data.aws_partition.p.partition}:iam::${data.aws_caller_identity.c.account_id}:root', allow())).toBeUndefined();
    expect(checkPrincipal(stack, 'Service', 'logs.${data.aws_region.r.region}.${data.aws_partition.p.dns_suffix}', allow())).toBeUndefined();
    expect(checkPrincipal(stack, 'AWS', '${aws_iam_role.some_role.arn}', allow())).toBeUndefined();
    expect(checkPrincipal(stack, 'Federated', '${data.aws_iam_openid_connect_provider.github.arn}', allow())).toBeUndefined();
    expect(checkPrincipal(stack, 'Service', 'not a service', allow())).toEqual(expect.any(String));
  });
});

describe('policy extraction (policies/iam/documents.ts)', () => {
  const aws = { accountId: '111122223333', region: 'eu-west-1', partition: 'aws', dnsSuffix: 'amazonaws.com' };
  const stackWith = (json: SynthesizedStack['json']): SynthesizedStack => ({ id: 'x', json, aws });

  it('reads data "aws_iam_policy_document" references as the JSON IAM evaluates', () => {
    const [found] = policyDocuments(
      stackWith({
        data: {
          aws_iam_policy_document: {
            trust: {
              statement: [
                {
                  effect: 'Allow',
                  actions: ['sts:AssumeRole'],
                  principals: [{ type: 'Service', identifiers: ['ec2.amazonaws.com'] }],
                  condition: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: ['111122223333'] }],
                },
              ],
            },
          },
        },
        resource: { aws_iam_role: { r: { assume_role_policy: '${data.aws_iam_policy_document.trust.json}' } } },
      }),
    );
    expect(found).toMatchObject({ kind: 'trust', address: 'aws_iam_role.r' });
    expect(found.document.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['sts:AssumeRole'],
        Principal: { Service: ['ec2.amazonaws.com'] },
        Condition: { StringEquals: { 'aws:SourceAccount': ['111122223333'] } },
      },
    ]);
  });

  it('refuses forms it cannot read, and policy attributes it does not classify, by name', () => {
    const jsonencoded = stackWith({ resource: { aws_iam_role_policy: { p: { policy: '${jsonencode({Statement = []})}' } } } });
    expect(() => policyDocuments(jsonencoded)).toThrow(/x: aws_iam_role_policy\.p\.policy: policy written as a Terraform expression/);
    const unclassified = stackWith({ resource: { aws_glacier_vault: { v: { access_policy: '{"Statement":[]}' } } } });
    expect(() => policyDocuments(unclassified)).toThrow(/add 'aws_glacier_vault\.access_policy' to POLICY_ATTRIBUTES/);
  });
});
