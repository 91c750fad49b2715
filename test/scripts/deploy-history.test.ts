import { environments, PLACEHOLDER_IMAGE_TAG } from '../../config';
import { chooseRollback, currentTag, DEPLOY_TASK, DeployRecord, historyTable, recordFromGitHub, RollbackError } from '../../scripts/deploy/deploy-history';

const ENVS = environments.map((e) => e.name);
let nextId = 1;
/** Records oldest first, one minute apart, like successive deploys. */
function history(...entries: [tag: string, state: DeployRecord['state'], rolledBackFrom?: string][]): DeployRecord[] {
  return entries.map(([imageTag, state, rolledBackFrom], i) => ({
    id: nextId++,
    environment: 'prod',
    imageTag,
    rolledBackFrom,
    sha: 'c0ffee',
    createdAt: new Date(Date.UTC(2026, 10, 1, 12, i)).toISOString(),
    state,
    runUrl: `https://github.com/acme/sdp/actions/runs/${i}`,
  }));
}
const choose = (h: DeployRecord[], to?: string, environment = 'prod') => chooseRollback({ environment, environments: ENVS, history: h, to });
const failure = (fn: () => unknown): RollbackError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof RollbackError) return err;
    throw err;
  }
  throw new Error('expected a RollbackError');
};

describe('chooseRollback', () => {
  it('picks the tag deployed before the current one', () => {
    const choice = choose(history(['v1', 'success'], ['v2', 'success'], ['v3', 'success']));
    expect(choice).toMatchObject({ environment: 'prod', from: 'v3', to: 'v2' });
    expect(choice.record.imageTag).toBe('v2');
  });

  it('ignores the order it is given the records in: newest is by creation time', () => {
    const h = history(['v1', 'success'], ['v2', 'success'], ['v3', 'success']).reverse();
    expect(choose(h)).toMatchObject({ from: 'v3', to: 'v2' });
  });

  it("takes a failed deploy's previous tag as current, since the workflow rolled it back", () => {
    expect(choose(history(['v1', 'success'], ['v2', 'success'], ['v3', 'failure']))).toMatchObject({ from: 'v2', to: 'v1' });
  });

  it('counts inactive (an older success GitHub superseded) as deployed, and skips failures, repeats and the placeholder', () => {
    const h = history(['v1', 'inactive'], [PLACEHOLDER_IMAGE_TAG, 'success'], ['v2', 'failure'], ['v3', 'inactive'], ['v3', 'success']);
    expect(choose(h)).toMatchObject({ from: 'v3', to: 'v1' });
  });

  it('goes further back on a second rollback instead of returning to the tag it rolled back from', () => {
    const once = history(['v1', 'success'], ['v2', 'success'], ['v3', 'success'], ['v2', 'success', 'v3']);
    expect(choose(once)).toMatchObject({ from: 'v2', to: 'v1' });
  });

  it('takes an explicit tag that the environment ran before', () => {
    expect(choose(history(['v1', 'success'], ['v2', 'success'], ['v3', 'success']), 'v1')).toMatchObject({ from: 'v3', to: 'v1' });
  });

  it.each([
    ['a tag never deployed', 'v9', /^to: 'v9' was never deployed successfully to prod; its deployed tags are v3, v2, v1$/],
    ['a tag whose deploy failed', 'v4', /^to: 'v4' was never deployed successfully/],
    ['the tag running now', 'v3', /^to: 'v3' is what prod runs now$/],
    ['the synth placeholder', PLACEHOLDER_IMAGE_TAG, /^to: 'placeholder-set-APP_IMAGE_TAG' is the synth placeholder, not an image/],
    ['a malformed tag', 'not a tag', /^to: 'not a tag' must be a valid image tag$/],
  ])('refuses %s, naming the field', (_, to, message) => {
    const err = failure(() => choose(history(['v1', 'success'], ['v2', 'success'], ['v4', 'failure'], ['v3', 'success']), to));
    expect(err.field).toBe('to');
    expect(err.message).toMatch(message);
  });

  it('refuses an unknown environment, naming the field and the known ones', () => {
    const err = failure(() => choose(history(['v1', 'success'], ['v2', 'success']), undefined, 'prd'));
    expect(err.field).toBe('environment');
    expect(err.message).toBe(`environment: 'prd' is not an environment; environments are ${ENVS.join(', ')}`);
  });

  it('refuses when nothing was deployed, or nothing before the current tag', () => {
    expect(failure(() => choose(history(['v1', 'failure']))).message).toBe(
      'environment: no successful deploy of prod is recorded, so there is nothing to roll back',
    );
    expect(failure(() => choose(history(['v1', 'success'], ['v1', 'success']))).message).toMatch(/^to: the deploy history of prod has no tag before 'v1'/);
  });

  it("reads only the environment's own records", () => {
    const h = [
      ...history(['v1', 'success'], ['v2', 'success']),
      { ...history(['s9', 'success'])[0], environment: 'staging', createdAt: '2027-01-01T00:00:00Z' },
    ];
    expect(choose(h)).toMatchObject({ from: 'v2', to: 'v1' });
    expect(currentTag(h, 'staging')).toBe('s9');
  });
});

