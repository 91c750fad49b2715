import { execFileSync, spawnSync } from 'child_process';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { homedir } from 'os';
import { join } from 'path';
import { Testing } from 'cdktf';
import { parse } from 'yaml';
import { reviewedPlanEnvironment, validateBootstrap } from '../../config/bootstrap';
import { environments } from '../../config/environments';
import { commentMarker } from '../../scripts/ci/plan-summary';
import { ROLLOUT_PROGRESS_DEADLINE_SECONDS } from '../../constructs/stream-app';
import { BootstrapStack, DEPLOY_SESSION_SECONDS } from '../../stacks/bootstrap-stack';

type Json = Record<string, any>;
const ROOT = join(__dirname, '..', '..');
const DIR = join(ROOT, '.github', 'workflows');
const files = readdirSync(DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const raw = Object.fromEntries(files.map((f) => [f, readFileSync(join(DIR, f), 'utf8')]));
const workflows: Record<string, Json> = Object.fromEntries(files.map((f) => [f, parse(raw[f])]));
const ENV_NAMES = environments.map((e) => e.name);

const jobsOf = (file: string): [string, Json][] => Object.entries(workflows[file].jobs ?? {});
const job = (file: string, id: string): Json => {
  const j = workflows[file].jobs?.[id];
  if (!j) throw new Error(`${file} has no job ${id}`);
  return j;
};
const steps = (j: Json): Json[] => j.steps ?? [];
const runs = (j: Json): string =>
  steps(j)
    .map((s) => s.run ?? '')
    .join('\n');
const usesStep = (j: Json, action: string): Json | undefined => steps(j).find((s) => typeof s.uses === 'string' && s.uses.startsWith(`${action}@`));

it('has the five workflows', () => {
  expect(files).toEqual(['deploy-environment.yml', 'drift.yml', 'main.yml', 'pull-request.yml', 'rollback.yml']);
});

describe('supply chain', () => {
  const usesLines = files.flatMap((f) =>
    raw[f]
      .split('\n')
      .filter((l) => /^\s*(-\s+)?uses:/.test(l))
      .map((line) => ({ file: f, line: line.trim() })),
  );

  it('pins every action to a full commit SHA with its release tag in a comment', () => {
    expect(usesLines.length).toBeGreaterThan(20);
    for (const { file, line } of usesLines) {
      if (line.includes('uses: ./')) continue; // this repository's reusable workflows
      expect({ file, line }).toEqual({ file, line: expect.stringMatching(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/) });
    }
  });

  it('uses one version of each action everywhere', () => {
    const versions = new Map<string, Set<string>>();
    for (const { line } of usesLines) {
      const m = /uses: ([^@\s]+)@(\S+ # \S+)/.exec(line);
      if (m) versions.set(m[1], new Set([...(versions.get(m[1]) ?? []), m[2]]));
    }
    for (const [action, pins] of versions) expect({ action, pins: [...pins] }).toEqual({ action, pins: [expect.any(String)] });
  });

  it('never checks out with persisted credentials', () => {
    for (const f of files) {
      for (const [, j] of jobsOf(f)) {
        const checkout = usesStep(j, 'actions/checkout');
        if (checkout) expect(checkout.with?.['persist-credentials']).toBe(false);
      }
    }
  });

  it('never expands event data inside shell scripts (script injection)', () => {
    for (const f of files) for (const [, j] of jobsOf(f)) expect(runs(j)).not.toMatch(/\$\{\{\s*(github\.event|github\.head_ref|inputs\.)/);
  });
});

describe('permissions', () => {
  it('are read-only at the top of every workflow', () => {
    for (const f of files) expect({ f, permissions: workflows[f].permissions }).toEqual({ f, permissions: { contents: 'read' } });
  });

  /** Jobs that may hold each write scope, and why. */
  const allowed: Record<string, string[]> = {
    'id-token': [
      'pull-request.yml#plan',
      'main.yml#image',
      'main.yml#deploy-dev',
      'main.yml#deploy-staging',
      'main.yml#deploy-prod',
      'deploy-environment.yml#plan',
      'deploy-environment.yml#apply',
      'drift.yml#drift',
      'rollback.yml#deploy',
    ],
    'pull-requests': ['pull-request.yml#plan'],
    issues: ['drift.yml#drift'],
    // The deploy history (scripts/deploy/record-deploy.ts); callers of the reusable workflow must grant it.
    deployments: ['deploy-environment.yml#apply', 'main.yml#deploy-dev', 'main.yml#deploy-staging', 'main.yml#deploy-prod', 'rollback.yml#deploy'],
  };

  it('grant write scopes only to the jobs that need them', () => {
    const granted: Record<string, string[]> = { 'id-token': [], 'pull-requests': [], issues: [], deployments: [] };
    for (const f of files) {
      for (const [id, j] of jobsOf(f)) {
        expect(j.permissions === undefined || typeof j.permissions === 'object').toBe(true);
        for (const [scope, level] of Object.entries<string>(j.permissions ?? {})) {
          if (level === 'read') continue;
          expect(level).toBe('write');
          expect(Object.keys(granted)).toContain(scope);
          granted[scope].push(`${f}#${id}`);
        }
      }
    }
    for (const scope of Object.keys(allowed)) expect(granted[scope].sort()).toEqual(allowed[scope].sort());
  });

  it('assume AWS roles only in jobs granted an OIDC token, and never with stored keys', () => {
    for (const f of files) {
      for (const [id, j] of jobsOf(f)) {
        const creds = usesStep(j, 'aws-actions/configure-aws-credentials');
        if (!creds) continue;
        expect({ job: `${f}#${id}`, token: j.permissions?.['id-token'] }).toEqual({ job: `${f}#${id}`, token: 'write' });
        expect(Object.keys(creds.with).sort()).toEqual(expect.arrayContaining(['aws-region', 'role-to-assume']));
        expect(creds.with).not.toHaveProperty('aws-access-key-id');
      }
    }
  });
});

describe('pull requests', () => {
  const wf = workflows['pull-request.yml'];
  const test = job('pull-request.yml', 'test');
  const plan = job('pull-request.yml', 'plan');

  it('run on pull requests to main, superseding older runs of the same PR', () => {
    expect(wf.on).toEqual({ pull_request: { branches: ['main'] } });
    expect(wf.concurrency).toEqual({ group: 'pull-request-${{ github.event.pull_request.number }}', 'cancel-in-progress': true });
  });

  it('install, test and synthesize, caching npm', () => {
    expect(
      steps(test)
        .map((s) => s.run)
        .filter(Boolean),
    ).toEqual(expect.arrayContaining(['npm ci', 'npm test', 'npm run synth']));
    expect(runs(test).indexOf('npm ci')).toBeLessThan(runs(test).indexOf('npm test'));
    expect(runs(test).indexOf('npm test')).toBeLessThan(runs(test).indexOf('npm run synth'));
    expect(usesStep(test, 'actions/setup-node')?.with.cache).toBe('npm');
  });

  it('plan the environments with reviewed plans only in their GitHub plan environment (required reviewers)', () => {
    const bootstrapEnvs = validateBootstrap().accounts.flatMap((a) => a.environments);
    const reviewedInWorkflow = Object.fromEntries((plan.strategy.matrix.include as Json[]).map((i) => [i.environment, i['reviewed-plan-environment']]));
    expect(plan.environment).toBe('${{ matrix.reviewed-plan-environment }}');
    for (const env of bootstrapEnvs) {
      expect({ env: env.name, githubEnvironment: reviewedInWorkflow[env.name] }).toEqual({
        env: env.name,
        githubEnvironment: env.reviewedPlans ? reviewedPlanEnvironment(env.name) : undefined,
      });
    }
    expect(bootstrapEnvs.some((e) => e.reviewedPlans)).toBe(true);
  });

  it('plan every environment with its plan role, on the tested synth output, not for forks', () => {
    expect(plan.needs).toBe('test');
    expect(plan.strategy.matrix.environment).toEqual(ENV_NAMES);
    expect(plan.strategy['fail-fast']).toBe(false);
    expect(plan.if).toBe('github.event.pull_request.head.repo.full_name == github.repository');
    expect(usesStep(plan, 'aws-actions/configure-aws-credentials')?.with['role-to-assume']).toBe(
      '${{ fromJSON(vars.SDP_CI_CONFIG).environments[matrix.environment].planRoleArn }}',
    );
    expect(usesStep(plan, 'actions/download-artifact')?.with.name).toBe(usesStep(test, 'actions/upload-artifact')?.with.name);
    expect(runs(plan)).toContain('plan -input=false -lock=false -out=tfplan');
    expect(runs(plan)).toContain('show -json tfplan > plan.json');
    expect(runs(plan)).toContain('scripts/ci/plan-summary.ts --env "$ENVIRONMENT"');
  });

  it('keep one sticky comment per environment, found by the marker plan-summary writes first', () => {
    const post = usesStep(plan, 'actions/github-script')!;
    expect(post.if).toBe("always() && steps.render.outcome == 'success'");
    const script: string = post.with.script;
    const pattern = /\/(\^<!-- plan-summary:[^/]+)\//.exec(script)![1];
    for (const env of ENV_NAMES) expect(commentMarker(env)).toMatch(new RegExp(pattern));
    expect(script).toContain("c.user?.login === 'github-actions[bot]' && c.body?.startsWith(marker)");
    expect(script).toContain('updateComment');
    expect(script).toContain('createComment');
  });
});

describe('main', () => {
  const wf = workflows['main.yml'];

  it('runs on pushes to main', () => {
    expect(wf.on.push).toEqual({ branches: ['main'] });
  });

  it('deploys dev, then staging, then prod, each through the reusable deploy workflow', () => {
    const order = ['deploy-dev', 'deploy-staging', 'deploy-prod'];
    order.forEach((id, i) => {
      const j = job('main.yml', id);
      expect(j.uses).toBe('./.github/workflows/deploy-environment.yml');
      expect(j.with).toEqual({ environment: ENV_NAMES[i], 'image-tag': '${{ needs.image.outputs.tag }}' });
      expect([j.needs].flat()).toEqual(i === 0 ? ['image'] : ['image', order[i - 1]]);
    });
    expect(ENV_NAMES).toEqual(['dev', 'staging', 'prod']);
  });

  it('publishes the app image to ECR only when a commit changed what it is built from', () => {
    const image = job('main.yml', 'image');
    expect(image.needs).toBe('test');
    expect(image.outputs.tag).toBe('${{ steps.tag.outputs.tag }}');
    expect(runs(image)).toContain('git log -1 --format=%H -- "${paths[@]}"');
    expect(usesStep(image, 'actions/checkout')?.with['fetch-depth']).toBe(0);
    const build = steps(image).find((s) => s.uses?.startsWith('docker/build-push-action@') && s.with.push === true)!;
    expect(build.if).toBe("steps.published.outputs.exists == 'false'");
    expect(build.with).toMatchObject({ file: 'apps/Dockerfile', tags: '${{ steps.published.outputs.image }}' });
    expect(image.concurrency).toEqual({ group: 'app-image', 'cancel-in-progress': false });
  });

  it('derives the image tag from the same paths everywhere, apps/ included', () => {
    const paths = ['pull-request.yml', 'main.yml', 'drift.yml'].map((f) => workflows[f].env.IMAGE_PATHS);
    expect(new Set(paths).size).toBe(1);
    expect(paths[0].split(' ')).toContain('apps');
  });
});

describe('deploy-environment (reusable)', () => {
  const wf = workflows['deploy-environment.yml'];
  const apply = job('deploy-environment.yml', 'apply');

  it('is called with the environment and the image tag, which the synth reads as APP_IMAGE_TAG', () => {
    expect(Object.keys(wf.on)).toEqual(['workflow_call']);
    expect(Object.keys(wf.on.workflow_call.inputs)).toEqual(['environment', 'image-tag', 'rolled-back-from']);
    expect(wf.on.workflow_call.inputs['rolled-back-from']).toMatchObject({ required: false, default: '' });
    expect(wf.env.APP_IMAGE_TAG).toBe('${{ inputs.image-tag }}');
    expect(runs(apply)).toContain('npm run synth');
  });

  it('applies inside the GitHub environment (prod: required reviewers) and never overlaps a deploy of it', () => {
    expect(apply.environment).toBe('${{ inputs.environment }}');
    expect(apply.concurrency).toEqual({ group: 'deploy-${{ inputs.environment }}', 'cancel-in-progress': false });
    expect(apply.needs).toBe('plan');
  });

  it('applies exactly the plan it just made, with the deploy role, within the role session', () => {
    const creds = usesStep(apply, 'aws-actions/configure-aws-credentials')!;
    expect(creds.with['role-to-assume']).toBe('${{ fromJSON(vars.SDP_CI_CONFIG).environments[inputs.environment].deployRoleArn }}');
    expect(creds.with['role-duration-seconds']).toBeLessThanOrEqual(DEPLOY_SESSION_SECONDS);
    expect(apply['timeout-minutes'] * 60).toBeLessThan(DEPLOY_SESSION_SECONDS);
    expect(runs(apply)).toContain('apply -input=false -lock-timeout=10m tfplan');
  });

  it('shows reviewers the plan before the environment gate, using the read-only role', () => {
    const plan = job('deploy-environment.yml', 'plan');
    expect(plan.environment).toBeUndefined();
    expect(usesStep(plan, 'aws-actions/configure-aws-credentials')?.with['role-to-assume']).toContain('.planRoleArn');
    expect(runs(plan)).toContain('>> "$GITHUB_STEP_SUMMARY"');
  });
});

describe('drift detection', () => {
  const wf = workflows['drift.yml'];
  const drift = job('drift.yml', 'drift');

  it('runs on a schedule over every environment', () => {
    expect(wf.on.schedule).toEqual([{ cron: expect.stringMatching(/^\S+ \S+ \S+ \S+ \S+$/) }]);
    expect(drift.strategy.matrix.environment).toEqual(ENV_NAMES);
  });

  it('plans with -detailed-exitcode and treats 2 as drift, anything but 0 and 2 as failure', () => {
    expect(runs(drift)).toContain('-detailed-exitcode');
    expect(runs(drift)).toContain('[ "$code" -eq 0 ] || [ "$code" -eq 2 ]');
    const issue = usesStep(drift, 'actions/github-script')!;
    expect(issue.if).toBe("steps.plan.outputs.exitcode == '0' || steps.plan.outputs.exitcode == '2'");
    expect(issue.with.script).toContain("process.env.EXIT_CODE === '2'");
    expect(issue.with.script).toContain("state: 'closed'");
    expect(issue.with.script).toContain('github.rest.issues.create(');
  });
});

describe('terraform in CI', () => {
  const terraformJobs = files.flatMap((f) =>
    jobsOf(f)
      .filter(([, j]) => /terraform -chdir/.test(runs(j)))
      .map(([id, j]) => ({ id: `${f}#${id}`, j })),
  );

  it('plans with the read-only plan role without the state lock, and locks only to apply', () => {
    const planRoleJobs = terraformJobs.filter(({ j }) =>
      /\.planRoleArn/.test(usesStep(j, 'aws-actions/configure-aws-credentials')?.with['role-to-assume'] ?? ''),
    );
    expect(planRoleJobs.map((t) => t.id)).toEqual(['deploy-environment.yml#plan', 'drift.yml#drift', 'pull-request.yml#plan']);
    for (const { id, j } of terraformJobs) {
      const plans = runs(j)
        .split('\n')
        .filter((l) => /terraform -chdir="\$STACK_DIR" (plan|apply)/.test(l));
      expect(plans.length).toBeGreaterThan(0);
      const readOnly = planRoleJobs.some((p) => p.id === id);
      for (const line of plans) expect({ id, line, lockFree: line.includes('-lock=false') }).toEqual({ id, line, lockFree: readOnly });
    }
  });

  it('pins Terraform, disables the output wrapper and caches providers', () => {
    expect(terraformJobs.map((t) => t.id)).toEqual(['deploy-environment.yml#plan', 'deploy-environment.yml#apply', 'drift.yml#drift', 'pull-request.yml#plan']);
    for (const { id, j } of terraformJobs) {
      const setup = usesStep(j, 'hashicorp/setup-terraform');
      expect({ id, with: setup?.with }).toEqual({ id, with: { terraform_version: '${{ env.TERRAFORM_VERSION }}', terraform_wrapper: false } });
      expect(runs(j)).toContain('TF_PLUGIN_CACHE_DIR=$HOME/.terraform.d/plugin-cache');
      expect(usesStep(j, 'actions/cache')?.with.path).toBe('~/.terraform.d/plugin-cache');
      expect(runs(j)).toContain('-backend-config="kms_key_id=$STATE_KMS_KEY_ARN"');
    }
  });

  it('reads only keys of SDP_CI_CONFIG that the bootstrap stack outputs', () => {
    const tf = JSON.parse(Testing.synth(new BootstrapStack(Testing.app(), 'bootstrap', { config: validateBootstrap() })));
    const output = tf.output.github_actions_config.value;
    const paths = new Set<string>();
    for (const text of Object.values(raw)) {
      for (const m of text.matchAll(/fromJSON\(vars\.SDP_CI_CONFIG\)((?:\.[\w-]+|\[[^\]]+\])+)/g)) paths.add(m[1]);
    }
    expect(paths.size).toBeGreaterThanOrEqual(6);
    for (const path of paths) {
      const segments = [...path.matchAll(/\.([\w-]+)|\[([^\]]+)\]/g)].map((s) => s[1] ?? '*');
      const resolve = (value: unknown, rest: string[]): boolean => {
        if (rest.length === 0) return value !== undefined;
        if (value === null || typeof value !== 'object') return false;
        const [head, ...tail] = rest;
        const v = value as Json;
        return head === '*' ? ENV_NAMES.every((env) => resolve(v[env], tail)) : resolve(v[head], tail);
      };
      expect({ path, found: resolve(output, segments) }).toEqual({ path, found: true });
    }
  });
});

describe('node', () => {
  const dockerfile = readFileSync(join(ROOT, 'apps', 'Dockerfile'), 'utf8');
  const libSh = readFileSync(join(ROOT, 'scripts', 'lib.sh'), 'utf8');

  it("runs every workflow on the image's Node major, which npm test also runs the apps' unit tests on", () => {
    const stages = [...dockerfile.matchAll(/^FROM node:(\d+)-bookworm-slim AS \w+$/gm)].map((m) => m[1]);
    const runtime = /^FROM gcr\.io\/distroless\/nodejs(\d+)-debian12:nonroot$/m.exec(dockerfile)?.[1];
    expect(stages).toEqual(['24', '24']);
    expect(runtime).toBe('24');
    for (const f of files) expect({ f, node: workflows[f].env?.NODE_VERSION }).toEqual({ f, node: runtime });
    expect(/^NODE24_VERSION=(\d+)\.\d+\.\d+$/m.exec(libSh)?.[1]).toBe(runtime);
  });
});

describe('image scanning and SBOM', () => {
  const image = job('main.yml', 'image');
  const trivySteps = files.flatMap((f) =>
    jobsOf(f).flatMap(([id, j]) =>
      steps(j)
        .filter((s) => s.uses?.startsWith('aquasecurity/trivy-action@'))
        .map((s) => ({ id: `${f}#${id}`, s })),
    ),
  );
  const indexOf = (j: Json, pred: (s: Json) => boolean) => steps(j).findIndex(pred);

  it('scans the image and the lockfile with the same pinned trivy and the same gate', () => {
    expect(trivySteps.map((t) => t.id)).toEqual(['main.yml#image', 'pull-request.yml#dependency-scan']);
    expect(workflows['main.yml'].env.TRIVY_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(workflows['pull-request.yml'].env.TRIVY_VERSION).toBe(workflows['main.yml'].env.TRIVY_VERSION);
    for (const { id, s } of trivySteps) {
      expect({ id, with: s.with }).toEqual({
        id,
        with: expect.objectContaining({
          version: '${{ env.TRIVY_VERSION }}',
          scanners: 'vuln',
          severity: 'HIGH,CRITICAL',
          'ignore-unfixed': true,
          'exit-code': '1',
        }),
      });
      // The YAML ignore file goes in by name: the action's trivyignores input would flatten it.
      expect({ id, ignoreFile: s.env?.TRIVY_IGNOREFILE, trivyignores: s.with.trivyignores }).toEqual({
        id,
        ignoreFile: '.trivyignore.yaml',
        trivyignores: undefined,
      });
    }
    expect(existsSync(join(ROOT, '.trivyignore.yaml'))).toBe(true);
  });

  it('scans the lockfile on every pull request', () => {
    const scan = trivySteps.find((t) => t.id === 'pull-request.yml#dependency-scan')!.s;
    expect(scan.with).toMatchObject({ 'scan-type': 'fs', 'scan-ref': 'package-lock.json' });
  });

  it('scans the image before anything is pushed, since a pushed tag is never built again', () => {
    const scanBuild = indexOf(image, (s) => s.uses?.startsWith('docker/build-push-action@') && s.with.load === true);
    const scan = indexOf(image, (s) => s.uses?.startsWith('aquasecurity/trivy-action@'));
    const push = indexOf(image, (s) => s.uses?.startsWith('docker/build-push-action@') && s.with.push === true);
    expect(scanBuild).toBeGreaterThan(-1);
    expect(scanBuild).toBeLessThan(scan);
    expect(scan).toBeLessThan(push);
    const [built, scanned, pushed] = [scanBuild, scan, push].map((i) => steps(image)[i]);
    expect(built.with).toMatchObject({ push: false, platforms: 'linux/amd64', context: pushed.with.context, file: pushed.with.file });
    expect(scanned.with).toMatchObject({ 'scan-type': 'image', 'image-ref': built.with.tags });
    for (const s of [built, scanned, pushed]) expect(s.if).toBe("steps.published.outputs.exists == 'false'");
  });

  it('pushes both architectures with an SBOM from a generator pinned by digest, and provenance', () => {
    const push = steps(image).find((s) => s.uses?.startsWith('docker/build-push-action@') && s.with.push === true)!;
    expect(push.with.platforms).toBe('linux/amd64,linux/arm64');
    expect(push.with.attests).toMatch(/^type=sbom,generator=docker\.io\/docker\/buildkit-syft-scanner:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
    expect(push.with.provenance).toBe('mode=max');
    expect(usesStep(image, 'docker/setup-qemu-action')?.if).toBe("steps.published.outputs.exists == 'false'");
  });
});

describe('rollback', () => {
  const wf = workflows['rollback.yml'];
  const select = job('rollback.yml', 'select');
  const deploy = job('rollback.yml', 'deploy');

  it('is started by hand for one environment, with an optional tag (default: the one before the current)', () => {
    expect(Object.keys(wf.on)).toEqual(['workflow_dispatch']);
    const { environment, 'image-tag': tag } = wf.on.workflow_dispatch.inputs;
    expect(environment).toMatchObject({ type: 'choice', options: ENV_NAMES, required: true });
    expect(tag).toMatchObject({ type: 'string', required: false, default: '' });
  });

  it('chooses the tag from the deploy history with the same code as npm run rollback, from main only', () => {
    expect(select.if).toBe("github.ref == 'refs/heads/main'");
    expect(select.permissions).toEqual({ contents: 'read', deployments: 'read' });
    const choose = steps(select).find((s) => s.id === 'choose')!;
    expect(choose.run).toBe('npx tsx scripts/deploy/rollback.ts "$ENVIRONMENT" ${TO:+--to "$TO"} --github-output "$GITHUB_OUTPUT"');
    expect(choose.env).toMatchObject({ ENVIRONMENT: '${{ inputs.environment }}', TO: '${{ inputs.image-tag }}', GITHUB_TOKEN: '${{ github.token }}' });
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.rollback).toBe('node --import tsx scripts/deploy/rollback.ts');
    expect(select.outputs).toEqual({ tag: '${{ steps.choose.outputs.tag }}', from: '${{ steps.choose.outputs.from }}' });
  });

  it('deploys the chosen tag through the reusable deploy workflow, recording what it rolled back from', () => {
    expect(deploy.needs).toBe('select');
    expect(deploy.uses).toBe('./.github/workflows/deploy-environment.yml');
    expect(deploy.with).toEqual({
      environment: '${{ inputs.environment }}',
      'image-tag': '${{ needs.select.outputs.tag }}',
      'rolled-back-from': '${{ needs.select.outputs.from }}',
    });
  });
});

describe('deploy history and safe rollouts', () => {
  const apply = job('deploy-environment.yml', 'apply');
  const index = (pred: (s: Json) => boolean) => steps(apply).findIndex(pred);
  const byId = (id: string) => steps(apply).find((s) => s.id === id)!;
  const applyStep = index((s) => s.name === 'Terraform apply');

  it('records the deploy before the apply and its outcome whatever happens', () => {
    const record = byId('record');
    expect(index((s) => s.id === 'record')).toBeLessThan(applyStep);
    expect(record.run).toContain('scripts/deploy/record-deploy.ts start --env "$ENVIRONMENT" --tag "$APP_IMAGE_TAG"');
    expect(record.run).toContain('${ROLLED_BACK_FROM:+--rolled-back-from "$ROLLED_BACK_FROM"}');
    expect(record.env.ROLLED_BACK_FROM).toBe('${{ inputs.rolled-back-from }}');
    const finish = steps(apply).at(-1)!;
    expect(finish.if).toBe("always() && steps.record.outputs.id != ''");
    expect(finish.run).toContain('record-deploy.ts finish --id "$DEPLOY_ID" --state "$state"');
    expect(finish.env.JOB_STATUS).toBe('${{ job.status }}');
  });

  it('reads the tag running now from the state before applying, and waits for the rollout after', () => {
    expect(byId('running').run).toContain('terraform -chdir="$STACK_DIR" output -raw app_image_tag');
    expect(index((s) => s.id === 'running')).toBeLessThan(applyStep);
    expect(index((s) => s.id === 'rollout')).toBe(applyStep + 1);
    expect(byId('rollout').run).toBe('bash scripts/deploy/wait-for-rollout.sh "$(terraform -chdir="$STACK_DIR" output -raw eks_cluster_name)"');
  });

  it('waits longer than the progress deadline, so the Deployment decides when a rollout failed', () => {
    const timeout = /^(\d+)m$/.exec(workflows['deploy-environment.yml'].env.ROLLOUT_TIMEOUT);
    expect(timeout).not.toBeNull();
    expect(Number(timeout![1]) * 60).toBeGreaterThan(ROLLOUT_PROGRESS_DEADLINE_SECONDS);
  });

  it('applies the tag that ran before when the rollout fails, and waits for that rollout too', () => {
    const rollback = byId('rollback');
    expect(rollback.if).toBe(
      "failure() && steps.rollout.outcome == 'failure' && steps.running.outputs.tag != '' && steps.running.outputs.tag != inputs.image-tag",
    );
    expect(rollback.env.APP_IMAGE_TAG).toBe('${{ steps.running.outputs.tag }}');
    const lines = (rollback.run as string).trim().split('\n').slice(1);
    expect(lines).toEqual([
      'npm run synth',
      'terraform -chdir="$STACK_DIR" plan -input=false -lock-timeout=10m -out=rollback.tfplan',
      'terraform -chdir="$STACK_DIR" apply -input=false -lock-timeout=10m rollback.tfplan',
      byId('rollout').run,
    ]);
  });
});

describe('actionlint', () => {
  const cached = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'streaming-data-platform', 'bin', 'actionlint');
  const canBuild = existsSync(cached) || spawnSync('go', ['version']).status === 0;
  if (!canBuild) console.warn('actionlint: skipped, neither a cached binary nor a Go toolchain to build it (scripts/ci/install-actionlint.sh)');

  (canBuild ? it : it.skip)(
    'finds nothing wrong in the workflows',
    () => {
      const bin = execFileSync('bash', [join(ROOT, 'scripts', 'ci', 'install-actionlint.sh')], { encoding: 'utf8' }).trim();
      const result = spawnSync(bin, ['-no-color', ...files.map((f) => join(DIR, f))], { cwd: ROOT, encoding: 'utf8' });
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    },
    300_000,
  );
});

describe('runners', () => {
  // Hosted runners cannot reach a private API endpoint: every job that assumes an environment's
  // plan or deploy role runs where SDP_CI_CONFIG says that environment is reachable from.
  const environmentJobs = files.flatMap((f) =>
    jobsOf(f)
      .filter(([, j]) => steps(j).some((s) => /\.environments\[[^\]]+\]\.(plan|deploy)RoleArn/.test(String(s.with?.['role-to-assume'] ?? ''))))
      .map(([id, j]) => ({ file: f, id, runsOn: j['runs-on'] })),
  );

  it("runs every job that touches an environment on that environment's runners", () => {
    expect(environmentJobs.length).toBeGreaterThanOrEqual(4);
    for (const { file, id, runsOn } of environmentJobs) {
      expect({ file, id, runsOn }).toEqual({
        file,
        id,
        runsOn: expect.stringMatching(
          /^\$\{\{ vars\.SDP_CI_CONFIG && fromJSON\(vars\.SDP_CI_CONFIG\)\.environments\[(inputs|matrix)\.environment\]\.runsOn \|\| 'ubuntu-24\.04' \}\}$/,
        ),
      });
    }
  });
});
