/**
 * The schema the mock provider serves is read out of the cdktf bindings; these facts come from the
 * providers' documentation (registry.terraform.io/providers/hashicorp/<name>/<version>/docs), so a
 * misreading of the generated code shows up as a disagreement with the docs.
 */
import { bindingVersion, providerBlockSchema, typeSchema } from '../../scripts/terraform/extract-schema';

describe('schema extracted from the cdktf bindings', () => {
  const msk = typeSchema('aws', 'aws_msk_cluster', false);

  test('aws_msk_cluster: documented arguments, attributes and blocks', () => {
    expect(msk.attributes.arn).toEqual({ type: 'string', computed: true });
    expect(msk.attributes.bootstrap_brokers_sasl_iam).toEqual({ type: 'string', computed: true });
    expect(msk.attributes.kafka_version).toEqual({ type: 'string', required: true });
    expect(msk.attributes.number_of_broker_nodes).toEqual({ type: 'number', required: true });
    expect(msk.attributes.tags).toEqual({ type: ['map', 'string'], optional: true, computed: true });
    expect(msk.attributes.broker_node_group_info).toBeUndefined();
    const brokers = msk.block_types.broker_node_group_info;
    expect(brokers).toMatchObject({ nesting_mode: 'list', min_items: 1, max_items: 1 });
    expect(brokers.block.attributes.client_subnets).toEqual({ type: ['set', 'string'], required: true });
    expect(brokers.block.attributes.instance_type).toEqual({ type: 'string', required: true });
    expect(msk.block_types.encryption_info).toMatchObject({ nesting_mode: 'list', max_items: 1 });
    expect(msk.block_types.encryption_info.min_items).toBeUndefined();
  });

  test('aws_eks_cluster: computed nested attributes keep their object types', () => {
    const eks = typeSchema('aws', 'aws_eks_cluster', false);
    expect(eks.attributes.certificate_authority).toEqual({ type: ['list', ['object', { data: 'string' }]], computed: true });
    expect(eks.attributes.identity).toEqual({
      type: ['list', ['object', { oidc: ['list', ['object', { issuer: 'string' }]] }]],
      computed: true,
    });
    expect(eks.attributes.endpoint).toEqual({ type: 'string', computed: true });
    expect(eks.block_types.vpc_config).toMatchObject({ nesting_mode: 'list', min_items: 1, max_items: 1 });
    expect(eks.block_types.vpc_config.block.attributes.subnet_ids).toEqual({ type: ['set', 'string'], required: true });
  });

  test('data sources: aws_caller_identity and aws_eks_addon_version', () => {
    const caller = typeSchema('aws', 'aws_caller_identity', true);
    expect(caller.attributes.account_id).toEqual({ type: 'string', computed: true });
    const addon = typeSchema('aws', 'aws_eks_addon_version', true);
    expect(addon.attributes.addon_name).toEqual({ type: 'string', required: true });
    expect(addon.attributes.kubernetes_version).toEqual({ type: 'string', required: true });
    expect(addon.attributes.version).toEqual({ type: 'string', computed: true });
  });

  test('kubernetes_deployment_v1: metadata and spec are required single blocks, nested deeply', () => {
    const deployment = typeSchema('kubernetes', 'kubernetes_deployment_v1', false);
    expect(deployment.block_types.metadata).toMatchObject({ nesting_mode: 'list', min_items: 1, max_items: 1 });
    expect(deployment.block_types.metadata.block.attributes.uid).toEqual({ type: 'string', computed: true });
    const podSpec = deployment.block_types.spec.block.block_types.template.block.block_types.spec.block;
    expect(podSpec.block_types.container).toMatchObject({ nesting_mode: 'list' });
    expect(podSpec.block_types.container.max_items).toBeUndefined();
    expect(podSpec.block_types.container.block.attributes.image).toEqual({ type: 'string', optional: true, computed: true });
  });

  test('helm_release and the helm provider', () => {
    const release = typeSchema('helm', 'helm_release', false);
    expect(release.attributes.name).toEqual({ type: 'string', required: true });
    expect(release.attributes.chart).toEqual({ type: 'string', required: true });
    expect(release.attributes.values).toEqual({ type: ['list', 'string'], optional: true, computed: true });
    expect(Object.keys(release.block_types.set.block.attributes).sort()).toEqual(['name', 'type', 'value']);
    expect(providerBlockSchema('helm').block_types.kubernetes.nesting_mode).toBe('single');
  });

  test('the mock is served as the provider version the bindings were generated from', () => {
    expect(bindingVersion('aws')).toMatch(/^6\.\d+\.\d+$/);
    expect(bindingVersion('kubernetes')).toMatch(/^2\.\d+\.\d+$/);
    expect(bindingVersion('helm')).toMatch(/^3\.\d+\.\d+$/);
  });
});
