import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { EksAccessEntry } from '@cdktf/provider-aws/lib/eks-access-entry';
import { EksAccessPolicyAssociation } from '@cdktf/provider-aws/lib/eks-access-policy-association';
import { EksAddon } from '@cdktf/provider-aws/lib/eks-addon';
import { EksCluster } from '@cdktf/provider-aws/lib/eks-cluster';
import { EksNodeGroup } from '@cdktf/provider-aws/lib/eks-node-group';
import { EksPodIdentityAssociation } from '@cdktf/provider-aws/lib/eks-pod-identity-association';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { ITerraformDependable, Token } from 'cdktf';
import { Construct } from 'constructs';
import { AwsContext } from './aws-context';
import { EksAddonName, EksAddonVersions, eksAddonVersions } from './eks-addon-versions';
import { grant, PolicyStatement, trustPolicy } from './iam';
import { cloudWatchLogsKeyStatement, EncryptionKey } from './kms-key';

export type ClusterLogType = 'api' | 'audit' | 'authenticator' | 'controllerManager' | 'scheduler';
export const ALL_CLUSTER_LOG_TYPES: readonly ClusterLogType[] = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'];

export interface NodeGroupProps {
  /** Unique within the cluster, e.g. `general`. */
  readonly name: string;
  /** Several types of one architecture widen Spot capacity pools; x86 and Graviton cannot mix. */
  readonly instanceTypes: readonly string[];
  readonly capacityType: 'ON_DEMAND' | 'SPOT';
  readonly minSize: number;
  /** Initial size only: the cluster autoscaler owns it afterwards. */
  readonly desiredSize: number;
  readonly maxSize: number;
  /** Root volume (gp3, encrypted with the cluster key). */
  readonly diskSizeGiB: number;
  /**
   * One managed node group per availability zone, each with these sizes, instead of one group
   * across all AZs. Needed where pods use AZ-bound EBS volumes: the cluster autoscaler can only
   * add a node in the AZ of a pending pod's volume if a group is confined to that AZ
   * (`balance-similar-node-groups` keeps the zonal groups even).
   * @default false
   */
  readonly perAvailabilityZone?: boolean;
  /**
   * Kubernetes node labels. EKS already sets `eks.amazonaws.com/nodegroup` and `eks.amazonaws.com/capacityType`.
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface KubernetesClusterProps {
  /** Cluster name and prefix of every resource name, e.g. `sdp-dev`. */
  readonly name: string;
  /** Kubernetes minor version, e.g. `1.33`; add-on versions follow it. */
  readonly version: string;

  // Network
  readonly vpcId: string;
  /** Private subnets in at least two AZs, for the control plane ENIs and the nodes. */
  readonly subnetIds: readonly string[];
  /**
   * The AZ of each of `subnetIds`, in the same order; names the zonal node groups.
   * @default none; required when a node group is `perAvailabilityZone`
   */
  readonly availabilityZones?: readonly string[];
  /**
   * Where clients (Terraform, kubectl) reach the API server from. The private endpoint is always on.
   */
  readonly endpoint?: {
    /**
     * CIDRs allowed to reach the public API endpoint. Empty turns the public endpoint off.
     * @default []
     */
    readonly publicAccessCidrs?: readonly string[];
    /**
     * Networks besides the nodes that may reach the private endpoint on 443 (self-hosted CI
     * runners, a peered VPC, a VPN), let in through the cluster security group.
     * @default []
     */
    readonly privateAccessCidrs?: readonly string[];
  };

  // Encryption
  readonly encryption?: {
    /**
     * ARN of the CMK for Kubernetes secrets and node root volumes. Its key policy must allow
     * `AWSServiceRoleForAutoScaling` to use it, or nodes fail to launch.
     * @default a key created for this cluster
     */
    readonly kmsKey?: string;
  };

