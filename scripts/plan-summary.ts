/**
 * Renders `terraform show -json <planfile>` as the Markdown of a sticky pull-request comment:
 * a count table per resource type, a loud warning for every destroyed or replaced data-bearing
 * resource, the changed attributes of updates, and collapsed full details. Sensitive values are
 * masked, and the output always fits GitHub's comment limit without ever dropping the warning.
 *
 * CLI:
 *   npx ts-node --transpile-only scripts/plan-summary.ts --env staging plan.json > comment.md
 *   npx ts-node --transpile-only scripts/plan-summary.ts --env staging --failed "terraform plan failed" > comment.md
 * Options: --max-chars <n> (default 65536), --run-url <url> (linked as "the job log").
 */
import { readFileSync } from 'fs';
import { z } from 'zod';

/** GitHub rejects issue and pull-request comments longer than this. */
export const GITHUB_COMMENT_LIMIT = 65_536;

/**
 * Resource types whose destroy or replace loses data, with what is lost. The list is explicit so
 * a reviewer can see why a change is flagged. Glue catalog entries are included: the S3 objects
 * survive, but partitions and schemas go and queries break until they are rebuilt. Athena
 * workgroups and named queries are not: they are configuration, and their results live in S3
 * (covered by aws_s3_bucket).
 */
export const DATA_BEARING_RESOURCES: Readonly<Record<string, string>> = {
  aws_msk_cluster: 'Kafka topics and every retained message',
  aws_msk_serverless_cluster: 'Kafka topics and every retained message',
  aws_keyspaces_keyspace: 'every table in the keyspace',
  aws_keyspaces_table: 'the table and its rows',
  aws_s3_bucket: 'every object in the bucket',
  aws_kms_key: 'the ability to decrypt anything encrypted with the key',
  aws_kms_replica_key: 'the ability to decrypt anything encrypted with the key',
  aws_eks_cluster: 'every workload on the cluster and the volumes they own',
  aws_ebs_volume: 'the volume and its blocks',
  kubernetes_persistent_volume: 'the volume (with a Delete reclaim policy)',
  kubernetes_persistent_volume_v1: 'the volume (with a Delete reclaim policy)',
  kubernetes_persistent_volume_claim: 'the claim and, with a Delete reclaim policy, its volume',
  kubernetes_persistent_volume_claim_v1: 'the claim and, with a Delete reclaim policy, its volume',
  kubernetes_namespace: 'everything in the namespace, including volume claims',
  kubernetes_namespace_v1: 'everything in the namespace, including volume claims',
  aws_glue_catalog_database: 'the lake tables, schemas and partitions registered in it',
  aws_glue_catalog_table: 'the schema and partitions of a lake table',
  aws_cloudwatch_log_group: 'its log events',
  aws_ecr_repository: 'every image in the repository',
  aws_secretsmanager_secret: 'the secret value once the recovery window ends',
  aws_dynamodb_table: 'the table and its items',
  aws_db_instance: 'the database',
  aws_rds_cluster: 'the database cluster',
  aws_efs_file_system: 'the file system and its files',
};

const isDataBearing = (type: string) => Object.hasOwn(DATA_BEARING_RESOURCES, type);

// ---------------------------------------------------------------------------------------------
// Input: the subset of the JSON plan format (format_version 1.x) this renderer reads.
// ---------------------------------------------------------------------------------------------

const changeSchema = z.object({
  actions: z.array(z.string()).min(1),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
  after_unknown: z.unknown().optional(),
  before_sensitive: z.unknown().optional(),
  after_sensitive: z.unknown().optional(),
  replace_paths: z.array(z.array(z.union([z.string(), z.number()]))).optional(),
  importing: z.object({ id: z.string().optional() }).passthrough().optional(),
});

const resourceChangeSchema = z.object({
  address: z.string(),
  previous_address: z.string().optional(),
  mode: z.string().default('managed'),
  type: z.string(),
  name: z.string().optional(),
  change: changeSchema,
  action_reason: z.string().optional(),
});

