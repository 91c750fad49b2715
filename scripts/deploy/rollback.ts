/**
 * Rolls an environment's apps back to an earlier image tag (README "Rollback"):
 *
 *   npm run rollback -- <env> --list          the deploy history of <env>, newest first
 *   npm run rollback -- <env> [--to <tag>]    start .github/workflows/rollback.yml for the tag
 *   npm run rollback -- <env> --dry-run       the tag it would choose, and nothing else
 *
 * Without --to the tag is the one deployed before the current one (scripts/deploy/deploy-history.ts).
 * The rollback itself runs in the workflow, so prod's reviewers approve it, the deploy is locked
 * and recorded like any other. The rollback workflow calls this with --github-output to choose
 * its tag with the same rules.
 *
 * Needs a GitHub token (GITHUB_TOKEN, GH_TOKEN or `gh auth login`) with deployments: read, and
 * actions: write to start the workflow.
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { validateBootstrap } from '../../config/bootstrap';
import { environments } from '../../config/environments';
import { chooseRollback, historyTable, requireEnvironment, RollbackError } from './deploy-history';
import { GitHubClient, gitHubToken } from './github-deployments';

const USAGE = 'usage: npm run rollback -- <environment> [--to <image tag>] [--list] [--dry-run]';

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      to: { type: 'string' },
      list: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'github-output': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return void process.stdout.write(`${USAGE}\n`);
  if (positionals.length !== 1)
    throw new RollbackError('environment', `give exactly one environment (${environments.map((e) => e.name).join(', ')}). ${USAGE}`);
  const [environment] = positionals;
  const names = environments.map((e) => e.name);
  // Before any API call: a typo in the environment fails here, naming it.
  requireEnvironment(environment, names);

  const bootstrap = validateBootstrap();
  const repository = process.env.GITHUB_REPOSITORY || bootstrap.repository;
  const token = gitHubToken();
  if (!token) throw new Error('no GitHub token: set GITHUB_TOKEN (deployments: read, actions: write) or log in with `gh auth login`');
  const github = new GitHubClient({ repository, token });

  const history = await github.deployHistory(environment);
  const table = historyTable(history, environment);
  process.stderr.write(`Deploy history of ${environment} (${repository}):\n\n${table}\n`);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `### Deploy history of ${environment}\n\n${table}\n`);
  if (values.list) return;

  const choice = chooseRollback({ environment, environments: names, history, to: values.to });
  process.stderr.write(
    `Roll back ${environment}: ${choice.from} -> ${choice.to} (deployed ${choice.record.createdAt}${choice.record.runUrl ? `, ${choice.record.runUrl}` : ''})\n`,
  );

  if (values['github-output']) {
    appendFileSync(values['github-output'], `tag=${choice.to}\nfrom=${choice.from}\n`);
    return;
  }
  if (values['dry-run']) {
    process.stdout.write(`${choice.to}\n`);
    return;
  }
  await github.dispatchRollback(bootstrap.deployBranch, environment, choice.to);
  process.stderr.write(`Started the rollback workflow on ${bootstrap.deployBranch}: https://github.com/${repository}/actions/workflows/rollback.yml\n`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`rollback: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
