import { EksCluster } from '@cdktf/provider-aws/lib/eks-cluster';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformStack, Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest'; // types for the cdktf matchers (as in the cdktf project template)
import { EKS_ADDON_NAMES, EKS_ADDON_VERSIONS, EksAddonName } from '../../constructs/eks-addon-versions';
import { KafkaCluster } from '../../constructs/kafka-cluster';
import { KubernetesCluster, KubernetesClusterProps, NodeGroupProps } from '../../constructs/kubernetes-cluster';
import { Network } from '../../constructs/network';

type Block = Record<string, any>;

const general: NodeGroupProps = {
  name: 'general',
  instanceTypes: ['m6i.large', 'm6a.large'],
  capacityType: 'ON_DEMAND',
  minSize: 2,
  desiredSize: 3,
  maxSize: 6,
  diskSizeGiB: 50,
};

const base: KubernetesClusterProps = {
  name: 'sdp-test',
  version: '1.33',
  vpcId: 'vpc-123',
  subnetIds: ['subnet-a', 'subnet-b', 'subnet-c'],
  logging: { retentionInDays: 30 },
  nodeGroups: [general],
};

function synth(overrides: Partial<KubernetesClusterProps> = {}, wire: (eks: KubernetesCluster) => void = () => undefined) {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const eks = new KubernetesCluster(stack, 'eks', { ...base, ...overrides });
  wire(eks);
  const raw = Testing.synth(stack);
  const json = JSON.parse(raw) as { resource: Record<string, Record<string, Block>>; data: Record<string, Record<string, Block>> };
  const all = (type: string): Block[] => Object.values(json.resource[type] ?? {});
  const data = (type: string): Block[] => Object.values(json.data[type] ?? {});
  const addresses = (type: string): Record<string, Block> => json.resource[type] ?? {};
  const roleNamed = (name: string): [string, Block] => {
    const entry = Object.entries(addresses('aws_iam_role')).find(([, r]) => r.name === name);
    if (!entry) throw new Error(`no role ${name}`);
    return [`aws_iam_role.${entry[0]}`, entry[1]];
  };
  return { raw, all, data, addresses, roleNamed, eks };
}

