import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { ContainerRegistry, ContainerRegistryProps } from '../../constructs/container-registry';
import { trustPolicy } from '../../constructs/iam';

type Resources = Record<string, Record<string, any>>;
const repositoryNames = ['sdp/validator', 'sdp/aggregator', 'sdp/lake-sink'];

function build(props: Partial<ContainerRegistryProps> = {}, wire?: (registry: ContainerRegistry, role: IamRole) => void) {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const registry = new ContainerRegistry(stack, 'registry', { name: 'sdp-test', repositoryNames, ...props });
  if (wire) {
    const role = new IamRole(stack, 'ci', {
      name: 'ci',
      assumeRolePolicy: trustPolicy([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]),
    });
    wire(registry, role);
  }
  const r: Resources = JSON.parse(Testing.synth(stack)).resource;
  const repos = Object.entries(r.aws_ecr_repository).map(([key, repo]) => ({ key, ...repo }));
  const policies = Object.values(r.aws_iam_role_policy ?? {}).map((p: any) => JSON.parse(p.policy).Statement as any[]);
  return { r, registry, repos, policies };
}

const arnOf = (repos: { key: string; name: string }[], name: string) => `\${aws_ecr_repository.${repos.find((r) => r.name === name)!.key}.arn}`;

describe('ContainerRegistry', () => {
  test('one immutable, scanned, KMS-encrypted repository per name', () => {
    const { repos, r } = build();
    expect(repos.map((x) => x.name).sort()).toEqual([...repositoryNames].sort());
    for (const repo of repos) {
      expect(repo.image_tag_mutability).toBe('IMMUTABLE');
      expect(repo.image_scanning_configuration).toEqual({ scan_on_push: true });
      expect(repo.encryption_configuration).toEqual([{ encryption_type: 'KMS', kms_key: expect.stringMatching(/^\$\{aws_kms_key\..+\.arn\}$/) }]);
      expect(repo.force_delete).toBe(false);
      expect(repo.lifecycle).toBeUndefined();
    }
    expect(Object.values(r.aws_kms_key)).toEqual([expect.objectContaining({ enable_key_rotation: true })]);
  });

  test('lifecycle policy expires untagged images and keeps the last N tagged', () => {
    const { r, repos } = build({ keepLastTaggedImages: 12, expireUntaggedAfterDays: 3 });
    const policies = Object.values(r.aws_ecr_lifecycle_policy);
    expect(policies).toHaveLength(repos.length);
    expect(policies.map((p: any) => p.repository).sort()).toEqual(repos.map((x) => `\${aws_ecr_repository.${x.key}.name}`).sort());
    const rules = JSON.parse(policies[0].policy).rules;
    expect(rules).toEqual([
      expect.objectContaining({
        selection: expect.objectContaining({ tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 3 }),
        action: { type: 'expire' },
      }),
      expect.objectContaining({
        selection: expect.objectContaining({ tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 12 }),
        action: { type: 'expire' },
      }),
    ]);
  });

  test('defaults keep 30 tagged images and expire untagged after 7 days', () => {
    const rules = JSON.parse((Object.values(build().r.aws_ecr_lifecycle_policy)[0] as any).policy).rules;
    expect(rules.map((x: any) => x.selection.countNumber)).toEqual([7, 30]);
  });

  test('protection: preventDestroy and forceDelete', () => {
    const { repos } = build({ preventDestroy: true, forceDelete: true });
    for (const repo of repos) {
      expect(repo.lifecycle).toEqual({ prevent_destroy: true });
      expect(repo.force_delete).toBe(true);
    }
  });

  test('grantPull: exact repository ARNs; `*` only for the registry auth token', () => {
    const { policies, repos } = build({}, (registry, role) => registry.grantPull(role, ['sdp/validator']));
    const [statements] = policies;
    for (const s of statements) {
      if ([s.Resource].flat().includes('*')) expect(s.Action).toBe('ecr:GetAuthorizationToken');
    }
    const pull = statements.find((s) => s.Sid === 'PullImages');
    expect(pull.Resource).toEqual([arnOf(repos, 'sdp/validator')]);
    expect(pull.Action).toEqual(expect.arrayContaining(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']));
    expect(pull.Action).not.toContain('ecr:PutImage');
  });

  test('grantPush defaults to every repository and adds the upload actions', () => {
    const { policies, repos } = build({}, (registry, role) => registry.grantPush(role));
    const push = policies[0].find((s) => s.Sid === 'PushImages');
    expect(push.Resource.sort()).toEqual(repositoryNames.map((n) => arnOf(repos, n)).sort());
    expect(push.Action).toEqual(expect.arrayContaining(['ecr:PutImage', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload']));
    expect(push.Action.some((a: string) => a.endsWith(':*'))).toBe(false);
  });

  test('repositoryUrl and repositoryArn look up by name and reject unknown names', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'test');
    const registry = new ContainerRegistry(stack, 'registry', { name: 'sdp-test', repositoryNames });
    new TerraformOutput(stack, 'url', { value: registry.repositoryUrl('sdp/validator') });
    new TerraformOutput(stack, 'arn', { value: registry.repositoryArn('sdp/aggregator') });
    const json = JSON.parse(Testing.synth(stack));
    const key = (name: string) => Object.entries<any>(json.resource.aws_ecr_repository).find(([, r]) => r.name === name)![0];
    expect(json.output.url.value).toBe(`\${aws_ecr_repository.${key('sdp/validator')}.repository_url}`);
    expect(json.output.arn.value).toBe(`\${aws_ecr_repository.${key('sdp/aggregator')}.arn}`);
    expect(() => registry.repositoryArn('nope')).toThrow(/unknown repository 'nope'/);
    expect(() => build({}, (reg, role) => reg.grantPull(role, ['nope']))).toThrow(/grantPull: unknown repository/);
  });

  test('rejects invalid props naming the field', () => {
    expect(() => build({ repositoryNames: ['Bad_Name'] })).toThrow(/repositoryNames\[0\]/);
    expect(() => build({ repositoryNames: ['a1', 'a1'] })).toThrow(/repositoryNames\[1\]: 'a1' is listed twice/);
    expect(() => build({ keepLastTaggedImages: 0 })).toThrow(/keepLastTaggedImages/);
  });
});