  // Logging
  readonly logging: {
    /** Retention of `/aws/eks/<name>/cluster`. */
    readonly retentionInDays: number;
    /** @default all five: api, audit, authenticator, controllerManager, scheduler */
    readonly types?: readonly ClusterLogType[];
    /**
     * ARN of the CMK for the control plane log group; its key policy must let `logs.<region>.amazonaws.com` use it.
     * @default the cluster's own key
     */
    readonly kmsKey?: string;
  };

  // Auth
  readonly access?: {
    /**
     * IAM roles given cluster-admin through EKS access entries. The role that deploys is NOT
     * admin implicitly, so list it here if it also installs Helm charts.
     * @default []
     */
    readonly adminRoleArns?: readonly string[];
    /**
     * IAM roles given read-only access including Secrets (AmazonEKSAdminViewPolicy), e.g. the CI
     * plan role: refreshing Helm releases during `plan` reads their release Secrets.
     * @default []
     */
    readonly viewerRoleArns?: readonly string[];
  };

  // Scaling
  readonly nodeGroups: readonly NodeGroupProps[];

  // Add-ons
  /**
   * Versions of the EKS add-ons, over the pins for `version`.
   * @default EKS_ADDON_VERSIONS[version] (constructs/eks-addon-versions.ts)
   */
  readonly addonVersions?: Partial<EksAddonVersions>;

  // Protection
  /**
   * Terraform `prevent_destroy` and EKS deletion protection on the cluster, `prevent_destroy` on its key.
   * @default false
   */
  readonly preventDestroy?: boolean;
}

/** Add-ons nodes need to become Ready, so they are installed before the node groups. */
const BEFORE_COMPUTE_ADDONS = ['vpc-cni', 'kube-proxy', 'eks-pod-identity-agent'] as const;

/**
 * An EKS cluster with a private API endpoint, KMS-encrypted secrets, all control-plane logs,
 * access entries instead of aws-auth, managed node groups with IMDSv2 and encrypted disks, and
 * the core add-ons at versions pinned per EKS version. Workloads get AWS credentials through EKS
 * Pod Identity (`addPodIdentityRole`), never from the node role.
 */
export class KubernetesCluster extends Construct {
  readonly cluster: EksCluster;
  readonly clusterRole: IamRole;
  readonly nodeRole: IamRole;
  readonly nodeGroups: readonly EksNodeGroup[];
  readonly addons: Readonly<Record<string, EksAddon>>;
  readonly logGroup: CloudwatchLogGroup;
  /**
   * The access-policy associations of every admin and viewer role. Until they exist, the
   * identity applying Kubernetes resources gets 401/403: depend on these (constructs/deploy-ordering.ts).
   */
  readonly accessReady: readonly EksAccessPolicyAssociation[];
  /** Node groups and EKS add-ons: what a pod needs to be scheduled, get an IP, resolve names and mount a volume. */
  readonly computeReady: readonly ITerraformDependable[];

  readonly clusterName: string;
  readonly clusterArn: string;
  readonly endpoint: string;
  readonly certificateAuthorityData: string;
  /** The EKS-managed group on the control plane and on every managed node. */
  readonly clusterSecurityGroupId: string;
  readonly version: string;
  /** For in-cluster controllers that cannot read it from IMDS (hop limit 1), e.g. the AWS Load Balancer Controller. */
  readonly vpcId: string;
  /** The key encrypting secrets and node volumes; use it in EBS StorageClasses too. */
  readonly kmsKeyArn: string;

  private readonly addonVersions: EksAddonVersions;

