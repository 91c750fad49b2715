/**
 * Environment stacks: each is synthesized from its config and checked for what distinguishes
 * it. Expectations come from the config objects, so changing a size in config/ keeps these true.
 */
import { App, Testing } from 'cdktf';
import { dev, prod, staging, validateEnvironment, EnvironmentConfig } from '../../config';
import { validateBootstrap } from '../../config/bootstrap';
import { buildApp, deliveryFor } from '../../main';
import { PlatformStack } from '../../stacks/platform-stack';

type Synth = { resource: Record<string, Record<string, any>>; terraform: any; output: Record<string, any> };

const synthEnv = (config: EnvironmentConfig): Synth => {
  const app = Testing.app();
  return JSON.parse(Testing.synth(new PlatformStack(app, { config, delivery: deliveryFor(validateBootstrap(), config.name) })));
};
const all = (s: Synth, type: string): any[] => Object.values(s.resource[type] ?? {});
const one = (s: Synth, type: string): any => {
  const xs = all(s, type);
  expect(xs).toHaveLength(1);
  return xs[0];
};
const serverProperties = (s: Synth) =>
  Object.fromEntries(
    String(one(s, 'aws_msk_configuration').server_properties)
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => l.split('=', 2)),
  );

const DATA_STORES = ['aws_msk_cluster', 'aws_keyspaces_keyspace', 'aws_keyspaces_table', 'aws_s3_bucket', 'aws_kms_key', 'aws_eks_cluster'];

