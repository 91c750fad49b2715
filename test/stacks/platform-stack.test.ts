/**
 * Environment stacks: each is synthesized from its config and checked for what distinguishes
 * it. Expectations come from the config objects, so changing a size in config/ keeps these true.
 */
import { App, Testing } from 'cdktf';
import { dev, prod, staging, validateEnvironment, EnvironmentConfig, PLACEHOLDER_IMAGE_TAG } from '../../config';
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
      'aws_vpc',
      'aws_flow_log',
      'aws_default_security_group',
      'aws_vpc_endpoint',
      'aws_msk_cluster',
      'aws_msk_configuration',
      'aws_appautoscaling_policy',
      'aws_eks_cluster',
      'aws_eks_node_group',
      'aws_eks_addon',
      'aws_keyspaces_keyspace',
      'aws_keyspaces_table',
      'aws_s3_bucket',
      'aws_glue_catalog_table',
      'aws_athena_workgroup',
      'aws_sns_topic',
      'aws_cloudwatch_metric_alarm',
      'aws_cloudwatch_dashboard',
      'helm_release',
      'kubernetes_deployment_v1',
      'kubernetes_job_v1',
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

  it.each(['dev', 'staging', 'prod'] as const)('%s gives every KMS key the configured deletion window', (env) => {
    const keys = all(out[env], 'aws_kms_key');
    expect(keys.length).toBeGreaterThan(1);
    for (const k of keys) expect([k.description, k.deletion_window_in_days]).toEqual([k.description, cfg[env].kmsDeletionWindowDays]);
  });

  it.each(['dev', 'staging', 'prod'] as const)('%s protects every CloudWatch log group exactly when protectData is set', (env) => {
    const groups = Object.entries(out[env].resource.aws_cloudwatch_log_group ?? {});
    expect(groups.length).toBeGreaterThan(2);
    for (const [id, g] of groups) expect([id, g.lifecycle?.prevent_destroy ?? false]).toEqual([id, cfg[env].protectData]);
  });

  it.each(['dev', 'staging', 'prod'] as const)('%s runs one node group per AZ, so the autoscaler can add a node where an EBS volume lives', (env) => {
    const groups = all(out[env], 'aws_eks_node_group');
    const subnets = Object.entries(out[env].resource.aws_subnet).filter(([, s]) => !s.map_public_ip_on_launch);
    expect(groups).toHaveLength(cfg[env].kubernetes.nodeGroups.length * cfg[env].network.availabilityZones.length);
    for (const g of groups) expect(g.subnet_ids).toHaveLength(1);
    // Each private subnet (one per AZ) carries exactly one group.
    const used = groups.map((g) => String(g.subnet_ids[0]).match(/aws_subnet\.([^.]+)\.id/)?.[1]);
    expect(new Set(used).size).toBe(groups.length);
    expect(used.every((id) => subnets.some(([sid]) => sid === id))).toBe(true);
    expect(groups.map((g) => g.node_group_name_prefix).sort()).toEqual(cfg[env].network.availabilityZones.map((az) => `general-${az}-`).sort());
  });

  it('tells the cluster autoscaler to keep the zonal node groups balanced', () => {
    const autoscaler = Object.entries(out.staging.resource.helm_release).find(([id]) => id.includes('cluster-autoscaler'))![1];
    expect(String(autoscaler.values)).toMatch(/balance-similar-node-groups: true/);
  });

  it('opens the API endpoint as each environment configures it', () => {
    for (const env of ['dev', 'staging'] as const) {
      const vpc = one(out[env], 'aws_eks_cluster').vpc_config;
      expect(vpc).toMatchObject({ endpoint_private_access: true, endpoint_public_access: true, public_access_cidrs: ['0.0.0.0/0'] });
    }
    const prodVpc = one(out.prod, 'aws_eks_cluster').vpc_config;
    expect(prodVpc).toMatchObject({ endpoint_private_access: true, endpoint_public_access: false });
    const rules = all(out.prod, 'aws_vpc_security_group_ingress_rule').filter((r) => /Kubernetes API from/.test(r.description));
    expect(rules.map((r) => [r.cidr_ipv4, r.from_port, r.to_port])).toEqual([['10.99.0.0/24', 443, 443]]);
  });

  it('gives the break-glass role from config cluster admin in prod', () => {
    const admin = cfg.prod.kubernetes.adminRoleArns[0];
    const associations = all(out.prod, 'aws_eks_access_policy_association');
    const entry = all(out.prod, 'aws_eks_access_entry').find((e) => e.principal_arn === admin);
    expect(entry).toBeDefined();
    expect(
      associations.some((a) => String(a.principal_arn).includes('platform-break-glass') && String(a.policy_arn).endsWith('/AmazonEKSClusterAdminPolicy')),
    ).toBe(true);
  });

  describe('app image tag', () => {
    it('fails synth naming APP_IMAGE_TAG and apps.imageTag when no tag is given and the placeholder is not allowed', () => {
      expect(() => buildApp(Testing.app() as App, { imageTag: '', allowPlaceholderImageTag: false })).toThrow(
        /\[dev\] apps\.imageTag: no app image tag\. Set APP_IMAGE_TAG .*scripts\/deploy\/push-image\.sh/,
      );
    });

    it('deploys the given tag, and the plan-time guard lets it through', () => {
      const app = buildApp(Testing.app() as App, { imageTag: 'deadbeef', allowPlaceholderImageTag: false });
      const staging = JSON.parse(Testing.synth(app.node.findChild('staging') as PlatformStack));
      expect(staging.locals.app_image_tag_local).toBe('deadbeef');
      const images = Object.values<any>(staging.resource.kubernetes_deployment_v1).map((d) => d.spec.template.spec.container[0].image);
      expect(images.length).toBeGreaterThan(0);
      for (const image of images) expect(image).toMatch(/:deadbeef$/);
    });

    it('synthesizes the placeholder only behind a precondition that stops terraform plan', () => {
      const guard = out.staging.output.app_image_tag;
      expect(guard.value).toBe('${local.app_image_tag_local}');
      expect(guard.precondition.condition).toBe(`\${(local.app_image_tag_local != "${PLACEHOLDER_IMAGE_TAG}")}`);
      expect(guard.precondition.error_message).toMatch(/APP_IMAGE_TAG/);
    });
  });

  describe('name prefix', () => {
    const IAM_NAMED = ['aws_iam_role', 'aws_iam_policy'];
    /** `arn:...:role/acme-dev-*` as a RegExp over names. */
    const managedNamePatterns = (bootstrapJson: any, env: string): RegExp[] => {
      const policies = Object.values<any>(bootstrapJson.resource.aws_iam_role_policy ?? {}).filter(
        (p) => String(p.role).includes(`${env}-deploy`) || String(p.name).includes('platform-iam'),
      );
      const statements = policies.flatMap((p) => JSON.parse(p.policy).Statement).filter((st: any) => st.Sid === 'ManagePlatformIam');
      return statements
        .flatMap((st: any) => [st.Resource].flat())
        .map(
          (arn: string) =>
            new RegExp(
              `^${arn
                .split(':')
                .pop()!
                .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '.*')}$`,
            ),
        );
    };

    it.each(['sdp', 'acme'])('names every IAM role and policy of an environment so that its deploy role may manage it (namePrefix %s)', (namePrefix) => {
      const app = buildApp(Testing.app() as App, {
        bootstrap: {
          repository: 'example-org/streaming-data-platform',
          accounts: { dev: '123456789012', staging: '123456789012', prod: '123456789012' },
          namePrefix,
        },
      });
      const bootstrapJson = JSON.parse(Testing.synth(app.node.findChild('bootstrap') as any));
      for (const env of ['dev', 'staging'] as const) {
        const stack = JSON.parse(Testing.synth(app.node.findChild(env) as PlatformStack));
        const patterns = managedNamePatterns(bootstrapJson, env);
        expect(patterns.length).toBeGreaterThan(0);
        const names = IAM_NAMED.flatMap((type) =>
          Object.values<any>(stack.resource[type] ?? {}).map((r) => `${type === 'aws_iam_role' ? 'role' : 'policy'}/${r.name}`),
        );
        expect(names.length).toBeGreaterThan(5);
        const unmanaged = names.filter((n) => !patterns.some((p) => p.test(n)));
        expect([namePrefix, env, unmanaged]).toEqual([namePrefix, env, []]);
        expect(one(stack, 'aws_eks_cluster').name).toBe(`${namePrefix}-${env}`);
      }
    });
  });

  it('fails synth with the environment and field named when config is invalid', () => {
    const bad = { ...staging, kafka: { ...staging.kafka, brokerCount: 4 } };
    expect(() => validateEnvironment(bad)).toThrow(/\[staging\] kafka\.brokerCount: 4 is not a multiple of the AZ count \(3\)/);
  });
});