  constructor(scope: Construct, id: string, props: KubernetesClusterProps) {
    super(scope, id);
    validate(this.node.path, props);
    const ctx = AwsContext.of(this);
    const { name } = props;
    const preventDestroy = props.preventDestroy ?? false;
    const managedPolicy = (policy: string) => `arn:${ctx.partition}:iam::aws:policy/${policy}`;
    this.clusterName = name;
    this.version = props.version;
    this.vpcId = props.vpcId;
    this.addonVersions = eksAddonVersions(props.version, props.addonVersions);

    // Encryption
    const logGroupName = `/aws/eks/${name}/cluster`;
    const ownKeyStatements = [
      ...(props.encryption?.kmsKey ? [] : ebsThroughEc2KeyStatements(ctx)),
      ...(props.logging.kmsKey ? [] : [cloudWatchLogsKeyStatement(this, logGroupName, 'CloudWatchLogsEncryptsControlPlaneLogs')]),
    ];
    const ownKey =
      !props.encryption?.kmsKey || !props.logging.kmsKey
        ? new EncryptionKey(this, 'key', {
            alias: `${name}-eks`,
            description: `Encrypts secrets, node volumes and control plane logs of EKS cluster ${name}`,
            additionalStatements: ownKeyStatements,
            preventDestroy,
          })
        : undefined;
    this.kmsKeyArn = props.encryption?.kmsKey ?? ownKey!.arn;

    // Logging: created here, before the cluster, so retention and encryption are ours.
    this.logGroup = new CloudwatchLogGroup(this, 'control-plane-logs', {
      name: logGroupName,
      retentionInDays: props.logging.retentionInDays,
      kmsKeyId: props.logging.kmsKey ?? ownKey!.arn,
    });

    // Control plane
    this.clusterRole = new IamRole(this, 'cluster-role', {
      name: `${name}-eks-cluster`,
      description: `EKS control plane of ${name}`,
      assumeRolePolicy: trustPolicy([{ Effect: 'Allow', Principal: { Service: 'eks.amazonaws.com' }, Action: 'sts:AssumeRole' }]),
    });
    const clusterPolicy = new IamRolePolicyAttachment(this, 'cluster-policy', {
      role: this.clusterRole.name,
      policyArn: managedPolicy('AmazonEKSClusterPolicy'),
    });
    // The key policy delegates to IAM, so the control plane needs IAM permission to envelope-encrypt secrets.
    const secretsKeyAccess = grant(this, this.clusterRole, 'secrets-encryption', [
      {
        Effect: 'Allow',
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ListGrants', 'kms:DescribeKey'],
        Resource: this.kmsKeyArn,
      },
    ]);

    const publicCidrs = props.endpoint?.publicAccessCidrs ?? [];
    this.cluster = new EksCluster(this, 'cluster', {
      name,
      version: props.version,
      roleArn: this.clusterRole.arn,
      vpcConfig: {
        subnetIds: [...props.subnetIds],
        endpointPrivateAccess: true,
        endpointPublicAccess: publicCidrs.length > 0,
        publicAccessCidrs: publicCidrs.length > 0 ? [...publicCidrs] : undefined,
      },
      accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: false },
      encryptionConfig: { resources: ['secrets'], provider: { keyArn: this.kmsKeyArn } },
      enabledClusterLogTypes: [...(props.logging.types ?? ALL_CLUSTER_LOG_TYPES)],
      // The add-ons below are EKS-managed; self-managed copies would fight them.
      bootstrapSelfManagedAddons: false,
      deletionProtection: preventDestroy,
      lifecycle: { preventDestroy },
      dependsOn: [this.logGroup, clusterPolicy, secretsKeyAccess],
    });
    this.clusterArn = this.cluster.arn;
    this.endpoint = this.cluster.endpoint;
    this.certificateAuthorityData = this.cluster.certificateAuthority.get(0).data;
    this.clusterSecurityGroupId = this.cluster.vpcConfig.clusterSecurityGroupId;
    for (const [i, cidr] of (props.endpoint?.privateAccessCidrs ?? []).entries()) {
      new VpcSecurityGroupIngressRule(this, `api-from-private-network-${i}`, {
        securityGroupId: this.clusterSecurityGroupId,
        description: `Kubernetes API from ${cidr} (Terraform runners, VPN)`,
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        cidrIpv4: cidr,
      });
    }

