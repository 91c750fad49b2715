/**
 * The deploy history of an environment's apps, and the choice of the image tag to roll back to.
 *
 * The history is the repository's GitHub deployments with task `deploy:apps`: the apply job of
 * .github/workflows/deploy-environment.yml records one per apply, with the app image tag in its
 * payload and its outcome as the latest status. It shows on the repository's Environments page and
 * with `npm run rollback -- <env> --list`. This module is pure: scripts/deploy/github-deployments.ts
 * reads and writes the records.
 */
import { z } from 'zod';
import { imageTagSchema, PLACEHOLDER_IMAGE_TAG } from '../../config/schema';

/** The GitHub deployment task of app deploys; GitHub's own deployments of environment jobs use `deploy`. */
export const DEPLOY_TASK = 'deploy:apps';

/** GitHub deployment status states, and `unknown` for a deployment without a status. */
export const DEPLOY_STATES = ['success', 'failure', 'error', 'in_progress', 'queued', 'pending', 'inactive', 'unknown'] as const;
export type DeployState = (typeof DEPLOY_STATES)[number];

export interface DeployRecord {
  /** GitHub deployment id. */
  readonly id: number;
  readonly environment: string;
  readonly imageTag: string;
  /** Set on a rollback: the tag it replaced. */
  readonly rolledBackFrom?: string;
  /** Commit of the workflow run that deployed it (its infrastructure code). */
  readonly sha: string;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly creator?: string;
  /** The latest status. */
  readonly state: DeployState;
  /** The workflow run that applied it. */
  readonly runUrl?: string;
}

/** What deploy-environment.yml stores in a deployment's payload. */
export const deployPayloadSchema = z
  .object({
    imageTag: z.string().min(1),
    rolledBackFrom: z.string().min(1).optional(),
    runUrl: z.string().url().optional(),
  })
  .strict();
export type DeployPayload = z.infer<typeof deployPayloadSchema>;

const gitHubDeployment = z.object({
  id: z.number().int(),
  environment: z.string(),
  task: z.string(),
  sha: z.string(),
  created_at: z.string(),
  creator: z.object({ login: z.string() }).nullable().optional(),
  // GitHub returns the payload as it was given: an object, or a JSON string.
  payload: z.union([z.record(z.string(), z.unknown()), z.string()]),
});
const gitHubStatus = z.object({ state: z.enum(DEPLOY_STATES), log_url: z.string().optional() });

/** A rollback that cannot be chosen: `field` is the input at fault (`environment` or `to`). */
export class RollbackError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'RollbackError';
  }
}

/** One record from a GitHub deployment and its latest status (GitHub lists statuses newest first). */
export function recordFromGitHub(deployment: unknown, latestStatus: unknown): DeployRecord {
  const d = gitHubDeployment.parse(deployment);
  const where = `GitHub deployment ${d.id} (${d.environment})`;
  if (d.task !== DEPLOY_TASK) throw new Error(`${where}: task is '${d.task}', not '${DEPLOY_TASK}'`);
  let raw: unknown = d.payload;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      throw new Error(`${where}: payload is not JSON: ${d.payload}`);
    }
  }
  const payload = deployPayloadSchema.safeParse(raw);
  if (!payload.success) throw new Error(`${where}: payload ${payload.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ')}`);
  const status = latestStatus === undefined ? undefined : gitHubStatus.parse(latestStatus);
  return {
    id: d.id,
    environment: d.environment,
    imageTag: payload.data.imageTag,
    rolledBackFrom: payload.data.rolledBackFrom,
    sha: d.sha,
    createdAt: d.created_at,
    creator: d.creator?.login,
    state: status?.state ?? 'unknown',
    runUrl: payload.data.runUrl ?? status?.log_url,
  };
}

/** The apps ran on this tag: GitHub turns an older success into `inactive` when a newer one succeeds. */
export const succeeded = (r: DeployRecord): boolean => r.state === 'success' || r.state === 'inactive';

