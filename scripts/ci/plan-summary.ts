/**
 * Renders `terraform show -json <planfile>` as the Markdown of a sticky pull-request comment:
 * a count table per resource type, a loud warning for every destroyed or replaced data-bearing
 * resource, the changed attributes of updates, and collapsed full details. Sensitive values are
 * masked, and the output always fits GitHub's comment limit without ever dropping the warning.
 *
 * CLI:
 *   npx tsx scripts/ci/plan-summary.ts --env staging plan.json > comment.md
 *   npx tsx scripts/ci/plan-summary.ts --env staging --failed "terraform plan failed" > comment.md
 * Options: --max-chars <n> (default 65536), --run-url <url> (linked as "the job log"), --help.
 *
 * The work is in scripts/ci/plan-summary/: plan.ts (lossless parsing, the plan schema),
 * values.ts (sensitivity and masking), diff.ts (attribute and list/set diffs), render.ts.
 */
import { readFileSync } from 'fs';
import { parseJsonLosslessly } from './plan-summary/plan';
import { GITHUB_COMMENT_LIMIT, renderPlanFailure, renderPlanSummary } from './plan-summary/render';

export { DATA_BEARING_RESOURCES } from './plan-summary/data-bearing';
export { changeKind, parseJsonLosslessly, PlanFormatError } from './plan-summary/plan';
export type { ChangeKind, TerraformPlan } from './plan-summary/plan';
export { commentMarker, GITHUB_COMMENT_LIMIT, renderPlanFailure, renderPlanSummary } from './plan-summary/render';
export type { RenderOptions } from './plan-summary/render';

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

interface CliArgs {
  env?: string;
  maxChars?: number;
  runUrl?: string;
  failed?: string;
  file?: string;
  help?: boolean;
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
    else if (a === '--help' || a === '-h') args.help = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else if (args.file) throw new Error(`unexpected argument ${a}: give one plan file`);
    else args.file = a;
  }
  return args;
}

const USAGE = [
  'usage: plan-summary.ts --env <environment> [--max-chars N] [--run-url URL] (<plan.json> | --failed <reason>)',
  '',
  '  <plan.json>         the output of `terraform show -json <planfile>`',
  '  --env <name>        environment: titles the comment and keys its sticky marker',
  '  --failed <reason>   render the comment for a plan that could not be made',
  `  --max-chars N       size cap of the comment (default ${GITHUB_COMMENT_LIMIT}, GitHub's limit)`,
  '  --run-url URL       the CI job log, linked for the complete plan',
  '  --help, -h          print this help',
].join('\n');

export function main(argv: readonly string[]): string {
  const args = parseArgs(argv);
  if (args.help) return `${USAGE}\n`;
  if (!args.env) throw new Error(`--env is required\n${USAGE}`);
  if (args.failed !== undefined) return renderPlanFailure(args.env, args.failed, args.runUrl);
  if (!args.file) throw new Error(`give the plan file written by 'terraform show -json'\n${USAGE}`);
  let json: unknown;
  try {
    json = parseJsonLosslessly(readFileSync(args.file, 'utf8'));
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