    // Access entries
    const accessLevels = [
      { kind: 'admin', policy: 'AmazonEKSClusterAdminPolicy', arns: props.access?.adminRoleArns ?? [] },
      { kind: 'viewer', policy: 'AmazonEKSAdminViewPolicy', arns: props.access?.viewerRoleArns ?? [] },
    ];
    const associations: EksAccessPolicyAssociation[] = [];
    for (const level of accessLevels) {
      for (const [i, principalArn] of level.arns.entries()) {
        const entryId = `${level.kind}-${Token.isUnresolved(principalArn) ? i : principalArn.split('/').pop()}`;
        const entry = new EksAccessEntry(this, entryId, { clusterName: this.cluster.name, principalArn, type: 'STANDARD' });
        const association = new EksAccessPolicyAssociation(this, `${entryId}-${level.policy}`, {
          clusterName: this.cluster.name,
          principalArn: entry.principalArn,
          policyArn: `arn:${ctx.partition}:eks::aws:cluster-access-policy/${level.policy}`,
          accessScope: { type: 'cluster' },
        });
        associations.push(association);
      }
    }
    this.accessReady = associations;

    // Add-ons nodes depend on
    const addons: Record<string, EksAddon> = {};
    for (const addon of BEFORE_COMPUTE_ADDONS) addons[addon] = this.addon(addon);