const planSchema = z.object({
  format_version: z.string().regex(/^1\./, 'must be a 1.x JSON plan (terraform show -json <planfile>)'),
  terraform_version: z.string().optional(),
  resource_changes: z.array(resourceChangeSchema).default([]),
  resource_drift: z.array(resourceChangeSchema).default([]),
  output_changes: z.record(z.string(), changeSchema).default({}),
  variables: z.record(z.string(), z.object({ value: z.unknown() }).passthrough()).default({}),
  configuration: z
    .object({
      root_module: z
        .object({ variables: z.record(z.string(), z.object({ sensitive: z.boolean().optional() }).passthrough()).optional() })
        .passthrough()
        .optional(),
    })
    .passthrough()
    .optional(),
  errored: z.boolean().optional(),
});

export type TerraformPlan = z.input<typeof planSchema>;
type Plan = z.output<typeof planSchema>;
type ResourceChange = z.output<typeof resourceChangeSchema>;
type Change = z.output<typeof changeSchema>;

/** Thrown for input that is not a terraform JSON plan; the message names the offending field. */
export class PlanFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanFormatError';
  }
}

function parsePlan(json: unknown): Plan {
  const parsed = planSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new PlanFormatError(`not a terraform JSON plan:\n  - ${issues.join('\n  - ')}`);
  }
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------------

export type ChangeKind = 'create' | 'update' | 'replace' | 'delete' | 'forget' | 'read' | 'no-op';

export function changeKind(actions: readonly string[]): ChangeKind {
  if (actions.includes('delete') && actions.includes('create')) return 'replace';
  const [only] = actions;
  switch (only) {
    case 'create':
    case 'update':
    case 'delete':
    case 'forget':
    case 'read':
      return only;
    default:
      return 'no-op';
  }
}

interface Classified {
  readonly rc: ResourceChange;
  readonly kind: ChangeKind;
  readonly moved: boolean;
  readonly imported: boolean;
}

const COLUMNS = [
  { key: 'create', title: 'Add' },
  { key: 'update', title: 'Change' },
  { key: 'replace', title: 'Replace' },
  { key: 'delete', title: 'Destroy' },
  { key: 'import', title: 'Import', optional: true },
  { key: 'move', title: 'Move', optional: true },
  { key: 'forget', title: 'Forget', optional: true },
] as const;
type Column = (typeof COLUMNS)[number]['key'];

function columnsOf(c: Classified): Column[] {
  const cols: Column[] = [];
  if (c.kind === 'create' || c.kind === 'update' || c.kind === 'replace' || c.kind === 'delete' || c.kind === 'forget') cols.push(c.kind);
  if (c.imported) cols.push('import');
  if (c.moved) cols.push('move');
  return cols;
}

// ---------------------------------------------------------------------------------------------
// Values: sensitive and unknown marks, redaction, formatting
// ---------------------------------------------------------------------------------------------

const SENSITIVE = '(sensitive value)';
const KNOWN_AFTER_APPLY = '(known after apply)';
const ABSENT = '(none)';
/** Longest rendered value; longer ones (policies, scripts) are cut with an ellipsis. */
const MAX_VALUE_CHARS = 160;
/** Shorter sensitive strings are too likely to collide with ordinary values to redact globally. */
const MIN_REDACTED_SECRET_CHARS = 6;
const MAX_CHANGED_ATTRIBUTES = 40;
const MAX_DETAIL_LINES = 200;

type Segment = string | number;
/** `json` marks where a path continues inside a JSON document held in a string attribute. */
interface AttributePath {
  readonly attribute: readonly Segment[];
  readonly json?: readonly Segment[];
}

/** Walks a before/after_sensitive or after_unknown structure: `true` marks the whole subtree. */
function markAt(marks: unknown, key: Segment): unknown {
  if (marks === true) return true;
  if (marks !== null && typeof marks === 'object') return (marks as Record<string, unknown>)[key as string];
  return undefined;
}