describe('recordFromGitHub', () => {
  const deployment = {
    id: 42,
    environment: 'prod',
    task: DEPLOY_TASK,
    sha: 'abc123',
    created_at: '2026-11-30T10:00:00Z',
    creator: { login: 'github-actions[bot]' },
    payload: { imageTag: 'v7', rolledBackFrom: 'v8', runUrl: 'https://github.com/acme/sdp/actions/runs/9' },
  };

  it('takes the tag from the payload and the state from the latest status', () => {
    expect(recordFromGitHub(deployment, { state: 'success', log_url: 'https://x' })).toEqual({
      id: 42,
      environment: 'prod',
      imageTag: 'v7',
      rolledBackFrom: 'v8',
      sha: 'abc123',
      createdAt: '2026-11-30T10:00:00Z',
      creator: 'github-actions[bot]',
      state: 'success',
      runUrl: 'https://github.com/acme/sdp/actions/runs/9',
    });
  });

  it('reads a payload GitHub returns as a JSON string, and a deployment without a status as unknown', () => {
    const r = recordFromGitHub({ ...deployment, payload: JSON.stringify({ imageTag: 'v7' }) }, undefined);
    expect(r).toMatchObject({ imageTag: 'v7', state: 'unknown', rolledBackFrom: undefined });
  });

  it('refuses records that are not app deploys, naming the deployment', () => {
    expect(() => recordFromGitHub({ ...deployment, task: 'deploy' }, undefined)).toThrow("GitHub deployment 42 (prod): task is 'deploy', not 'deploy:apps'");
    expect(() => recordFromGitHub({ ...deployment, payload: {} }, undefined)).toThrow(/^GitHub deployment 42 \(prod\): payload imageTag: /);
    expect(() => recordFromGitHub({ ...deployment, payload: 'not json' }, undefined)).toThrow('GitHub deployment 42 (prod): payload is not JSON: not json');
  });
});

describe('historyTable', () => {
  it('lists the deploys newest first and marks the one running now and the rollbacks', () => {
    const lines = historyTable(history(['v1', 'success'], ['v2', 'success', 'v3'], ['v4', 'failure']), 'prod')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[2]).toMatch(/^\| 2026-11-01 12:02:00 \| failure \| `v4` \| {2}\| https:\/\/github\.com\/acme\/sdp\/actions\/runs\/2 \|$/);
    expect(lines[3]).toContain('| success | `v2` | running now; rollback from v3 |');
    expect(lines[4]).toContain('| success | `v1` |  |');
  });

  it('says when there is no history yet', () => {
    expect(historyTable([], 'dev')).toBe('No deploys of dev recorded yet.\n');
  });
});