describe('KubernetesCluster', () => {
  describe('secure defaults', () => {
    it('keeps the API endpoint private', () => {
      const { all } = synth();
      const [cluster] = all('aws_eks_cluster');
      expect(cluster.vpc_config).toEqual({
        subnet_ids: ['subnet-a', 'subnet-b', 'subnet-c'],
        endpoint_private_access: true,
        endpoint_public_access: false,
      });
    });

    it('encrypts secrets with a created CMK the control plane may use', () => {
      const { all, addresses, roleNamed } = synth();
      const [keyId] = Object.keys(addresses('aws_kms_key'));
      const keyArn = `\${aws_kms_key.${keyId}.arn}`;
      expect(all('aws_eks_cluster')[0].encryption_config).toEqual({ resources: ['secrets'], provider: { key_arn: keyArn } });
      const [clusterRoleRef] = roleNamed('sdp-test-eks-cluster');
      const secretsPolicy = all('aws_iam_role_policy').find((p) => p.role === `\${${clusterRoleRef}.name}`)!;
      expect(JSON.parse(secretsPolicy.policy).Statement).toEqual([
        { Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ListGrants', 'kms:DescribeKey'], Resource: keyArn },
      ]);
    });

    it('uses access entries only, without implicit admin for the deployer', () => {
      const { all } = synth();
      expect(all('aws_eks_cluster')[0].access_config).toEqual({
        authentication_mode: 'API',
        bootstrap_cluster_creator_admin_permissions: false,
      });
      expect(all('aws_eks_access_entry')).toHaveLength(0);
    });

    it('logs all five control plane log types to its own encrypted log group', () => {
      const { all, addresses } = synth();
      const [cluster] = all('aws_eks_cluster');
      expect(cluster.enabled_cluster_log_types).toEqual(['api', 'audit', 'authenticator', 'controllerManager', 'scheduler']);
      const [[logGroupId, logGroup]] = Object.entries(addresses('aws_cloudwatch_log_group'));
      expect(logGroup).toMatchObject({ name: '/aws/eks/sdp-test/cluster', retention_in_days: 30, kms_key_id: expect.stringMatching(/aws_kms_key/) });
      expect(cluster.depends_on).toContain(`aws_cloudwatch_log_group.${logGroupId}`);
    });

    it('lets the key serve CloudWatch Logs for that group and EC2 for node volumes, naming no service-linked role', () => {
      const { all } = synth();
      const statements = JSON.parse(all('aws_kms_key')[0].policy).Statement as Block[];
      const logs = statements.find((s) => s.Sid === 'CloudWatchLogsEncryptsControlPlaneLogs')!;
      expect(logs.Condition.ArnEquals['kms:EncryptionContext:aws:logs:arn']).toMatch(/:log-group:\/aws\/eks\/sdp-test\/cluster$/);
      const grant = statements.find((s) => s.Sid === 'Ec2GrantsKeyToNodeVolumes')!;
      expect(grant.Principal.AWS).toBe('*');
      expect(grant.Condition.Bool).toEqual({ 'kms:GrantIsForAWSResource': true });
      for (const sid of ['Ec2EncryptsNodeVolumesForThisAccount', 'Ec2GrantsKeyToNodeVolumes']) {
        expect(statements.find((s) => s.Sid === sid)!.Condition.StringEquals).toEqual({
          'kms:CallerAccount': expect.stringMatching(/aws_caller_identity/),
          'kms:ViaService': expect.stringMatching(/^ec2\.\$\{data\.aws_region\..*\}\.\$\{data\.aws_partition\..*dns_suffix\}$/),
        });
      }
      expect(JSON.stringify(statements)).not.toContain('aws-service-role');
    });

    it('requires IMDSv2 with hop limit 1 and an encrypted gp3 root volume on the CMK', () => {
      const { raw, addresses } = synth();
      const [keyId] = Object.keys(addresses('aws_kms_key'));
      expect(raw).toHaveResourceWithProperties(LaunchTemplate, {
        metadata_options: { http_endpoint: 'enabled', http_tokens: 'required', http_put_response_hop_limit: 1, instance_metadata_tags: 'disabled' },
        block_device_mappings: [
          {
            device_name: '/dev/xvda',
            ebs: { volume_size: 50, volume_type: 'gp3', encrypted: 'true', kms_key_id: `\${aws_kms_key.${keyId}.arn}`, delete_on_termination: 'true' },
          },
        ],
      });
    });

    it('gives nodes only the AWS-managed policies EKS nodes need', () => {
      const { all, roleNamed } = synth();
      const [nodeRoleRef, nodeRole] = roleNamed('sdp-test-eks-node');
      expect(JSON.parse(nodeRole.assume_role_policy).Statement[0].Principal).toEqual({ Service: 'ec2.amazonaws.com' });
      const nodePolicies = all('aws_iam_role_policy_attachment')
        .filter((a) => a.role === `\${${nodeRoleRef}.name}`)
        .map((a) => a.policy_arn.split('/').pop());
      expect(nodePolicies.sort()).toEqual(['AmazonEC2ContainerRegistryPullOnly', 'AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy']);
      expect(all('aws_iam_role_policy').some((p) => p.role === `\${${nodeRoleRef}.name}`)).toBe(false);
    });

    it('does not protect from destroy unless asked', () => {
      const { all } = synth();
      const [cluster] = all('aws_eks_cluster');
      expect(cluster.deletion_protection).toBe(false);
      expect(cluster.lifecycle).toEqual({ prevent_destroy: false });
    });
  });

  describe('node groups', () => {
    it('spans all subnets, leaves desired size to the autoscaler, and replaces create-before-destroy', () => {
      const { all } = synth({ nodeGroups: [{ ...general, labels: { workload: 'streaming' } }] });
      const [ng] = all('aws_eks_node_group');
      expect(ng).toMatchObject({
        node_group_name_prefix: 'general-',
        subnet_ids: ['subnet-a', 'subnet-b', 'subnet-c'],
        instance_types: ['m6i.large', 'm6a.large'],
        capacity_type: 'ON_DEMAND',
        ami_type: 'AL2023_x86_64_STANDARD',
        scaling_config: { min_size: 2, desired_size: 3, max_size: 6 },
        labels: { workload: 'streaming' },
        launch_template: { id: expect.stringMatching(/aws_launch_template/), version: expect.stringMatching(/latest_version/) },
      });
      expect(ng.lifecycle).toEqual({ create_before_destroy: true, ignore_changes: ['scaling_config[0].desired_size'] });
      expect(ng.disk_size).toBeUndefined(); // set in the launch template; both would conflict
    });

    it('picks the ARM AMI for Graviton groups and refuses mixed architectures', () => {
      const { all } = synth({ nodeGroups: [{ ...general, instanceTypes: ['m7g.large', 'c7gn.large'] }] });
      expect(all('aws_eks_node_group')[0].ami_type).toBe('AL2023_ARM_64_STANDARD');
      expect(() => synth({ nodeGroups: [{ ...general, instanceTypes: ['m7g.large', 'm6i.large'] }] })).toThrow(/nodeGroups\[0\].instanceTypes mixes Graviton/);
    });

    it('rejects inconsistent sizes and duplicate names, naming the field', () => {
      expect(() => synth({ nodeGroups: [{ ...general, desiredSize: 9 }] })).toThrow(/nodeGroups\[0\] needs minSize <= desiredSize <= maxSize/);
      expect(() => synth({ nodeGroups: [general, general] })).toThrow(/nodeGroups\[1\].name 'general' is used by another node group/);
    });
  });

  describe('add-ons', () => {
    it('installs the core add-ons at the versions pinned for the cluster version, overwriting conflicts', () => {
      const { all, data } = synth();
      // No data source: a version chosen at plan time would change with every AWS release.
      expect(data('aws_eks_addon_version')).toEqual([]);
      const addons = all('aws_eks_addon');
      expect(addons.map((a) => a.addon_name).sort()).toEqual([...EKS_ADDON_NAMES].sort());
      for (const addon of addons) {
        expect(addon).toMatchObject({ resolve_conflicts_on_create: 'OVERWRITE', resolve_conflicts_on_update: 'OVERWRITE' });
        expect(addon.addon_version).toBe(EKS_ADDON_VERSIONS[base.version as keyof typeof EKS_ADDON_VERSIONS][addon.addon_name as EksAddonName]);
      }
      const overridden = synth({ addonVersions: { coredns: 'v1.12.9-eksbuild.1' } })
        .all('aws_eks_addon')
        .find((a) => a.addon_name === 'coredns');
      expect(overridden?.addon_version).toBe('v1.12.9-eksbuild.1');
      expect(() => synth({ version: '1.20' })).toThrow(/no pinned EKS add-on versions for Kubernetes 1\.20/);
    });

    it('installs networking add-ons before the nodes and pod-hosted add-ons after them', () => {
      const { addresses } = synth();
      const addons = addresses('aws_eks_addon');
      const addonRef = (name: string) => `aws_eks_addon.${Object.keys(addons).find((k) => addons[k].addon_name === name)}`;
      const [ngId, ng] = Object.entries(addresses('aws_eks_node_group'))[0];
      expect(ng.depends_on).toEqual(expect.arrayContaining([addonRef('vpc-cni'), addonRef('kube-proxy'), addonRef('eks-pod-identity-agent')]));
      expect(addons[addonRef('coredns').split('.')[1]].depends_on).toContain(`aws_eks_node_group.${ngId}`);
      expect(addons[addonRef('aws-ebs-csi-driver').split('.')[1]].depends_on).toContain(`aws_eks_node_group.${ngId}`);
    });

    it('gives the EBS CSI controller its own Pod Identity role with the managed policy and KMS use of the cluster key only', () => {
      const { all, roleNamed, addresses } = synth();
      const [roleRef] = roleNamed('sdp-test-ebs-csi');
      expect(all('aws_eks_pod_identity_association')).toContainEqual(
        expect.objectContaining({ namespace: 'kube-system', service_account: 'ebs-csi-controller-sa', role_arn: `\${${roleRef}.arn}` }),
      );
      expect(all('aws_iam_role_policy_attachment')).toContainEqual(
        expect.objectContaining({ role: `\${${roleRef}.name}`, policy_arn: expect.stringMatching(/:policy\/service-role\/AmazonEBSCSIDriverPolicy$/) }),
      );
      const [keyId] = Object.keys(addresses('aws_kms_key'));
      const kms = all('aws_iam_role_policy').find((p) => p.role === `\${${roleRef}.name}`)!;
      const statements = JSON.parse(kms.policy).Statement as Block[];
      expect(statements.every((s) => s.Resource === `\${aws_kms_key.${keyId}.arn}`)).toBe(true);
      expect(statements.find((s) => s.Action.includes('kms:CreateGrant'))!.Condition).toEqual({ Bool: { 'kms:GrantIsForAWSResource': true } });
    });
  });

  describe('Pod Identity', () => {
    it('addPodIdentityRole trusts only EKS Pod Identity for this cluster and account', () => {
      const { all, roleNamed, addresses } = synth({}, (eks) => eks.addPodIdentityRole('ingest', 'streaming', 'ingest'));
      const [roleRef, role] = roleNamed('sdp-test-ingest');
      const [clusterId] = Object.keys(addresses('aws_eks_cluster'));
      expect(JSON.parse(role.assume_role_policy).Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: {
            StringEquals: { 'aws:SourceAccount': expect.stringMatching(/aws_caller_identity/) },
            ArnEquals: { 'aws:SourceArn': `\${aws_eks_cluster.${clusterId}.arn}` },
          },
        },
      ]);
      expect(all('aws_eks_pod_identity_association')).toContainEqual({
        cluster_name: `\${aws_eks_cluster.${clusterId}.name}`,
        namespace: 'streaming',
        service_account: 'ingest',
        role_arn: `\${${roleRef}.arn}`,
      });
    });

    it('refuses role names IAM would reject', () => {
      expect(() => synth({}, (eks) => eks.addPodIdentityRole('x'.repeat(60), 'ns', 'sa'))).toThrow(/longer than IAM's 64 characters/);
    });
  });

  describe('zonal node groups', () => {
    const zones = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];

    it('makes one group per AZ, each confined to its subnet, with the sizes of the group', () => {
      const { all } = synth({ availabilityZones: zones, nodeGroups: [{ ...general, perAvailabilityZone: true }] });
      const groups = all('aws_eks_node_group');
      expect(groups.map((g) => [g.node_group_name_prefix, g.subnet_ids])).toEqual(zones.map((z, i) => [`general-${z}-`, [base.subnetIds[i]]]));
      for (const g of groups) expect(g.scaling_config).toEqual({ min_size: 2, desired_size: 3, max_size: 6 });
      expect(
        all('aws_launch_template')
          .map((t) => t.name)
          .sort(),
      ).toEqual(zones.map((z) => `sdp-test-general-${z}`));
    });

    it('exposes every node group and add-on as what pods need, and every access association', () => {
      const { eks } = synth({
        availabilityZones: zones,
        nodeGroups: [{ ...general, perAvailabilityZone: true }],
        access: { adminRoleArns: ['arn:aws:iam::111122223333:role/a'], viewerRoleArns: ['arn:aws:iam::111122223333:role/v'] },
      });
      expect(eks.computeReady).toEqual(expect.arrayContaining([...eks.nodeGroups, ...Object.values(eks.addons)]));
      expect(eks.computeReady).toHaveLength(eks.nodeGroups.length + Object.keys(eks.addons).length);
      expect(eks.nodeGroups).toHaveLength(3);
      expect(eks.accessReady).toHaveLength(2);
    });

    it('refuses zonal groups without the AZ of each subnet, or a name EKS would cut', () => {
      expect(() => synth({ nodeGroups: [{ ...general, perAvailabilityZone: true }] })).toThrow(/nodeGroups\[0\]\.perAvailabilityZone needs availabilityZones/);
      expect(() => synth({ availabilityZones: zones.slice(0, 2) })).toThrow(/availabilityZones has 2 entries but subnetIds has 3/);
      expect(() => synth({ availabilityZones: zones, nodeGroups: [{ ...general, name: 'a-very-long-node-group-name', perAvailabilityZone: true }] })).toThrow(
        /longer than 37 characters/,
      );
    });
  });

  describe('overrides and protection', () => {
    it('restricts a public endpoint to the given CIDRs', () => {
      const { raw } = synth({ endpoint: { publicAccessCidrs: ['203.0.113.0/24'] } });
      expect(raw).toHaveResourceWithProperties(EksCluster, {
        vpc_config: expect.objectContaining({ endpoint_private_access: true, endpoint_public_access: true, public_access_cidrs: ['203.0.113.0/24'] }),
      });
    });

    it('lets the given private networks (self-hosted runners, VPN) reach the private endpoint on 443 only', () => {
      const { all } = synth({ endpoint: { privateAccessCidrs: ['10.99.0.0/24'] } });
      expect(all('aws_eks_cluster')[0].vpc_config).toMatchObject({ endpoint_private_access: true, endpoint_public_access: false });
      expect(all('aws_vpc_security_group_ingress_rule')).toEqual([
        expect.objectContaining({
          security_group_id: expect.stringMatching(/aws_eks_cluster\..*\.vpc_config\[0\]\.cluster_security_group_id/),
          cidr_ipv4: '10.99.0.0/24',
          ip_protocol: 'tcp',
          from_port: 443,
          to_port: 443,
        }),
      ]);
    });

    it('creates an access entry with cluster-admin for each admin role', () => {
      const admin = 'arn:aws:iam::111122223333:role/platform-admin';
      const { all } = synth({ access: { adminRoleArns: [admin] } });
      expect(all('aws_eks_access_entry')).toEqual([expect.objectContaining({ principal_arn: admin, type: 'STANDARD' })]);
      expect(all('aws_eks_access_policy_association')).toEqual([
        expect.objectContaining({
          policy_arn: expect.stringMatching(/:eks::aws:cluster-access-policy\/AmazonEKSClusterAdminPolicy$/),
          access_scope: { type: 'cluster' },
        }),
      ]);
    });

    it('limits log types when asked', () => {
      const { all } = synth({ logging: { retentionInDays: 7, types: ['audit'] } });
      expect(all('aws_eks_cluster')[0].enabled_cluster_log_types).toEqual(['audit']);
    });

    it('turns on prevent_destroy and deletion protection', () => {
      const { all } = synth({ preventDestroy: true });
      const [cluster] = all('aws_eks_cluster');
      expect(cluster.deletion_protection).toBe(true);
      expect(cluster.lifecycle).toEqual({ prevent_destroy: true });
      expect(all('aws_kms_key')[0].lifecycle).toEqual({ prevent_destroy: true });
    });

    it('uses given keys and then needs no key of its own', () => {
      const key = 'arn:aws:kms:eu-west-1:111122223333:key/k';
      const { all } = synth({ encryption: { kmsKey: key }, logging: { retentionInDays: 7, kmsKey: key } });
      expect(all('aws_kms_key')).toHaveLength(0);
      expect(all('aws_eks_cluster')[0].encryption_config.provider.key_arn).toBe(key);
      expect(all('aws_launch_template')[0].block_device_mappings[0].ebs.kms_key_id).toBe(key);
    });
  });
});

