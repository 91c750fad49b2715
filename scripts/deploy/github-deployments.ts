/**
 * Reads and writes the deploy history (./deploy-history.ts) through GitHub's REST API, and
 * dispatches the rollback workflow. Plain fetch: the workflows and a laptop need nothing but a token.
 */
import { execFileSync } from 'node:child_process';
import { DEPLOY_TASK, DeployPayload, DeployRecord, recordFromGitHub } from './deploy-history';

export interface GitHubClientOptions {
  /** `owner/name`. */
  readonly repository: string;
  readonly token: string;
  /** @default GITHUB_API_URL, else https://api.github.com */
  readonly apiUrl?: string;
  /** @default the global fetch */
  readonly fetch?: typeof fetch;
}

/** What the token needs for each call, for the error message of a 403 or 404. */
const NEEDS = { read: 'deployments: read', write: 'deployments: write', dispatch: 'actions: write' } as const;

export class GitHubClient {
  private readonly apiUrl: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: GitHubClientOptions) {
    this.apiUrl = (options.apiUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/$/, '');
    this.fetch = options.fetch ?? fetch;
  }

  /** The app deploys of an environment, newest first, each with its latest status. */
  async deployHistory(environment: string, limit = 50): Promise<DeployRecord[]> {
    const query = new URLSearchParams({ environment, task: DEPLOY_TASK, per_page: String(Math.min(limit, 100)) });
    const deployments = (await this.call('GET', `deployments?${query}`, NEEDS.read)) as unknown[];
    return Promise.all(
      deployments.slice(0, limit).map(async (d) => {
        const [latest] = (await this.call('GET', `deployments/${(d as { id: number }).id}/statuses?per_page=1`, NEEDS.read)) as unknown[];
        return recordFromGitHub(d, latest);
      }),
    );
  }

  /** Records a deploy as in progress; returns its deployment id. */
  async startDeploy(deploy: { environment: string; ref: string; production: boolean; payload: DeployPayload }): Promise<number> {
    const { payload } = deploy;
    const created = (await this.call(
      'POST',
      'deployments',
      NEEDS.write,
      {
        ref: deploy.ref,
        task: DEPLOY_TASK,
        environment: deploy.environment,
        payload,
        description: payload.rolledBackFrom ? `Roll back the apps to ${payload.imageTag}` : `Apps on ${payload.imageTag}`,
        // The tests ran before; the deployment only records what is applied.
        auto_merge: false,
        required_contexts: [],
        production_environment: deploy.production,
      },
      201,
    )) as { id: number };
    await this.setState(created.id, 'in_progress', 'Applying', payload.runUrl);
    return created.id;
  }

  /** The outcome of a recorded deploy; older records keep their own state (no auto-inactive). */
  async setState(id: number, state: 'in_progress' | 'success' | 'failure', description: string, runUrl?: string): Promise<void> {
    await this.call(
      'POST',
      `deployments/${id}/statuses`,
      NEEDS.write,
      { state, description: description.slice(0, 140), log_url: runUrl, auto_inactive: false },
      201,
    );
  }

  /** Starts .github/workflows/rollback.yml on `ref`. */
  async dispatchRollback(ref: string, environment: string, imageTag: string): Promise<void> {
    await this.call('POST', 'actions/workflows/rollback.yml/dispatches', NEEDS.dispatch, { ref, inputs: { environment, 'image-tag': imageTag } }, 204);
  }

  private async call(method: 'GET' | 'POST', path: string, needs: string, body?: unknown, expect = 200): Promise<unknown> {
    const url = `${this.apiUrl}/repos/${this.options.repository}/${path}`;
    const res = await this.fetch(url, {
      method,
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${this.options.token}`,
        'x-github-api-version': '2022-11-28',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== expect) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not JSON: keep the text
      }
      const hint = res.status === 401 || res.status === 403 || res.status === 404 ? ` (the token needs ${needs} on ${this.options.repository})` : '';
      throw new Error(`GitHub API ${method} ${path.split('?')[0]}: ${res.status} ${message}${hint}`);
    }
    return text ? JSON.parse(text) : undefined;
  }
}

/** GITHUB_TOKEN or GH_TOKEN, else the GitHub CLI's login; undefined when there is neither. */
export function gitHubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.GITHUB_TOKEN || env.GH_TOKEN;
  if (fromEnv) return fromEnv;
  try {
    return execFileSync('gh', ['auth', 'token'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}
