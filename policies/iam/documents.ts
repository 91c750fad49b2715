/**
 * Every IAM policy document in the synthesized stacks, in one shape, for the graph invariants
 * (test/invariants) and the parliament gate (scripts/ci/lint-iam.ts).
 *
 * The stacks are synthesized in-process exactly as `npm run synth` does (main.ts buildApp), so a
 * new stack, resource or policy attribute is seen without anyone listing it. A string attribute
 * that holds a policy document but is not classified in POLICY_ATTRIBUTES fails loudly: a
 * document nobody checks is the gap these tests exist to close.
 */
import { App, Testing, TerraformStack } from 'cdktf';
import { EnvironmentConfig, environments, validateEnvironments } from '../../config';
import { BootstrapConfig, validateBootstrap } from '../../config/bootstrap';
import { buildApp, withImageTag } from '../../main';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- synthesized Terraform JSON, walked generically
export type Json = Record<string, any>;

/** One stack as Terraform reads it (cdk.tf.json). */
export interface SynthesizedStack {
  readonly id: string;
  readonly json: Json;
  /** The environment it deploys; undefined for the bootstrap stacks. */
  readonly environment?: EnvironmentConfig;
  /** Account, region and partition its AWS provider runs in. */
  readonly aws: AwsLocation;
}

export interface AwsLocation {
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  readonly dnsSuffix: string;
}

export interface SynthesizedApp {
  readonly stacks: readonly SynthesizedStack[];
  readonly bootstrap: BootstrapConfig;
  readonly environments: readonly EnvironmentConfig[];
}

/** Synthesizes every stack main.ts builds (all environments and the bootstrap). */
export function synthesizeApp(): SynthesizedApp {
  const app = buildApp(Testing.app() as App);
  const bootstrap = validateBootstrap();
  const configs = validateEnvironments(withImageTag(environments));
  const stacks = app.node.children
    .filter((c): c is TerraformStack => c instanceof TerraformStack)
    .map((stack) => {
      const id = stack.node.id;
      const json = JSON.parse(Testing.synth(stack)) as Json;
      const environment = configs.find((c) => c.name === id);
      const account = environment
        ? bootstrap.accounts.find((a) => a.environments.some((e) => e.name === id))!
        : bootstrap.accounts.find((a) => id === 'bootstrap' || id === `bootstrap-${a.accountId}`);
      if (!account) throw new Error(`stack '${id}': neither an environment nor a bootstrap stack; extend synthesizeApp()`);
      const region = environment?.region ?? account.region;
      return { id, json, environment, aws: { accountId: account.accountId, region, partition: account.partition, dnsSuffix: dnsSuffixOf(account.partition) } };
    });
  return { stacks, bootstrap, environments: configs };
}