const isContainer = (v: unknown): v is Record<string, unknown> | unknown[] => v !== null && typeof v === 'object';

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Masks secrets even where terraform does not mark them: a computed attribute that copies a
 * sensitive input (terraform_data's `output`, a connection string built from a password) carries
 * the secret unmarked. Every string marked sensitive anywhere in the plan, and every sensitive
 * variable, is redacted wherever it appears.
 */
class Redactor {
  private readonly secrets = new Set<string>();

  constructor(plan: Plan) {
    const declared = plan.configuration?.root_module?.variables ?? {};
    for (const [name, v] of Object.entries(plan.variables)) {
      if (declared[name]?.sensitive) this.collect(v.value, true);
    }
    for (const rc of [...plan.resource_changes, ...plan.resource_drift]) this.collectChange(rc.change);
    for (const oc of Object.values(plan.output_changes)) this.collectChange(oc);
  }

  private collectChange(c: Change): void {
    this.collect(c.before, c.before_sensitive);
    this.collect(c.after, c.after_sensitive);
  }

  private collect(value: unknown, marks: unknown): void {
    if (marks === true) {
      if (typeof value === 'string' && value.length >= MIN_REDACTED_SECRET_CHARS) this.secrets.add(value);
      else if (isContainer(value)) for (const k of Object.keys(value)) this.collect((value as Record<string, unknown>)[k], true);
      return;
    }
    if (isContainer(value) && isContainer(marks)) {
      for (const k of Object.keys(value)) this.collect((value as Record<string, unknown>)[k], markAt(marks, k));
    }
  }

  leaks(s: string): boolean {
    for (const secret of this.secrets) if (s.includes(secret)) return true;
    return false;
  }
}

const truncate = (s: string, max = MAX_VALUE_CHARS): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** A copy of `value` with marked and leaking parts replaced by the sensitive placeholder. */
function masked(value: unknown, marks: unknown, redactor: Redactor): unknown {
  if (marks === true) return SENSITIVE;
  if (typeof value === 'string') return redactor.leaks(value) ? SENSITIVE : value;
  if (Array.isArray(value)) return value.map((v, i) => masked(v, markAt(marks, i), redactor));
  if (isContainer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v, markAt(marks, k), redactor)]));
  }
  return value;
}

function formatValue(value: unknown, marks: unknown, redactor: Redactor): string {
  if (value === undefined) return ABSENT;
  const m = masked(value, marks, redactor);
  if (m === SENSITIVE) return SENSITIVE;
  return truncate(JSON.stringify(m) ?? String(m));
}

function formatPath(p: AttributePath): string {
  const join = (segs: readonly Segment[]) =>
    segs.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
  const attr = join(p.attribute) || '(value)';
  return p.json ? `${attr} → ${join(p.json) || '(document)'}` : attr;
}