const newestFirst = (history: readonly DeployRecord[], environment: string): DeployRecord[] =>
  history.filter((r) => r.environment === environment).sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id);

/** The tag the environment runs: that of its latest successful deploy (a failed one was rolled back). */
export function currentTag(history: readonly DeployRecord[], environment: string): string | undefined {
  return newestFirst(history, environment).find(succeeded)?.imageTag;
}

export function requireEnvironment(environment: string, environments: readonly string[]): void {
  if (!environments.includes(environment)) {
    throw new RollbackError('environment', `'${environment}' is not an environment; environments are ${environments.join(', ')}`);
  }
}

export interface RollbackChoice {
  readonly environment: string;
  /** The tag running now. */
  readonly from: string;
  readonly to: string;
  /** The deploy that last ran `to` successfully. */
  readonly record: DeployRecord;
}

export interface ChooseRollbackOptions {
  readonly environment: string;
  /** Every environment name (config/environments.ts). */
  readonly environments: readonly string[];
  readonly history: readonly DeployRecord[];
  /** An explicit tag; it must have been deployed successfully to the environment before. */
  readonly to?: string;
}

/**
 * The tag to roll back to: the explicit one, or the last successfully deployed tag before the
 * current one that no rollback has already moved away from (so rolling back twice goes further
 * back instead of returning to the bad tag).
 */
export function chooseRollback(options: ChooseRollbackOptions): RollbackChoice {
  const { environment, environments, to } = options;
  requireEnvironment(environment, environments);
  const history = newestFirst(options.history, environment);
  const deployed = history.filter(succeeded);
  const current = deployed[0];
  if (!current) throw new RollbackError('environment', `no successful deploy of ${environment} is recorded, so there is nothing to roll back`);

  if (to !== undefined) {
    if (to === PLACEHOLDER_IMAGE_TAG) throw new RollbackError('to', `'${to}' is the synth placeholder, not an image; give a tag from the deploy history`);
    const valid = imageTagSchema.safeParse(to);
    if (!valid.success) throw new RollbackError('to', `'${to}' ${valid.error.issues[0].message}`);
    if (to === current.imageTag) throw new RollbackError('to', `'${to}' is what ${environment} runs now`);
    const record = deployed.find((r) => r.imageTag === to);
    if (!record) {
      const tags = [...new Set(deployed.map((r) => r.imageTag))];
      throw new RollbackError('to', `'${to}' was never deployed successfully to ${environment}; its deployed tags are ${tags.join(', ')}`);
    }
    return { environment, from: current.imageTag, to, record };
  }

  const rolledAwayFrom = new Set(deployed.flatMap((r) => (r.rolledBackFrom ? [r.rolledBackFrom] : [])));
  const record = deployed.find((r) => r.imageTag !== current.imageTag && r.imageTag !== PLACEHOLDER_IMAGE_TAG && !rolledAwayFrom.has(r.imageTag));
  if (!record) {
    throw new RollbackError('to', `the deploy history of ${environment} has no tag before '${current.imageTag}' to roll back to; give one with --to`);
  }
  return { environment, from: current.imageTag, to: record.imageTag, record };
}

/** The history as a Markdown table, newest first: readable in a terminal and in a job summary. */
export function historyTable(history: readonly DeployRecord[], environment: string): string {
  const rows = newestFirst(history, environment);
  if (rows.length === 0) return `No deploys of ${environment} recorded yet.\n`;
  const running = rows.find(succeeded);
  const lines = ['| deployed (UTC) | state | image tag | note | run |', '| --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    const notes = [r === running ? 'running now' : '', r.rolledBackFrom ? `rollback from ${r.rolledBackFrom}` : ''].filter(Boolean).join('; ');
    lines.push(`| ${r.createdAt.replace('T', ' ').replace(/(\.\d+)?Z$/, '')} | ${r.state} | \`${r.imageTag}\` | ${notes} | ${r.runUrl ?? ''} |`);
  }
  return `${lines.join('\n')}\n`;
}