    // Nodes: only what kubelet, the VPC CNI and image pulls need. Workload permissions go through Pod Identity.
    this.nodeRole = new IamRole(this, 'node-role', {
      name: `${name}-eks-node`,
      description: `Managed node groups of EKS cluster ${name}`,
      assumeRolePolicy: trustPolicy([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]),
    });
    const nodePolicies = ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryPullOnly'].map(
      (policy) => new IamRolePolicyAttachment(this, `node-${policy}`, { role: this.nodeRole.name, policyArn: managedPolicy(policy) }),
    );
    const nodeGroupDependencies = [...nodePolicies, ...BEFORE_COMPUTE_ADDONS.map((a) => addons[a])];
    this.nodeGroups = props.nodeGroups.flatMap((ng) =>
      ng.perAvailabilityZone
        ? props.subnetIds.map((subnetId, i) => this.nodeGroup(ng, props.availabilityZones![i], [subnetId], nodeGroupDependencies))
        : [this.nodeGroup(ng, undefined, props.subnetIds, nodeGroupDependencies)],
    );

    // Add-ons whose pods need nodes. The EBS CSI controller gets its own role through Pod Identity.
    const ebsCsi = this.podIdentity('ebs-csi', 'kube-system', 'ebs-csi-controller-sa');
    const ebsCsiPolicy = new IamRolePolicyAttachment(this, 'ebs-csi-policy', {
      role: ebsCsi.role.name,
      policyArn: managedPolicy('service-role/AmazonEBSCSIDriverPolicy'),
    });
    const ebsCsiKeyAccess = grant(this, ebsCsi.role, 'ebs-volume-encryption', [
      {
        Sid: 'UseClusterKeyForVolumes',
        Effect: 'Allow',
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        Resource: this.kmsKeyArn,
      },
      {
        Sid: 'GrantKeyToEbs',
        Effect: 'Allow',
        Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
        Resource: this.kmsKeyArn,
        Condition: { Bool: { 'kms:GrantIsForAWSResource': true } },
      },
    ]);
    // Pod Identity injects credentials at pod start, so the association must exist before the controller does.
    addons['coredns'] = this.addon('coredns', [...this.nodeGroups]);
    addons['aws-ebs-csi-driver'] = this.addon('aws-ebs-csi-driver', [...this.nodeGroups, ebsCsi.association, ebsCsiPolicy, ebsCsiKeyAccess]);
    this.addons = addons;
    this.computeReady = [...this.nodeGroups, ...Object.values(addons)];
  }

  /**
   * A role that pods using `namespace/serviceAccount` assume through EKS Pod Identity. Only
   * this cluster, in this account, can use it; attach permissions with grants.
   */
  addPodIdentityRole(id: string, namespace: string, serviceAccount: string): IamRole {
    return this.podIdentity(id, namespace, serviceAccount).role;
  }

  private podIdentity(id: string, namespace: string, serviceAccount: string) {
    const ctx = AwsContext.of(this);
    const roleName = `${this.clusterName}-${id}`;
    if (roleName.length > 64) throw new Error(`${this.node.path}: role name '${roleName}' is longer than IAM's 64 characters; shorten id '${id}'`);
    const scope = new Construct(this, `pod-identity-${id}`);
    const role = new IamRole(scope, 'role', {
      name: roleName,
      description: `Pod Identity role for ${namespace}/${serviceAccount} on ${this.clusterName}`,
      assumeRolePolicy: trustPolicy([
        {
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: {
            StringEquals: { 'aws:SourceAccount': ctx.accountId },
            ArnEquals: { 'aws:SourceArn': this.clusterArn },
          },
        },
      ]),
    });
    const association = new EksPodIdentityAssociation(scope, 'association', {
      clusterName: this.cluster.name,
      namespace,
      serviceAccount,
      roleArn: role.arn,
    });
    return { role, association };
  }

  private addon(addonName: EksAddonName, dependsOn: ITerraformDependable[] = []): EksAddon {
    return new EksAddon(this, `addon-${addonName}`, {
      clusterName: this.cluster.name,
      addonName,
      addonVersion: this.addonVersions[addonName],
      resolveConflictsOnCreate: 'OVERWRITE',
      resolveConflictsOnUpdate: 'OVERWRITE',
      // The VPC CNI's network policy agent is what enforces Kubernetes NetworkPolicies on EKS.
      configurationValues: addonName === 'vpc-cni' ? JSON.stringify({ enableNetworkPolicy: 'true' }) : undefined,
      dependsOn,
    });
  }

  /** One managed node group; `zone` confines it to one AZ (and names it after the AZ). */
  private nodeGroup(ng: NodeGroupProps, zone: string | undefined, subnetIds: readonly string[], dependsOn: ITerraformDependable[]): EksNodeGroup {
    const groupName = zone ? `${ng.name}-${zone}` : ng.name;
    const launchTemplate = new LaunchTemplate(this, `${groupName}-launch-template`, {
      name: `${this.clusterName}-${groupName}`,
      description: `Nodes of ${this.clusterName}/${ng.name}: IMDSv2 only, encrypted gp3 root volume`,
      updateDefaultVersion: true,
      // IMDSv2 with hop limit 1: pods (one hop away) cannot reach the node role's credentials.
      // EKS Pod Identity does not use IMDS (its agent listens on 169.254.170.23), so pods still get theirs.
      metadataOptions: {
        httpEndpoint: 'enabled',
        httpTokens: 'required',
        httpPutResponseHopLimit: 1,
        instanceMetadataTags: 'disabled',
      },
      blockDeviceMappings: [
        {
          deviceName: '/dev/xvda',
          ebs: {
            volumeSize: ng.diskSizeGiB,
            volumeType: 'gp3',
            encrypted: 'true',
            kmsKeyId: this.kmsKeyArn,
            deleteOnTermination: 'true',
          },
        },
      ],
      tagSpecifications: ['instance', 'volume', 'network-interface'].map((resourceType) => ({
        resourceType,
        tags: { Name: `${this.clusterName}-${groupName}` },
      })),
    });
    return new EksNodeGroup(this, `node-group-${groupName}`, {
      clusterName: this.cluster.name,
      // A prefix lets create-before-destroy replace the group (e.g. new instance types) without a name clash.
      nodeGroupNamePrefix: `${groupName}-`,
      version: this.cluster.version,
      nodeRoleArn: this.nodeRole.arn,
      subnetIds: [...subnetIds],
      amiType: amiTypeFor(ng),
      instanceTypes: [...ng.instanceTypes],
      capacityType: ng.capacityType,
      scalingConfig: { minSize: ng.minSize, desiredSize: ng.desiredSize, maxSize: ng.maxSize },
      updateConfig: { maxUnavailablePercentage: 33 },
      launchTemplate: { id: launchTemplate.id, version: Token.asString(launchTemplate.latestVersion) },
      labels: { ...(ng.labels ?? {}) },
      lifecycle: {
        createBeforeDestroy: true,
        // The cluster autoscaler owns the current size; Terraform only sets the bounds.
        ignoreChanges: ['scaling_config[0].desired_size'],
      },
      dependsOn,
    });
  }
}