describe('environment stacks', () => {
  const cfg = { dev: validateEnvironment(dev), staging: validateEnvironment(staging), prod: validateEnvironment(prod) };
  const out = { dev: synthEnv(cfg.dev), staging: synthEnv(cfg.staging), prod: synthEnv(cfg.prod) };

  it('has stacks whose ids are exactly the environment names (cdktf deploy staging)', () => {
    const app = buildApp(Testing.app() as App);
    const ids = app.node.children.filter((c) => c instanceof PlatformStack).map((c) => c.node.id);
    expect(ids).toEqual(['dev', 'staging', 'prod']);
    expect(app.node.children.map((c) => c.node.id)).toContain('bootstrap');
  });

  it.each(['dev', 'staging', 'prod'] as const)('%s keeps state in S3, encrypted and locked, keyed by stack', (env) => {
    expect(out[env].terraform.backend.s3).toEqual({
      bucket: cfg[env].state.bucket,
      key: `${env}/terraform.tfstate`,
      region: cfg[env].state.region,
      encrypt: true,
      kms_key_id: expect.stringMatching(/^arn:aws:kms:eu-west-1:\d{12}:alias\/sdp-terraform-state$/),
      use_lockfile: true,
    });
  });

  it.each(['dev', 'staging', 'prod'] as const)('%s declares every platform component', (env) => {
    for (const type of [
      'aws_vpc', 'aws_flow_log', 'aws_default_security_group', 'aws_vpc_endpoint',
      'aws_msk_cluster', 'aws_msk_configuration', 'aws_appautoscaling_policy',
      'aws_eks_cluster', 'aws_eks_node_group', 'aws_eks_addon',
      'aws_keyspaces_keyspace', 'aws_keyspaces_table',
      'aws_s3_bucket', 'aws_glue_catalog_table', 'aws_athena_workgroup',
      'aws_sns_topic', 'aws_cloudwatch_metric_alarm', 'aws_cloudwatch_dashboard',
      'helm_release', 'kubernetes_deployment_v1', 'kubernetes_job_v1',
    ]) {
      expect([env, type, all(out[env], type).length > 0]).toEqual([env, type, true]);
    }
  });

  it.each(['dev', 'staging', 'prod'] as const)('%s spreads subnets, NAT and brokers as configured', (env) => {
    const c = cfg[env];
    const azs = c.network.availabilityZones.length;
    const subnets = all(out[env], 'aws_subnet');
    expect(new Set(subnets.map((s) => s.availability_zone))).toEqual(new Set(c.network.availabilityZones));
    expect(subnets).toHaveLength(2 * azs);
    expect(all(out[env], 'aws_nat_gateway')).toHaveLength(c.network.natGateways === 'per-az' ? azs : 1);
    const msk = one(out[env], 'aws_msk_cluster');
    expect(msk.number_of_broker_nodes).toBe(c.kafka.brokerCount);
    expect(msk.broker_node_group_info.instance_type).toBe(c.kafka.instanceType);
    expect(serverProperties(out[env])).toMatchObject({
      'default.replication.factor': String(c.kafka.replicationFactor),
      'min.insync.replicas': String(c.kafka.minInsyncReplicas),
      'unclean.leader.election.enable': 'false',
      'auto.create.topics.enable': 'false',
    });
  });

  it('prod is resilient: 3 AZs, NAT per AZ, RF 3, min ISR 2, on-demand nodes, PITR, prevent_destroy on every data store', () => {
    const p = out.prod;
    expect(new Set(all(p, 'aws_subnet').map((s) => s.availability_zone)).size).toBe(3);
    expect(all(p, 'aws_nat_gateway')).toHaveLength(3);
    expect(serverProperties(p)).toMatchObject({ 'default.replication.factor': '3', 'min.insync.replicas': '2' });
    expect(all(p, 'aws_eks_node_group').every((g) => g.capacity_type === 'ON_DEMAND')).toBe(true);
    for (const t of all(p, 'aws_keyspaces_table')) expect(t.point_in_time_recovery).toEqual({ status: 'ENABLED' });
    for (const type of DATA_STORES) {
      for (const r of all(p, type)) expect([type, r.lifecycle?.prevent_destroy]).toEqual([type, true]);
    }
    expect(one(p, 'aws_eks_cluster').deletion_protection).toBe(true);
    for (const b of all(p, 'aws_s3_bucket')) expect(b.force_destroy).not.toBe(true);
  });

  it('dev does not pay for prod features: 2 AZs, one NAT, spot nodes, no PITR, no prevent_destroy, short retention', () => {
    const d = out.dev;
    expect(new Set(all(d, 'aws_subnet').map((s) => s.availability_zone)).size).toBe(2);
    expect(all(d, 'aws_nat_gateway')).toHaveLength(1);
    expect(all(d, 'aws_eks_node_group').every((g) => g.capacity_type === 'SPOT')).toBe(true);
    expect(one(d, 'aws_msk_cluster').broker_node_group_info.instance_type).toMatch(/^kafka\.t3\./);
    for (const t of all(d, 'aws_keyspaces_table')) expect(t.point_in_time_recovery?.status).not.toBe('ENABLED');
    for (const type of DATA_STORES) {
      for (const r of all(d, type)) expect([type, r.lifecycle?.prevent_destroy ?? false]).toEqual([type, false]);
    }
    expect(Number(serverProperties(d)['log.retention.hours'])).toBeLessThan(Number(serverProperties(out.prod)['log.retention.hours']));
  });

  it('outputs identifiers only, never credentials', () => {
    for (const env of ['dev', 'staging', 'prod'] as const) {
      const outputs = out[env].output;
      expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['kafka_bootstrap_brokers_iam', 'kafka_cluster_arn']));
      for (const [name, o] of Object.entries(outputs)) {
        expect([name, /password|secret|token|key_id|access_key/i.test(name + JSON.stringify(o.value))]).toEqual([name, false]);
      }
    }
  });

  it('fails synth with the environment and field named when config is invalid', () => {
    const bad = { ...staging, kafka: { ...staging.kafka, brokerCount: 4 } };
    expect(() => validateEnvironment(bad)).toThrow(/\[staging\] kafka\.brokerCount: 4 is not a multiple of the AZ count \(3\)/);
  });
});