function parseJsonDocument(s: unknown): unknown {
  if (typeof s !== 'string' || !/^\s*[[{]/.test(s)) return undefined;
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Attribute changes
// ---------------------------------------------------------------------------------------------

interface AttributeChange {
  readonly path: string;
  /** Rendered values: already masked and truncated, safe to print. */
  readonly before: string;
  readonly after: string;
  readonly forcesReplacement: boolean;
}

function keysOf(...values: unknown[]): Segment[] {
  const arrays = values.filter(Array.isArray) as unknown[][];
  if (arrays.length > 0 && arrays.length === values.filter(isContainer).length) {
    return Array.from({ length: Math.max(...arrays.map((a) => a.length)) }, (_, i) => i);
  }
  const keys = new Set<string>();
  for (const v of values) if (isContainer(v) && !Array.isArray(v)) for (const k of Object.keys(v)) keys.add(k);
  return [...keys].sort();
}

/** Leaf-level differences between `before` and `after`, honouring sensitive and unknown marks. */
function attributeChanges(change: Change, redactor: Redactor): AttributeChange[] {
  const out: AttributeChange[] = [];
  const replacePaths = (change.replace_paths ?? []).map((p) => p.join('\u0000'));
  const forces = (p: AttributePath) => {
    const key = p.attribute.join('\u0000');
    return replacePaths.some((r) => key === r || key.startsWith(`${r}\u0000`));
  };
  const push = (p: AttributePath, before: string, after: string) =>
    out.push({ path: formatPath(p), before, after, forcesReplacement: forces(p) });

  const walk = (p: AttributePath, b: unknown, a: unknown, bs: unknown, as: unknown, au: unknown): void => {
    if (bs === true || as === true) {
      if (au === true || !deepEqual(b, a)) {
        push(p, b === undefined || b === null ? ABSENT : SENSITIVE, au === true ? KNOWN_AFTER_APPLY : a === undefined || a === null ? ABSENT : SENSITIVE);
      }
      return;
    }
    if (au === true) {
      push(p, formatValue(b, bs, redactor), KNOWN_AFTER_APPLY);
      return;
    }
    const mismatched = isContainer(b) && isContainer(a) && Array.isArray(b) !== Array.isArray(a);
    const descend = !mismatched && (isContainer(b) || isContainer(a) || isContainer(au)) && (b == null || isContainer(b)) && (a == null || isContainer(a));
    if (descend) {
      for (const k of keysOf(b, a, au)) {
        const child = p.json ? { attribute: p.attribute, json: [...p.json, k] } : { attribute: [...p.attribute, k] };
        walk(child, markAt(b, k), markAt(a, k), markAt(bs, k), markAt(as, k), markAt(au, k));
      }
      return;
    }
    if (b == null && a == null) return; // terraform does not distinguish null from absent
    if (deepEqual(b, a)) return;
    const docB = parseJsonDocument(b);
    const docA = parseJsonDocument(a);
    if (!p.json && isContainer(docB) && isContainer(docA) && !redactor.leaks(String(b)) && !redactor.leaks(String(a))) {
      const before = out.length;
      walk({ attribute: p.attribute, json: [] }, docB, docA, undefined, undefined, undefined);
      if (out.length > before) return; // only formatting differs otherwise: fall through and show it
    }
    push(p, formatValue(b, bs, redactor), formatValue(a, as, redactor));
  };

  walk({ attribute: [] }, change.before ?? undefined, change.after ?? undefined, change.before_sensitive, change.after_sensitive, change.after_unknown);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Markdown helpers
// ---------------------------------------------------------------------------------------------

/** Inline code that survives backticks in the value. */
function code(s: string): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return longest > 0 ? `${fence} ${s} ${fence}` : `${fence}${s}${fence}`;
}

function fenced(lang: string, body: string): string {
  const longest = Math.max(2, ...(body.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${body}\n${fence}`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

const VERB: Record<ChangeKind, string> = {
  create: 'create',
  update: 'update in place',
  replace: 'replace',
  delete: 'destroy',
  forget: 'forget (remove from state, keep the real object)',
  read: 'read',
  'no-op': 'no change',
};

function describe(c: Classified): string {
  const parts = [VERB[c.kind]];
  if (c.kind === 'replace') parts[0] = c.rc.change.actions[0] === 'create' ? 'replace (create new, then destroy old)' : 'replace (destroy, then create)';
  if (c.moved) parts.push(`moved from ${code(c.rc.previous_address!)}`);
  if (c.imported) parts.push(`imported${c.rc.change.importing?.id ? ` (id ${code(c.rc.change.importing.id)})` : ''}`);
  return parts.join(', ');
}

const REASONS: Record<string, string> = {
  replace_because_cannot_update: 'a changed attribute cannot be updated in place',
  replace_because_tainted: 'the object is tainted',
  replace_by_request: 'replacement was requested (-replace)',
  replace_by_triggers: 'replace_triggered_by changed',
  delete_because_no_resource_config: 'its configuration was removed',
  delete_because_no_module: 'its module was removed',
  delete_because_wrong_repetition: 'count/for_each changed shape',
  delete_because_count_index: 'its count index no longer exists',
  delete_because_each_key: 'its for_each key no longer exists',
  delete_because_no_move_target: 'its moved target does not exist',
};

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

export interface RenderOptions {
  /** Environment name: titles the comment and keys its sticky marker. */
  readonly environment: string;
  /**
   * Size cap of the whole comment, in UTF-16 code units (never fewer than GitHub's characters).
   * @default 65536 (GitHub's comment limit)
   */
  readonly maxChars?: number;
  /** Link to the CI job log, where the complete plan is printed. */
  readonly runUrl?: string;
}

/** The hidden first line that identifies an environment's sticky comment. */
export function commentMarker(environment: string): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(environment)) {
    throw new Error(`environment: '${environment}' must be 1-63 lower-case letters, digits, '-' or '_'`);
  }
  return `<!-- plan-summary:${environment} -->`;
}

export function renderPlanSummary(planJson: unknown, options: RenderOptions): string {
  const marker = commentMarker(options.environment);
  const maxChars = options.maxChars ?? GITHUB_COMMENT_LIMIT;
  const plan = parsePlan(planJson);
  const redactor = new Redactor(plan);
  const env = options.environment;
  const fullPlanAt = options.runUrl ? `[the job log](${options.runUrl})` : 'the job log';

  const changes: Classified[] = plan.resource_changes
    .filter((rc) => rc.mode === 'managed')
    .map((rc) => ({
      rc,
      kind: changeKind(rc.change.actions),
      moved: !!rc.previous_address && rc.previous_address !== rc.address,
      imported: !!rc.change.importing,
    }))
    .filter((c) => c.kind !== 'no-op' || c.moved || c.imported);

  // Header -------------------------------------------------------------------------------------
  const total = (k: Column) => changes.filter((c) => columnsOf(c).includes(k)).length;
  const counts = Object.fromEntries(COLUMNS.map((c) => [c.key, total(c.key)])) as Record<Column, number>;
  const headline =
    changes.length === 0
      ? '**No changes.** The infrastructure matches the configuration.'
      : `**Plan:** ${counts.create} to add, ${counts.update} to change, ${counts.replace} to replace, ${counts.delete} to destroy` +
        (counts.import ? `, ${counts.import} to import` : '') +
        (counts.move ? `, ${counts.move} to move` : '') +
        (counts.forget ? `, ${counts.forget} to forget` : '') +
        '.';
  const head = [marker, `### Terraform plan for \`${env}\``, '', headline];
  if (plan.errored) head.push('', '> [!WARNING]', '> Terraform reported errors while planning: this plan is incomplete. See the job log.');

  // Warning: never truncated away --------------------------------------------------------------
  const dangerous = changes.filter((c) => (c.kind === 'delete' || c.kind === 'replace') && isDataBearing(c.rc.type));
  const warningBlock = (detail: 'full' | 'short', limit = dangerous.length): string => {
    if (dangerous.length === 0) return '';
    const lines = [
      '> [!CAUTION]',
      `> **${plural(dangerous.length, 'data-bearing resource')} will be destroyed or replaced.** Their data is lost unless it is backed up elsewhere: make sure this is intended before it is applied.`,
      '>',
    ];
    for (const c of dangerous.slice(0, limit)) {
      const what = c.kind === 'replace' ? '**REPLACE**' : '**DESTROY**';
      let line = `> - ${what} ${code(c.rc.address)}`;
      if (detail === 'full') {
        line += `: loses ${DATA_BEARING_RESOURCES[c.rc.type]}`;
        const reason = c.rc.action_reason ? REASONS[c.rc.action_reason] ?? c.rc.action_reason : undefined;
        const forcing = (c.rc.change.replace_paths ?? []).map((p) => code(formatPath({ attribute: p })));
        if (forcing.length > 0) line += `; forced by ${forcing.slice(0, 5).join(', ')}${forcing.length > 5 ? '…' : ''}`;
        else if (reason) line += `; ${reason}`;
      }
      lines.push(line);
    }
    if (limit < dangerous.length) lines.push(`> - …and ${dangerous.length - limit} more, listed in ${fullPlanAt}`);
    return lines.join('\n');
  };

  // Count table --------------------------------------------------------------------------------
  const shownColumns = COLUMNS.filter((c) => !('optional' in c) || counts[c.key] > 0);
  const byType = new Map<string, Record<Column, number>>();
  for (const c of changes) {
    const row = byType.get(c.rc.type) ?? (Object.fromEntries(COLUMNS.map((k) => [k.key, 0])) as Record<Column, number>);
    for (const col of columnsOf(c)) row[col]++;
    byType.set(c.rc.type, row);
  }
  const typeRows = [...byType.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, row]) => {
      const flag = isDataBearing(type) && (row.delete > 0 || row.replace > 0) ? ' ⚠️' : '';
      return `| ${code(type)}${flag} | ${shownColumns.map((c) => row[c.key] || '').join(' | ')} |`;
    });
  const tableBlock = (rowLimit = typeRows.length): string => {
    if (changes.length === 0) return '';
    const lines = [
      `| Resource type | ${shownColumns.map((c) => c.title).join(' | ')} |`,
      `| :-- | ${shownColumns.map(() => '--:').join(' | ')} |`,
      ...typeRows.slice(0, rowLimit),
    ];
    if (rowLimit < typeRows.length) lines.push(`| …${typeRows.length - rowLimit} more types | ${shownColumns.map(() => '').join(' | ')} |`);
    lines.push(`| **Total** | ${shownColumns.map((c) => `**${counts[c.key]}**`).join(' | ')} |`);
    return lines.join('\n');
  };

  // Changed attributes of updates and replacements ---------------------------------------------
  const diffs = new Map<Classified, AttributeChange[]>();
  const diffOf = (c: Classified) => {
    let d = diffs.get(c);
    if (!d) diffs.set(c, (d = attributeChanges(c.rc.change, redactor)));
    return d;
  };
  const changedBlocks = changes
    .filter((c) => c.kind === 'update' || c.kind === 'replace')
    .map((c) => {
      const d = diffOf(c);
      const lines = [`**${code(c.rc.address)}**: ${describe(c)}`];
      if (d.length === 0) lines.push('- (no visible attribute changes: only sensitive or computed values differ)');
      for (const a of d.slice(0, MAX_CHANGED_ATTRIBUTES)) {
        lines.push(`- ${code(a.path)}: ${code(a.before)} → ${code(a.after)}${a.forcesReplacement ? ' **(forces replacement)**' : ''}`);
      }
      if (d.length > MAX_CHANGED_ATTRIBUTES) lines.push(`- …and ${d.length - MAX_CHANGED_ATTRIBUTES} more attributes (see the details below)`);
      return lines.join('\n');
    });

  const drifted = plan.resource_drift.filter((rc) => rc.mode === 'managed');
  const driftBlocks = drifted.map((rc) => {
    const kind = changeKind(rc.change.actions);
    const d = kind === 'update' ? attributeChanges(rc.change, redactor) : [];
    const lines = [`- ${code(rc.address)}: ${kind === 'delete' ? 'deleted outside Terraform' : 'changed outside Terraform'}`];
    for (const a of d.slice(0, 10)) lines.push(`  - ${code(a.path)}: ${code(a.before)} → ${code(a.after)}`);
    if (d.length > 10) lines.push(`  - …and ${d.length - 10} more`);
    return lines.join('\n');
  });

  const outputs = Object.entries(plan.output_changes)
    .map(([name, oc]) => ({ name, kind: changeKind(oc.actions), oc }))
    .filter((o) => o.kind !== 'no-op')
    .map((o) => {
      const d = attributeChanges(o.oc, redactor)[0];
      return `- ${code(`output.${o.name}`)}: ${d ? `${code(d.before)} → ${code(d.after)}` : VERB[o.kind]}`;
    });

  // Full details -------------------------------------------------------------------------------
  const detailBlocks = changes.map((c) => {
    const lines: string[] = [];
    for (const a of diffOf(c)) {
      if (c.kind === 'create') lines.push(`+ ${a.path} = ${a.after}`);
      else if (c.kind === 'delete' || c.kind === 'forget') lines.push(`- ${a.path} = ${a.before}`);
      else lines.push(`~ ${a.path}: ${a.before} -> ${a.after}${a.forcesReplacement ? '   # forces replacement' : ''}`);
    }
    const shown = lines.slice(0, MAX_DETAIL_LINES);
    if (lines.length > MAX_DETAIL_LINES) shown.push(`# …${lines.length - MAX_DETAIL_LINES} more attributes in the job log`);
    if (shown.length === 0) shown.push('# no attribute changes');
    return `${code(c.rc.address)}: ${describe(c)}\n\n${fenced('diff', shown.join('\n'))}`;
  });

  // Assembly under the size cap ----------------------------------------------------------------
  // Order of sacrifice: details first, then attribute changes (drift and outputs with them), then
  // table rows; the warning is shortened only when it alone would not fit, and never dropped.
  interface Layout {
    warning: string;
    table: string;
    changed: number;
    drift: number;
    outputs: number;
    details: number;
    notes: string[];
  }
  const compose = (l: Layout): string => {
    const parts = [head.join('\n')];
    if (l.warning) parts.push(l.warning);
    if (l.table) parts.push(l.table);
    if (changedBlocks.length > 0 && l.changed > 0) parts.push(['#### Changed attributes', ...changedBlocks.slice(0, l.changed)].join('\n\n'));
    if (driftBlocks.length > 0 && l.drift > 0) {
      parts.push([`#### ${plural(driftBlocks.length, 'resource')} changed outside Terraform (drift)`, driftBlocks.slice(0, l.drift).join('\n')].join('\n\n'));
    }
    if (outputs.length > 0 && l.outputs > 0) parts.push(['#### Outputs', outputs.slice(0, l.outputs).join('\n')].join('\n\n'));
    if (detailBlocks.length > 0 && l.details > 0) {
      parts.push(
        [`<details><summary>Full details (${plural(detailBlocks.length, 'resource change')})</summary>`, ...detailBlocks.slice(0, l.details), '</details>'].join(
          '\n\n',
        ),
      );
    }
    const footer = [...l.notes];
    footer.push(`<sub>Rendered by scripts/plan-summary.ts from \`terraform show -json\`${plan.terraform_version ? ` (Terraform ${plan.terraform_version})` : ''}. Sensitive values are masked.</sub>`);
    parts.push(footer.join('\n\n'));
    return `${parts.join('\n\n')}\n`;
  };

  const layout: Layout = {
    warning: warningBlock('full'),
    table: tableBlock(),
    changed: changedBlocks.length,
    drift: driftBlocks.length,
    outputs: outputs.length,
    details: detailBlocks.length,
    notes: [],
  };
  const fits = () => compose(layout).length <= maxChars;
  if (fits()) return compose(layout);

  const truncationNote = () => {
    const omitted: string[] = [];
    if (layout.details < detailBlocks.length) omitted.push(`full details of ${plural(detailBlocks.length - layout.details, 'resource')}`);
    if (layout.changed < changedBlocks.length) omitted.push(`changed attributes of ${plural(changedBlocks.length - layout.changed, 'resource')}`);
    if (layout.drift < driftBlocks.length) omitted.push(`${plural(driftBlocks.length - layout.drift, 'drifted resource')}`);
    if (layout.outputs < outputs.length) omitted.push(`${plural(outputs.length - layout.outputs, 'output change')}`);
    if (layout.table !== tableBlock()) omitted.push('some rows of the count table');
    if (layout.warning !== warningBlock('full')) omitted.push('the reasons in the warning above');
    return `> [!NOTE]\n> **Truncated** to fit GitHub's ${maxChars.toLocaleString('en-US')}-character comment limit: omitted ${omitted.join('; ')}. The complete plan is in ${fullPlanAt}.`;
  };
  // Largest n in [0, max] for which the layout still fits, with the truncation note in place.
  const shrink = (set: (n: number) => void, max: number): boolean => {
    let lo = 0;
    let hi = max;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      set(mid);
      layout.notes = [truncationNote()];
      if (fits()) lo = mid;
      else hi = mid - 1;
    }
    set(lo);
    layout.notes = [truncationNote()];
    return fits();
  };

  if (shrink((n) => (layout.details = n), detailBlocks.length)) return compose(layout);
  if (shrink((n) => (layout.outputs = n), outputs.length)) return compose(layout);
  if (shrink((n) => (layout.drift = n), driftBlocks.length)) return compose(layout);
  if (shrink((n) => (layout.changed = n), changedBlocks.length)) return compose(layout);
  if (shrink((n) => (layout.table = tableBlock(n)), typeRows.length)) return compose(layout);
  layout.table = '';
  layout.warning = warningBlock('short');
  layout.notes = [truncationNote()];
  if (fits()) return compose(layout);
  if (shrink((n) => (layout.warning = warningBlock('short', n)), dangerous.length)) return compose(layout);
  throw new Error(`maxChars: ${maxChars} is too small to hold even the plan headline and the data-loss warning`);
}

/** The comment posted when there is no plan to render (terraform init or plan failed). */
export function renderPlanFailure(environment: string, reason: string, runUrl?: string): string {
  const where = runUrl ? `[the job log](${runUrl})` : 'the job log';
  return [
    commentMarker(environment),
    `### Terraform plan for \`${environment}\``,
    '',
    '> [!WARNING]',
    `> **The plan failed:** ${truncate(reason.replace(/\s+/g, ' ').trim(), 500)}`,
    `> See ${where} for the error. This comment is updated when a new plan runs.`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

interface CliArgs {
  env?: string;
  maxChars?: number;
  runUrl?: string;
  failed?: string;
  file?: string;
}

function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--env') args.env = value();
    else if (a === '--max-chars') {
      const n = Number(value());
      if (!Number.isInteger(n) || n <= 0) throw new Error('--max-chars must be a positive integer');
      args.maxChars = n;
    } else if (a === '--run-url') args.runUrl = value();
    else if (a === '--failed') args.failed = value();
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else if (args.file) throw new Error(`unexpected argument ${a}: give one plan file`);
    else args.file = a;
  }
  return args;
}

const USAGE = 'usage: plan-summary.ts --env <environment> [--max-chars N] [--run-url URL] (<plan.json> | --failed <reason>)';

export function main(argv: readonly string[]): string {
  const args = parseArgs(argv);
  if (!args.env) throw new Error(`--env is required\n${USAGE}`);
  if (args.failed !== undefined) return renderPlanFailure(args.env, args.failed, args.runUrl);
  if (!args.file) throw new Error(`give the plan file written by 'terraform show -json'\n${USAGE}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(args.file, 'utf8'));
  } catch (err) {
    throw new Error(`${args.file}: cannot read JSON (${(err as Error).message})`);
  }
  return renderPlanSummary(json, { environment: args.env, maxChars: args.maxChars, runUrl: args.runUrl });
}

if (require.main === module) {
  try {
    process.stdout.write(main(process.argv.slice(2)));
  } catch (err) {
    process.stderr.write(`plan-summary: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
