/**
 * scripts/deploy/push-image.sh in a scratch git repository, with `aws` and `docker` replaced by
 * stubs that record their arguments and answer like ECR (image missing, or already there).
 * The stubs cannot prove that a real build or push succeeds; they prove which tag the script
 * derives, what it asks docker to build and push, and what it prints to export.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SCRIPT = resolve(__dirname, '../../scripts/deploy/push-image.sh');
const MAIN_YML = readFileSync(resolve(__dirname, '../../.github/workflows/main.yml'), 'utf8').split('\n');
const IMAGE_PATHS_LINE = MAIN_YML.find((l) => l.startsWith('  IMAGE_PATHS: '))!;
const ATTESTS_LINE = MAIN_YML.find((l) => /^ +attests: /.test(l))!;
const REPOSITORY_URL = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/sdp/apps';

function scratchRepo(imagePublished: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'push-image-'));
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
  git('init', '-q');
  git('config', 'user.email', 'test@example.com');
  git('config', 'user.name', 'test');
  mkdirSync(join(dir, '.github/workflows'), { recursive: true });
  writeFileSync(join(dir, '.github/workflows/main.yml'), `env:\n${IMAGE_PATHS_LINE}\njobs:\n${ATTESTS_LINE}\n`);
  mkdirSync(join(dir, 'apps'));
  writeFileSync(join(dir, 'apps/main.ts'), 'export {};\n');
  git('add', '-A');
  git('commit', '-qm', 'apps');
  const appsCommit = git('rev-parse', 'HEAD');
  writeFileSync(join(dir, 'README.md'), 'docs only\n');
  git('add', '-A');
  git('commit', '-qm', 'docs');

  const bin = join(dir, 'stub-bin');
  const calls = join(dir, 'calls.log');
  mkdirSync(bin);
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >> "${calls}"\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub(
    'aws',
    imagePublished
      ? 'exit 0'
      : '[ "$2" = "describe-images" ] && { echo "An error occurred (ImageNotFoundException)" >&2; exit 254; }; [ "$2" = "get-login-password" ] && echo secret; exit 0',
  );
  stub('docker', 'cat > /dev/null; exit 0');
  const run = () =>
    spawnSync('bash', [SCRIPT], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, REPOSITORY_URL, REGISTRY_REGION: 'eu-west-1' },
    });
  return { dir, appsCommit, run, calls: () => readFileSync(calls, 'utf8') };
}

describe('push-image.sh', () => {
  it('tags with the last commit touching the image paths (as CI does), builds both architectures, pushes, and prints the export', () => {
    const repo = scratchRepo(false);
    const res = repo.run();
    expect(res.stderr).toContain(`pushed ${REPOSITORY_URL}:${repo.appsCommit}`);
    expect(res.status).toBe(0);
    expect(res.stdout.trim()).toBe(`export APP_IMAGE_TAG=${repo.appsCommit}`);
    expect(repo.calls()).toContain('docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    expect(repo.calls()).toContain(
      `docker buildx build --platform linux/amd64,linux/arm64 --file apps/Dockerfile --attest ${ATTESTS_LINE.trim().replace('attests: ', '')} --provenance=mode=max --tag ${REPOSITORY_URL}:${repo.appsCommit} --push .`,
    );
  });

  it('does not rebuild a tag the immutable repository already has', () => {
    const repo = scratchRepo(true);
    const res = repo.run();
    expect(res.status).toBe(0);
    expect(res.stdout.trim()).toBe(`export APP_IMAGE_TAG=${repo.appsCommit}`);
    expect(repo.calls()).not.toMatch(/docker buildx build/);
  });

  it('refuses uncommitted changes to what the image is built from', () => {
    const repo = scratchRepo(false);
    writeFileSync(join(repo.dir, 'apps/main.ts'), 'export const changed = 1;\n');
    const res = repo.run();
    expect(res.status).not.toBe(0);
    expect(res.stderr).toMatch(/uncommitted changes in apps .*commit them first/);
    expect(res.stdout).toBe('');
  });
});
