/**
 * The app image registry in the bootstrap: scanned continuously (Amazon Inspector), tags that
 * never move (a rollback to a tag gets exactly the image that tag was tested as), and only in
 * the account that hosts the repository.
 */
import { App, Testing } from 'cdktf';
import { bootstrap, BootstrapConfigInput, validateBootstrap } from '../../config/bootstrap';
import { environments } from '../../config/environments';
import { EnvironmentConfigInput } from '../../config/schema';
import { BootstrapStack, bootstrapStacks } from '../../stacks/bootstrap-stack';

type Json = Record<string, any>;
const synth = (stack: BootstrapStack): Json => JSON.parse(Testing.synth(stack));
const resources = (tf: Json, type: string): Json[] => Object.values(tf.resource?.[type] ?? {});

describe('app image registry', () => {
  const config = validateBootstrap();
  const tf = synth(new BootstrapStack(Testing.app(), 'bootstrap', { config }));

  it('turns on enhanced scanning: the app repository continuously, every other repository on push', () => {
    const scanning = resources(tf, 'aws_ecr_registry_scanning_configuration');
    expect(scanning).toHaveLength(1);
    expect(scanning[0].scan_type).toBe('ENHANCED');
    expect(scanning[0].rule).toEqual([
      { scan_frequency: 'CONTINUOUS_SCAN', repository_filter: [{ filter: config.image.repositoryName, filter_type: 'WILDCARD' }] },
      { scan_frequency: 'SCAN_ON_PUSH', repository_filter: [{ filter: '*', filter_type: 'WILDCARD' }] },
    ]);
  });

  it('scans the repository the workflows push to, whose tags are immutable', () => {
    const [repo] = resources(tf, 'aws_ecr_repository');
    expect(config.image.repositoryUrl.endsWith(`/${repo.name}`)).toBe(true);
    expect(repo.name).toBe(config.image.repositoryName);
    expect(repo.image_tag_mutability).toBe('IMMUTABLE');
  });

  it('configures scanning only in the account that hosts the repository (one configuration per registry)', () => {
    const envs: EnvironmentConfigInput[] = environments.map((e) =>
      e.name === 'prod' ? { ...e, state: { bucket: 'sdp-prod-terraform-state', region: e.state.region } } : e,
    );
    const input: BootstrapConfigInput = { ...bootstrap, accounts: { dev: '111111111111', staging: '111111111111', prod: '222222222222' } };
    const stacks = bootstrapStacks(new App({ outdir: Testing.app().outdir }), validateBootstrap(input, envs));
    const counts = stacks.map((s) => {
      const t = synth(s);
      return [resources(t, 'aws_ecr_repository').length, resources(t, 'aws_ecr_registry_scanning_configuration').length];
    });
    expect(counts).toEqual([
      [1, 1],
      [0, 0],
    ]);
  });
});
