/**
 * `npm run rollback` (scripts/deploy/rollback.ts) and the workflows' scripts/deploy/record-deploy.ts
 * run as processes against a local stand-in for GitHub's deployments API (GITHUB_API_URL): what
 * they read, what they write, and what they refuse. The stand-in answers like the API documents;
 * it cannot prove GitHub accepts the calls, which only a workflow run shows.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEPLOY_TASK } from '../../scripts/deploy/deploy-history';

// Each case starts tsx processes: generous on a loaded machine.
jest.setTimeout(180_000);

const ROOT = resolve(__dirname, '..', '..');
const REPO = 'acme/sdp';
const TOKEN = 'test-token';

interface Deployment {
  id: number;
  environment: string;
  task: string;
  sha: string;
  created_at: string;
  creator: { login: string };
  payload: Record<string, unknown>;
  statuses: { state: string; description?: string; log_url?: string; auto_inactive?: boolean }[];
}
interface Request {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: any;
}

/** GitHub's deployments API for one repository, in memory. */
class FakeGitHub {
  readonly requests: Request[] = [];
  readonly deployments: Deployment[] = [];
  private server!: Server;
  url = '';

  add(environment: string, imageTag: string, state: string, minute: number, extra: Record<string, unknown> = {}): void {
    this.deployments.push({
      id: this.deployments.length + 1,
      environment,
      task: DEPLOY_TASK,
      sha: 'abc',
      created_at: new Date(Date.UTC(2026, 10, 1, 12, minute)).toISOString(),
      creator: { login: 'github-actions[bot]' },
      payload: { imageTag, runUrl: `https://github.com/${REPO}/actions/runs/${minute}`, ...extra },
      statuses: [{ state }],
    });
  }

  async start(): Promise<void> {
    this.server = createServer(
      (req, res) => void this.handle(req).then(([status, body]) => res.writeHead(status).end(body === undefined ? '' : JSON.stringify(body))),
    );
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((done) => this.server.close(() => done()));
  }

  private async handle(req: IncomingMessage): Promise<[number, unknown?]> {
    const url = new URL(req.url!, 'http://x');
    let text = '';
    for await (const chunk of req) text += chunk;
    const request: Request = {
      method: req.method!,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: text ? JSON.parse(text) : undefined,
    };
    this.requests.push(request);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return [401, { message: 'Bad credentials' }];
    const base = `/repos/${REPO}`;
    const statuses = new RegExp(`^${base}/deployments/(\\d+)/statuses$`).exec(url.pathname);
    if (req.method === 'GET' && url.pathname === `${base}/deployments`) {
      const { environment, task } = request.query;
      const found = this.deployments.filter((d) => d.environment === environment && d.task === task).reverse();
      return [200, found.map(({ statuses: _, ...d }) => d)];
    }
    if (statuses) {
      const d = this.deployments.find((x) => x.id === Number(statuses[1]));
      if (!d) return [404, { message: 'Not Found' }];
      if (req.method === 'GET') return [200, [...d.statuses].reverse()];
      d.statuses.push(request.body);
      return [201, { id: 1 }];
    }
    if (req.method === 'POST' && url.pathname === `${base}/deployments`) {
      const b = request.body;
      this.deployments.push({
        id: this.deployments.length + 1,
        ...b,
        sha: 'def',
        created_at: new Date().toISOString(),
        creator: { login: 'bot' },
        statuses: [],
      });
      return [201, { id: this.deployments.length }];
    }
    if (req.method === 'POST' && url.pathname === `${base}/actions/workflows/rollback.yml/dispatches`) return [204];
    return [404, { message: 'Not Found' }];
  }
}