describe('Network + KafkaCluster + KubernetesCluster in one stack', () => {
  it('synthesizes together, with Kafka reachable from the EKS cluster security group', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'platform');
    new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
    const network = new Network(stack, 'network', {
      name: 'sdp-dev',
      vpcCidr: '10.10.0.0/16',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      publicSubnetCidrs: ['10.10.0.0/24', '10.10.1.0/24'],
      privateSubnetCidrs: ['10.10.16.0/20', '10.10.32.0/20'],
      natGateways: 'single',
      flowLogs: { retentionInDays: 14 },
      clusterName: 'sdp-dev',
    });
    const kafka = new KafkaCluster(stack, 'kafka', {
      name: 'sdp-dev',
      vpcId: network.vpcId,
      subnetIds: network.privateSubnetIds,
      kafkaVersion: '3.8.x',
      brokerCount: 2,
      instanceType: 'kafka.t3.small',
      storage: { volumeSizeGiB: 20, maxVolumeSizeGiB: 100 },
      logRetentionHours: 24,
      logging: { retentionInDays: 7 },
    });
    const eks = new KubernetesCluster(stack, 'eks', {
      name: 'sdp-dev',
      version: '1.33',
      vpcId: network.vpcId,
      subnetIds: network.privateSubnetIds,
      logging: { retentionInDays: 7 },
      nodeGroups: [{ ...general, capacityType: 'SPOT', minSize: 1, desiredSize: 2, maxSize: 4 }],
    });
    kafka.allowClientsFrom(eks.clusterSecurityGroupId, 'EKS nodes');
    kafka.grantProduce(eks.addPodIdentityRole('ingest', 'streaming', 'ingest'), ['telemetry.raw']);

    const json = JSON.parse(Testing.synth(stack)) as { resource: Record<string, Record<string, Block>> };
    const eksId = Object.keys(json.resource.aws_eks_cluster)[0];
    expect(Object.values(json.resource.aws_vpc_security_group_ingress_rule)).toContainEqual(
      expect.objectContaining({ referenced_security_group_id: `\${aws_eks_cluster.${eksId}.vpc_config[0].cluster_security_group_id}`, from_port: 9098 }),
    );
    expect(Object.values(json.resource.aws_msk_cluster)[0].broker_node_group_info.client_subnets).toHaveLength(2);
    // One AwsContext is shared, and each construct's key has its own alias.
    expect(Object.keys((json as any).data.aws_caller_identity)).toHaveLength(1);
    expect(
      Object.values(json.resource.aws_kms_alias)
        .map((a) => a.name)
        .sort(),
    ).toEqual(['alias/sdp-dev-eks', 'alias/sdp-dev-flow-logs', 'alias/sdp-dev-msk']);
  });
});