/** Graviton families carry a `g` after the generation digit (m7g, c7gn, r8g, t4g). */
const isGraviton = (instanceType: string) => /^[a-z]+\d+[a-z]*g[a-z]*\./.test(instanceType);

function amiTypeFor(ng: NodeGroupProps): string {
  return ng.instanceTypes.every(isGraviton) ? 'AL2023_ARM_64_STANDARD' : 'AL2023_x86_64_STANDARD';
}

/**
 * Node volumes are created by EC2 Auto Scaling's service-linked role, whose fixed policy grants it
 * no customer managed key, and which exists only once an Auto Scaling group has. Naming it in a
 * key policy fails in an empty account (MalformedPolicyDocumentException), and the account root
 * only delegates to IAM policies, which a service-linked role cannot be given. So the key grants
 * what the AWS managed `aws/ebs` key grants: any principal of this account, only through EC2 in
 * this region, and grants only for AWS resources (the volumes).
 */
function ebsThroughEc2KeyStatements(ctx: AwsContext): PolicyStatement[] {
  const throughEc2 = { 'kms:CallerAccount': ctx.accountId, 'kms:ViaService': `ec2.${ctx.region}.${ctx.dnsSuffix}` };
  return [
    {
      Sid: 'Ec2EncryptsNodeVolumesForThisAccount',
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
      Resource: '*',
      Condition: { StringEquals: throughEc2 },
    },
    {
      Sid: 'Ec2GrantsKeyToNodeVolumes',
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: { StringEquals: throughEc2, Bool: { 'kms:GrantIsForAWSResource': true } },
    },
  ];
}

function validate(path: string, props: KubernetesClusterProps): void {
  const fail = (field: string, message: string) => {
    throw new Error(`${path}: ${field} ${message}`);
  };
  if (props.subnetIds.length < 2) fail('subnetIds', `has ${props.subnetIds.length} entries; EKS needs subnets in at least 2 AZs`);
  if (props.nodeGroups.length === 0) fail('nodeGroups', 'must have at least one node group for the core add-ons to run on');
  const zones = props.availabilityZones;
  if (zones && zones.length !== props.subnetIds.length) {
    fail('availabilityZones', `has ${zones.length} entries but subnetIds has ${props.subnetIds.length}; give the AZ of each subnet`);
  }
  const names = new Set<string>();
  props.nodeGroups.forEach((ng, i) => {
    const at = `nodeGroups[${i}]`;
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(ng.name)) fail(`${at}.name`, `'${ng.name}' must be lower-case letters, digits and '-' (max 31)`);
    if (names.has(ng.name)) fail(`${at}.name`, `'${ng.name}' is used by another node group`);
    names.add(ng.name);
    if (ng.instanceTypes.length === 0) fail(`${at}.instanceTypes`, 'must list at least one instance type');
    const arm = ng.instanceTypes.filter(isGraviton);
    if (arm.length > 0 && arm.length < ng.instanceTypes.length) {
      fail(`${at}.instanceTypes`, `mixes Graviton (${arm.join(', ')}) and x86 types; one node group runs one AMI architecture`);
    }
    if (ng.perAvailabilityZone && !zones) fail(`${at}.perAvailabilityZone`, 'needs availabilityZones: the AZ of each subnet names its node group');
    // EKS appends a 26-character suffix to the name prefix; names end at 63 characters.
    for (const zone of ng.perAvailabilityZone ? (zones ?? []) : [undefined]) {
      const prefix = `${zone ? `${ng.name}-${zone}` : ng.name}-`;
      if (prefix.length > 37) fail(`${at}.name`, `'${ng.name}' makes the node group name prefix '${prefix}' longer than 37 characters; shorten it`);
    }
    if (!(ng.minSize <= ng.desiredSize && ng.desiredSize <= ng.maxSize)) {
      fail(`${at}`, `needs minSize <= desiredSize <= maxSize, got ${ng.minSize} <= ${ng.desiredSize} <= ${ng.maxSize}`);
    }
  });
}