function run(script: string, args: string[], github: FakeGitHub, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'scripts', 'deploy', script), ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_API_URL: github.url, GITHUB_REPOSITORY: REPO, GITHUB_TOKEN: TOKEN, ...env },
        timeout: 120_000,
      },
      (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('rollback and record-deploy against the deployments API', () => {
  const github = new FakeGitHub();
  beforeAll(() => github.start());
  afterAll(() => github.stop());
  beforeEach(() => {
    github.requests.length = 0;
    github.deployments.length = 0;
    github.add('prod', 'v1', 'success', 1);
    github.add('prod', 'v2', 'success', 2);
    github.add('staging', 's1', 'success', 3);
    github.add('prod', 'v3', 'success', 4);
  });
  const dispatches = () => github.requests.filter((r) => r.path.endsWith('/dispatches'));

  it('--list prints the history of the environment, newest first, and changes nothing', async () => {
    const res = await run('rollback.ts', ['prod', '--list'], github);
    expect(res.code).toBe(0);
    const rows = res.stderr.split('\n').filter((l) => l.startsWith('| 2026'));
    expect(rows.map((r) => /`([^`]+)`/.exec(r)![1])).toEqual(['v3', 'v2', 'v1']);
    expect(github.requests[0].query).toEqual({ environment: 'prod', task: DEPLOY_TASK, per_page: '50' });
    expect(github.requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('starts the rollback workflow on main for the previous tag', async () => {
    const res = await run('rollback.ts', ['prod'], github);
    expect(res.stderr).toContain('Roll back prod: v3 -> v2');
    expect(res.code).toBe(0);
    expect(dispatches().map((r) => r.body)).toEqual([{ ref: 'main', inputs: { environment: 'prod', 'image-tag': 'v2' } }]);
  });

  it('--dry-run prints the chosen tag and starts nothing; --to picks an older one', async () => {
    const res = await run('rollback.ts', ['prod', '--to', 'v1', '--dry-run'], github);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('v1\n');
    expect(dispatches()).toEqual([]);
  });

  it('writes the choice and the history for the workflow with --github-output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollback-'));
    const [output, summary] = [join(dir, 'output'), join(dir, 'summary')];
    writeFileSync(output, '');
    const res = await run('rollback.ts', ['prod', '--github-output', output], github, { GITHUB_STEP_SUMMARY: summary });
    expect(res.code).toBe(0);
    expect(readFileSync(output, 'utf8')).toBe('tag=v2\nfrom=v3\n');
    expect(readFileSync(summary, 'utf8')).toMatch(/^### Deploy history of prod\n\n\| deployed \(UTC\)/);
    expect(dispatches()).toEqual([]);
  });

  it('refuses an unknown environment before calling GitHub, and a tag outside the history', async () => {
    const unknown = await run('rollback.ts', ['prd'], github);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("rollback: environment: 'prd' is not an environment; environments are dev, staging, prod\n");
    expect(github.requests).toEqual([]);
    const outside = await run('rollback.ts', ['prod', '--to', 's1'], github);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain("rollback: to: 's1' was never deployed successfully to prod");
    expect(dispatches()).toEqual([]);
  });

  it('says which permission a refused token lacks', async () => {
    const res = await run('rollback.ts', ['prod', '--list'], github, { GITHUB_TOKEN: 'wrong' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('GitHub API GET deployments: 401 Bad credentials (the token needs deployments: read on acme/sdp)');
  });

  it('records a rollback deploy in progress, then its outcome, without touching older records', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'record-'));
    const output = join(dir, 'output');
    writeFileSync(output, '');
    const url = `https://github.com/${REPO}/actions/runs/77`;
    const start = await run(
      'record-deploy.ts',
      ['start', '--env', 'prod', '--tag', 'v2', '--ref', 'main', '--run-url', url, '--rolled-back-from', 'v3', '--github-output', output],
      github,
    );
    expect(start.stderr).toContain('deployment 5 of prod on v2 in progress');
    expect(start.code).toBe(0);
    expect(readFileSync(output, 'utf8')).toBe('id=5\n');
    const created = github.requests.find((r) => r.method === 'POST' && r.path.endsWith('/deployments'))!;
    expect(created.body).toEqual({
      ref: 'main',
      task: DEPLOY_TASK,
      environment: 'prod',
      payload: { imageTag: 'v2', rolledBackFrom: 'v3', runUrl: url },
      description: 'Roll back the apps to v2',
      auto_merge: false,
      required_contexts: [],
      production_environment: true,
    });
    const finish = await run('record-deploy.ts', ['finish', '--id', '5', '--state', 'success', '--description', 'Rolled out', '--run-url', url], github);
    expect(finish.code).toBe(0);
    expect(github.deployments[4].statuses).toEqual([
      { state: 'in_progress', description: 'Applying', log_url: url, auto_inactive: false },
      { state: 'success', description: 'Rolled out', log_url: url, auto_inactive: false },
    ]);

    // The recorded rollback is now the history's head: the next rollback skips v3 and v2.
    const next = await run('rollback.ts', ['prod', '--dry-run'], github);
    expect(next.stdout).toBe('v1\n');
  });

  it('refuses a bad record before calling GitHub', async () => {
    const res = await run(
      'record-deploy.ts',
      ['start', '--env', 'prod', '--tag', 'placeholder-set-APP_IMAGE_TAG', '--ref', 'main', '--github-output', '/dev/null'],
      github,
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toBe("record-deploy: --tag: 'placeholder-set-APP_IMAGE_TAG' is reserved for synth without an image; give a published tag\n");
    const state = await run('record-deploy.ts', ['finish', '--id', '1', '--state', 'done', '--description', 'x'], github);
    expect(state.stderr).toBe("record-deploy: --state: 'done' must be success or failure\n");
    expect(github.requests).toEqual([]);
  });
});
