/**
 * Writes the deploy history (./deploy-history.ts) from the apply job of
 * .github/workflows/deploy-environment.yml:
 *
 *   record-deploy.ts start --env <env> --tag <image tag> --ref <git ref> --run-url <url>
 *                          [--rolled-back-from <tag>] --github-output <file>     (writes id=<deployment id>)
 *   record-deploy.ts finish --id <deployment id> --state success|failure --description <text> --run-url <url>
 *
 * Needs GITHUB_TOKEN (deployments: write) and GITHUB_REPOSITORY, as Actions sets them.
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { environments } from '../../config/environments';
import { imageTagSchema } from '../../config/schema';
import { deployPayloadSchema, requireEnvironment } from './deploy-history';
import { GitHubClient } from './github-deployments';

function required(values: Record<string, string | undefined>, name: string): string {
  const value = values[name];
  if (!value) throw new Error(`--${name} is required`);
  return value;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      env: { type: 'string' },
      tag: { type: 'string' },
      ref: { type: 'string' },
      'run-url': { type: 'string' },
      'rolled-back-from': { type: 'string' },
      'github-output': { type: 'string' },
      id: { type: 'string' },
      state: { type: 'string' },
      description: { type: 'string' },
    },
  });
  const { GITHUB_TOKEN: token, GITHUB_REPOSITORY: repository } = process.env;
  if (!token || !repository) throw new Error('GITHUB_TOKEN and GITHUB_REPOSITORY must be set (as in GitHub Actions)');
  const github = new GitHubClient({ repository, token });

  if (command === 'start') {
    const environment = required(values, 'env');
    requireEnvironment(
      environment,
      environments.map((e) => e.name),
    );
    const tag = imageTagSchema.safeParse(required(values, 'tag'));
    if (!tag.success) {
      const { message } = tag.error.issues[0];
      throw new Error(`--tag: ${message.includes(`'${values.tag}'`) ? message : `'${values.tag}' ${message}`}`);
    }
    const payload = deployPayloadSchema.parse({ imageTag: tag.data, rolledBackFrom: values['rolled-back-from'] || undefined, runUrl: values['run-url'] });
    const production = environments.find((e) => e.name === environment)!.tier === 'production';
    const id = await github.startDeploy({ environment, ref: required(values, 'ref'), production, payload });
    appendFileSync(required(values, 'github-output'), `id=${id}\n`);
    process.stderr.write(`record-deploy: deployment ${id} of ${environment} on ${tag.data} in progress\n`);
  } else if (command === 'finish') {
    const id = Number(required(values, 'id'));
    if (!Number.isInteger(id) || id <= 0) throw new Error(`--id: '${values.id}' is not a deployment id`);
    const state = required(values, 'state');
    if (state !== 'success' && state !== 'failure') throw new Error(`--state: '${state}' must be success or failure`);
    await github.setState(id, state, required(values, 'description'), values['run-url']);
    process.stderr.write(`record-deploy: deployment ${id}: ${state}\n`);
  } else {
    throw new Error(`unknown command '${command ?? ''}': start or finish`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`record-deploy: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
