/** Renders a parsed plan as the Markdown of the sticky pull-request comment. */
import { DATA_BEARING_RESOURCES, isDataBearing } from './data-bearing';
import { attributeChanges, AttributeChange } from './diff';
import { code, fenced, formatCount, formatPath, plural, printable, truncate } from './markdown';
import { ChangeKind, changeKind, parsePlan, ResourceChange } from './plan';
import { formatValue, Redactor } from './values';

/** GitHub rejects issue and pull-request comments longer than this. */
export const GITHUB_COMMENT_LIMIT = 65_536;
const MAX_CHANGED_ATTRIBUTES = 40;
const MAX_DETAIL_LINES = 200;

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
  if (c.kind === 'create-forget') cols.push('create', 'forget');
  if (c.imported) cols.push('import');
  if (c.moved) cols.push('move');
  return cols;
}

const VERB: Record<ChangeKind, string> = {
  create: 'create',
  update: 'update in place',
  replace: 'replace',
  delete: 'destroy',
  forget: 'forget (remove from state, keep the real object)',
  'create-forget': 'replace (create new, forget old: the old object is kept, no longer managed)',
  read: 'read',
  'no-op': 'no change',
};

/** The address, and for a deposed object which one it is. */
const label = (rc: ResourceChange): string => `${code(rc.address)}${rc.deposed ? ` (deposed object ${code(rc.deposed)})` : ''}`;