const dnsSuffixOf = (partition: string) => (partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com');

// ---------------------------------------------------------------------------------------------
// Policy documents
// ---------------------------------------------------------------------------------------------

/**
 * What a document is, as IAM evaluates it: identity policies (inline, managed, boundaries),
 * trust policies (who may assume a role) and resource policies (on a key, bucket, topic...).
 */
export type PolicyKind = 'identity' | 'trust' | 'resource';

/** `<resource type>.<attribute>` of every attribute that holds an IAM policy document. */
export const POLICY_ATTRIBUTES: Readonly<Record<string, PolicyKind>> = {
  'aws_iam_policy.policy': 'identity',
  'aws_iam_role_policy.policy': 'identity',
  'aws_iam_user_policy.policy': 'identity',
  'aws_iam_group_policy.policy': 'identity',
  'aws_iam_role.assume_role_policy': 'trust',
  'aws_kms_key.policy': 'resource',
  'aws_s3_bucket_policy.policy': 'resource',
  'aws_sns_topic_policy.policy': 'resource',
  'aws_sns_topic.policy': 'resource',
  'aws_sqs_queue_policy.policy': 'resource',
  'aws_ecr_repository_policy.policy': 'resource',
  'aws_vpc_endpoint.policy': 'resource',
  'aws_cloudwatch_log_resource_policy.policy_document': 'resource',
  'aws_msk_cluster_policy.policy': 'resource',
  'aws_secretsmanager_secret_policy.policy': 'resource',
};

export interface PolicyStatementJson {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: '*' | Record<string, string | string[]>;
  NotPrincipal?: '*' | Record<string, string | string[]>;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocumentJson {
  Version?: string;
  Id?: string;
  Statement: PolicyStatementJson[];
}

export interface FoundPolicy {
  readonly stack: string;
  /** `<type>.<name>` of the resource that carries the document. */
  readonly address: string;
  readonly type: string;
  readonly name: string;
  readonly attribute: string;
  readonly kind: PolicyKind;
  readonly document: PolicyDocumentJson;
}

export const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every policy document of one stack, in whichever form it was written. */
export function policyDocuments(stack: SynthesizedStack): FoundPolicy[] {
  const found: FoundPolicy[] = [];
  for (const [type, byName] of Object.entries<Record<string, Json>>(stack.json.resource ?? {})) {
    for (const [name, body] of Object.entries(byName)) {
      for (const [attribute, value] of Object.entries(body)) {
        const key = `${type}.${attribute}`;
        const kind = POLICY_ATTRIBUTES[key];
        const where = `${stack.id}: ${type}.${name}.${attribute}`;
        if (!kind) {
          if (looksLikePolicy(value)) {
            throw new Error(`${where} holds an IAM policy document that policies/iam/documents.ts does not classify: add '${key}' to POLICY_ATTRIBUTES`);
          }
          continue;
        }
        found.push({ stack: stack.id, address: `${type}.${name}`, type, name, attribute, kind, document: parseDocument(stack, value, where) });
      }
      // An inline_policy block on a role is an identity policy too.
      for (const [i, inline] of list<Json>(type === 'aws_iam_role' ? body.inline_policy : undefined).entries()) {
        const where = `${stack.id}: ${type}.${name}.inline_policy[${i}]`;
        found.push({
          stack: stack.id,
          address: `${type}.${name}`,
          type,
          name,
          attribute: `inline_policy[${i}]`,
          kind: 'identity',
          document: parseDocument(stack, inline.policy, where),
        });
      }
    }
  }
  return found;
}

const looksLikePolicy = (value: unknown) => typeof value === 'string' && /"Statement"\s*:/.test(value);

const POLICY_DOCUMENT_REF = /^\$\{data\.aws_iam_policy_document\.([\w-]+)\.(json|minified_json)\}$/;

/** JSON strings (tokens inside kept as `${...}`) and data "aws_iam_policy_document" references. */
function parseDocument(stack: SynthesizedStack, value: unknown, where: string): PolicyDocumentJson {
  if (typeof value !== 'string') throw new Error(`${where}: expected a policy document string, got ${typeof value}`);
  const ref = POLICY_DOCUMENT_REF.exec(value);
  if (ref) {
    const data = stack.json.data?.aws_iam_policy_document?.[ref[1]];
    if (!data) throw new Error(`${where}: references data.aws_iam_policy_document.${ref[1]}, which the stack does not declare`);
    return fromPolicyDocumentData(data, `${stack.id}: data.aws_iam_policy_document.${ref[1]}`);
  }
  if (value.startsWith('${')) {
    throw new Error(
      `${where}: policy written as a Terraform expression (${value.slice(0, 60)}…); write it as JSON or a data "aws_iam_policy_document", or teach policies/iam/documents.ts to read it`,
    );
  }
  const doc = JSON.parse(value) as PolicyDocumentJson;
  if (!doc.Statement) throw new Error(`${where}: policy document has no Statement`);
  return { ...doc, Statement: list(doc.Statement) };
}

/** Translates the data source's HCL blocks into the JSON IAM reads. */
function fromPolicyDocumentData(data: Json, where: string): PolicyDocumentJson {
  if (data.source_policy_documents || data.override_policy_documents) {
    throw new Error(`${where}: source/override_policy_documents are not read by policies/iam/documents.ts`);
  }
  const principals = (blocks: Json[] | undefined) => {
    if (!blocks) return undefined;
    const out: Record<string, string[]> = {};
    for (const b of blocks) out[b.type] = [...(out[b.type] ?? []), ...list<string>(b.identifiers)];
    return out;
  };
  const statements = list<Json>(data.statement).map((s): PolicyStatementJson => {
    const condition: Record<string, Record<string, unknown>> = {};
    for (const c of list<Json>(s.condition)) condition[c.test] = { ...(condition[c.test] ?? {}), [c.variable]: list(c.values) };
    return {
      ...(s.sid ? { Sid: s.sid } : {}),
      Effect: s.effect ?? 'Allow',
      ...(s.actions ? { Action: s.actions } : {}),
      ...(s.not_actions ? { NotAction: s.not_actions } : {}),
      ...(s.resources ? { Resource: s.resources } : {}),
      ...(s.not_resources ? { NotResource: s.not_resources } : {}),
      ...(s.principals ? { Principal: principals(s.principals) } : {}),
      ...(s.not_principals ? { NotPrincipal: principals(s.not_principals) } : {}),
      ...(Object.keys(condition).length ? { Condition: condition } : {}),
    };
  });
  return { Version: data.version ?? '2012-10-17', Statement: statements };
}

// ---------------------------------------------------------------------------------------------
// Terraform references
// ---------------------------------------------------------------------------------------------

/**
 * Replaces the AWS context data sources (account, partition, region, DNS suffix) with the
 * stack's real values, so ARNs can be compared as text. Other references stay `${...}`.
 */
export function withAwsContext(text: string, aws: AwsLocation): string {
  return text
    .replace(/\$\{data\.aws_caller_identity\.[\w-]+\.account_id\}/g, aws.accountId)
    .replace(/\$\{data\.aws_partition\.[\w-]+\.partition\}/g, aws.partition)
    .replace(/\$\{data\.aws_partition\.[\w-]+\.dns_suffix\}/g, aws.dnsSuffix)
    .replace(/\$\{data\.aws_region\.[\w-]+\.(region|name)\}/g, aws.region);
}

/** `${aws_x.y.attr}` (no expression around it) as its parts, else undefined. */
export function parseReference(text: string): { data: boolean; type: string; name: string; attribute: string } | undefined {
  const m = /^\$\{(data\.)?([a-z0-9_]+)\.([\w-]+)\.([\w.\[\]]+)\}$/.exec(text);
  return m ? { data: Boolean(m[1]), type: m[2], name: m[3], attribute: m[4] } : undefined;
}

/** A literal attribute value, following one `${aws_x.y.attr}` reference inside the stack. */
export function resolveLiteral(stack: SynthesizedStack, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const ref = parseReference(value);
  if (!ref) return value.includes('${') ? undefined : value;
  const target = (ref.data ? stack.json.data : stack.json.resource)?.[ref.type]?.[ref.name]?.[ref.attribute];
  return typeof target === 'string' && !target.includes('${') ? target : undefined;
}