describe('KubernetesCluster access and network policy', () => {
  it('gives viewer roles AmazonEKSAdminViewPolicy and turns on NetworkPolicy enforcement in the VPC CNI', () => {
    const { Testing, TerraformStack } = require('cdktf');
    const { AwsProvider } = require('@cdktf/provider-aws/lib/provider');
    const { KubernetesCluster } = require('../../constructs/kubernetes-cluster');
    const stack = new TerraformStack(Testing.app(), 'eks-access');
    new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
    new KubernetesCluster(stack, 'eks', {
      name: 'c',
      version: '1.33',
      vpcId: 'vpc-1',
      subnetIds: ['s1', 's2'],
      logging: { retentionInDays: 7 },
      access: { adminRoleArns: ['arn:aws:iam::111122223333:role/deployer'], viewerRoleArns: ['arn:aws:iam::111122223333:role/planner'] },
      nodeGroups: [{ name: 'g', instanceTypes: ['m6i.large'], capacityType: 'ON_DEMAND', minSize: 1, desiredSize: 1, maxSize: 2, diskSizeGiB: 50 }],
    });
    const synth = JSON.parse(Testing.synth(stack));
    const assoc = Object.values<any>(synth.resource.aws_eks_access_policy_association).map((a) => a.policy_arn.split('/').pop());
    expect(assoc.sort()).toEqual(['AmazonEKSAdminViewPolicy', 'AmazonEKSClusterAdminPolicy']);
    const cni = Object.values<any>(synth.resource.aws_eks_addon).find((a) => a.addon_name === 'vpc-cni');
    expect(JSON.parse(cni.configuration_values)).toEqual({ enableNetworkPolicy: 'true' });
  });
});