/** Keeps the first and last of `items` (n in all) around a gap, as tfcmt keeps a long plan's head and tail. */
function headAndTail<T>(items: readonly T[], n: number, gap: (omitted: number) => T): T[] {
  if (n >= items.length) return [...items];
  if (n <= 0) return [];
  const tail = Math.floor(n / 2);
  return [...items.slice(0, n - tail), gap(items.length - n), ...items.slice(items.length - tail)];
}

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
  const count = (k: Column) => formatCount(counts[k]);
  const planned =
    `${count('create')} to add, ${count('update')} to change, ${count('replace')} to replace, ${count('delete')} to destroy` +
    (counts.import ? `, ${count('import')} to import` : '') +
    (counts.move ? `, ${count('move')} to move` : '') +
    (counts.forget ? `, ${count('forget')} to forget` : '');
  const driftCount = plan.resource_drift.filter((rc) => rc.mode === 'managed').length;
  const outputCount = Object.values(plan.output_changes).filter((oc) => changeKind(oc.actions) !== 'no-op').length;
  const besideResources = [
    driftCount > 0 ? `${plural(driftCount, 'resource')} changed outside Terraform (drift)` : '',
    outputCount > 0 ? (driftCount > 0 ? `${plural(outputCount, 'output')} change` : `Only outputs change: ${plural(outputCount, 'output')}`) : '',
  ].filter(Boolean);
  let headline: string;
  if (plan.errored) {
    headline = `**The plan failed.** Terraform stopped with errors, so this plan is incomplete and cannot be applied: the errors are in ${fullPlanAt}.`;
    if (changes.length > 0) headline += ` Planned before the errors: ${planned}.`;
  } else if (changes.length > 0) headline = `**Plan:** ${planned}.`;
  else if (besideResources.length > 0) headline = `**No resource changes.** ${besideResources.join(' and ')}, listed below.`;
  else headline = '**No changes.** The infrastructure matches the configuration.';
  const head = [marker, `### Terraform plan for \`${env}\``, '', headline];

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
      let line = `> - ${what} ${label(c.rc)}`;
      if (detail === 'full') {
        line += `: loses ${DATA_BEARING_RESOURCES[c.rc.type]}`;
        const reason = c.rc.action_reason ? (REASONS[c.rc.action_reason] ?? printable(c.rc.action_reason)) : undefined;
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
      return `| ${code(type).replace(/\|/g, '\\|')}${flag} | ${shownColumns.map((c) => (row[c.key] ? formatCount(row[c.key]) : '')).join(' | ')} |`;
    });
  const tableBlock = (rowLimit = typeRows.length): string => {
    if (changes.length === 0) return '';
    const lines = [
      `| Resource type | ${shownColumns.map((c) => c.title).join(' | ')} |`,
      `| :-- | ${shownColumns.map(() => '--:').join(' | ')} |`,
      ...typeRows.slice(0, rowLimit),
    ];
    if (rowLimit < typeRows.length) lines.push(`| …${formatCount(typeRows.length - rowLimit)} more types | ${shownColumns.map(() => '').join(' | ')} |`);
    lines.push(`| **Total** | ${shownColumns.map((c) => `**${formatCount(counts[c.key])}**`).join(' | ')} |`);
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
      const lines = [`**${label(c.rc)}**: ${describe(c)}`];
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
    const lines = [`- ${label(rc)}: ${kind === 'delete' ? 'deleted outside Terraform' : 'changed outside Terraform'}`];
    for (const a of d.slice(0, 10)) lines.push(`  - ${code(a.path)}: ${code(a.before)} → ${code(a.after)}`);
    if (d.length > 10) lines.push(`  - …and ${d.length - 10} more`);
    return lines.join('\n');
  });

  const outputs = Object.entries(plan.output_changes)
    .map(([name, oc]) => ({ name, kind: changeKind(oc.actions), oc }))
    .filter((o) => o.kind !== 'no-op')
    .map((o) => {
      const before = formatValue(o.oc.before, o.oc.before_sensitive, redactor);
      const after = formatValue(o.oc.after, o.oc.after_sensitive, redactor, o.oc.after_unknown);
      return `- ${code(`output.${o.name}`)}: ${code(before)} → ${code(after)}`;
    });

  // Full details -------------------------------------------------------------------------------
  const detailBlocks = changes.map((c) => {
    const lines: string[] = [];
    for (const a of diffOf(c)) {
      if (c.kind === 'create' || c.kind === 'create-forget') lines.push(`+ ${a.path} = ${a.after}`);
      else if (c.kind === 'delete' || c.kind === 'forget') lines.push(`- ${a.path} = ${a.before}`);
      else lines.push(`~ ${a.path}: ${a.before} -> ${a.after}${a.forcesReplacement ? '   # forces replacement' : ''}`);
    }
    const shown = lines.slice(0, MAX_DETAIL_LINES);
    if (lines.length > MAX_DETAIL_LINES) shown.push(`# …${lines.length - MAX_DETAIL_LINES} more attributes in the job log`);
    if (shown.length === 0) shown.push('# no attribute changes');
    return `${label(c.rc)}: ${describe(c)}\n\n${fenced('diff', shown.join('\n'))}`;
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
    if (changedBlocks.length > 0 && l.changed > 0) {
      const gap = (omitted: number) => `…changed attributes of ${plural(omitted, 'resource')} omitted here: see ${fullPlanAt}.`;
      parts.push(['#### Changed attributes', ...headAndTail(changedBlocks, l.changed, gap)].join('\n\n'));
    }
    if (driftBlocks.length > 0 && l.drift > 0) {
      parts.push([`#### ${plural(driftBlocks.length, 'resource')} changed outside Terraform (drift)`, driftBlocks.slice(0, l.drift).join('\n')].join('\n\n'));
    }
    if (outputs.length > 0 && l.outputs > 0) parts.push(['#### Outputs', outputs.slice(0, l.outputs).join('\n')].join('\n\n'));
    if (detailBlocks.length > 0 && l.details > 0) {
      parts.push(
        [
          `<details><summary>Full details (${plural(detailBlocks.length, 'resource change')})</summary>`,
          ...headAndTail(detailBlocks, l.details, (omitted) => `…${plural(omitted, 'resource change')} omitted here: see ${fullPlanAt}.`),
          '</details>',
        ].join('\n\n'),
      );
    }
    const footer = [...l.notes];
    footer.push(
      `<sub>Rendered by scripts/ci/plan-summary.ts from \`terraform show -json\`${plan.terraform_version ? ` (Terraform ${printable(plan.terraform_version)})` : ''}. Sensitive values are masked.</sub>`,
    );
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
    if (layout.table === '') omitted.push('the count table');
    else if (layout.table !== tableBlock()) omitted.push('some rows of the count table');
    if (layout.warning !== warningBlock('full')) omitted.push('the reasons in the warning above');
    return `> [!NOTE]\n> **Truncated** to fit GitHub's ${formatCount(maxChars)}-character comment limit: omitted ${omitted.join('; ')}. The complete plan is in ${fullPlanAt}.`;
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
  // The count table, its Total row included, goes last: after the warning lost its reasons and rows.
  layout.warning = warningBlock('short');
  layout.notes = [truncationNote()];
  if (fits()) return compose(layout);
  if (shrink((k) => (layout.warning = warningBlock('short', k)), dangerous.length)) return compose(layout);
  layout.table = '';
  if (shrink((k) => (layout.warning = warningBlock('short', k)), dangerous.length)) return compose(layout);
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
