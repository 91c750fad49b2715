/**
 * Input: the subset of the JSON plan format (format_version 1.x, `terraform show -json
 * <planfile>`) the renderer reads, parsed without losing the precision of any number.
 */
import { isSafeNumber, LosslessNumber, parse } from 'lossless-json';
import { z } from 'zod';

/**
 * Parses JSON text keeping every number exact. Terraform numbers are arbitrary precision, and
 * JSON.parse rounds integers beyond 2^53 (ids, byte counts), which can hide a change or invent
 * one. Numbers a double holds exactly stay plain numbers; the others become LosslessNumber,
 * which keeps the literal text. lossless-json is used instead of a hand-written parser because
 * Node 20's JSON.parse reviver has no access to the source text.
 */
export function parseJsonLosslessly(text: string): unknown {
  return parse(text, null, (literal) => (isSafeNumber(literal) ? Number(literal) : new LosslessNumber(literal)));
}

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
  /** Set on the old object of an interrupted create-before-destroy replace. */
  deposed: z.string().optional(),
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
export type Plan = z.output<typeof planSchema>;
export type ResourceChange = z.output<typeof resourceChangeSchema>;
export type Change = z.output<typeof changeSchema>;

/** Thrown for input that is not a terraform JSON plan; the message names the offending field. */
export class PlanFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanFormatError';
  }
}

export function parsePlan(json: unknown): Plan {
  const parsed = planSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new PlanFormatError(`not a terraform JSON plan:\n  - ${issues.join('\n  - ')}`);
  }
  return parsed.data;
}

/** `create-forget` is Terraform 1.7+'s replace that keeps the old object (`removed`, destroy = false). */
export type ChangeKind = 'create' | 'update' | 'replace' | 'create-forget' | 'delete' | 'forget' | 'read' | 'no-op';

export function changeKind(actions: readonly string[]): ChangeKind {
  if (actions.includes('delete') && actions.includes('create')) return 'replace';
  if (actions.includes('forget') && actions.includes('create')) return 'create-forget';
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
