/**
 * What Terraform's refresh (the read every plan makes) of each resource and data-source type
 * needs, and whether destroying it loses data. One entry per type that any stack synthesizes;
 * test/invariants/refresh-permissions.test.ts fails naming any type that is missing, checks that
 * every CI plan role is allowed every action (and denied none), that the deploy role's boundary
 * lists every service, and that scripts/ci/plan-summary.ts warns about exactly the data-bearing ones.
 *
 * The IAM actions are the provider's read path (Read plus the tag and sub-resource reads it makes),
 * from the Terraform AWS provider source and the AWS Service Authorization Reference.
 */
import { AwsLocation, Json } from './documents';

/** EKS access policies, each including what the one before it grants. */
export const EKS_VIEW_POLICIES = ['AmazonEKSViewPolicy', 'AmazonEKSAdminViewPolicy'] as const;
export type EksViewPolicy = (typeof EKS_VIEW_POLICIES)[number];

export interface RefreshNeeds {
  /** IAM actions the provider calls to read one of these. */
  readonly iam: readonly string[];
  /**
   * ARNs the actions are called on, where a Deny in the plan role depends on the resource. Absent:
   * the resource is treated as unknown (it must be allowed on `*` and no Deny may touch the action).
   */
  readonly arns?: (resource: Json, aws: AwsLocation, resolve: (value: unknown) => string | undefined) => string[];
  /** Kubernetes API access, through the plan role's EKS access entry, that reading it needs. */
  readonly eks?: EksViewPolicy;
  /** Destroying or replacing it loses data; must match DATA_BEARING_RESOURCES in scripts/ci/plan-summary.ts. */
  readonly dataBearing: boolean;
}

const s3BucketReads = [
  's3:ListBucket',
  's3:GetBucketTagging',
  's3:GetBucketPolicy',
  's3:GetBucketAcl',
  's3:GetBucketCORS',
  's3:GetBucketWebsite',
  's3:GetBucketVersioning',
  's3:GetAccelerateConfiguration',
  's3:GetBucketRequestPayment',
  's3:GetBucketLogging',
  's3:GetLifecycleConfiguration',
  's3:GetReplicationConfiguration',
  's3:GetEncryptionConfiguration',
  's3:GetBucketObjectLockConfiguration',
];

const keyspaceArn = (aws: AwsLocation, keyspace: string) => `arn:${aws.partition}:cassandra:${aws.region}:${aws.accountId}:/keyspace/${keyspace}/`;
const required = (value: string | undefined, what: string): string => {
  if (value === undefined) throw new Error(`refresh-actions: cannot resolve ${what} to a literal to build its ARN`);
  return value;
};

/** A namespaced Kubernetes object: the `view` permissions of AmazonEKSViewPolicy read it. */
const namespaced: RefreshNeeds = { iam: [], eks: 'AmazonEKSViewPolicy', dataBearing: false };

export const REFRESH_NEEDS: Readonly<Record<string, RefreshNeeds>> = {
  // Networking
  aws_vpc: {
    iam: ['ec2:DescribeVpcs', 'ec2:DescribeVpcAttribute', 'ec2:DescribeRouteTables', 'ec2:DescribeNetworkAcls', 'ec2:DescribeSecurityGroups'],
    dataBearing: false,
  },
  aws_subnet: { iam: ['ec2:DescribeSubnets'], dataBearing: false },
  aws_internet_gateway: { iam: ['ec2:DescribeInternetGateways'], dataBearing: false },
  aws_eip: { iam: ['ec2:DescribeAddresses', 'ec2:DescribeAddressesAttribute'], dataBearing: false },
  aws_nat_gateway: { iam: ['ec2:DescribeNatGateways'], dataBearing: false },
  aws_route: { iam: ['ec2:DescribeRouteTables'], dataBearing: false },
  aws_route_table: { iam: ['ec2:DescribeRouteTables'], dataBearing: false },
  aws_route_table_association: { iam: ['ec2:DescribeRouteTables'], dataBearing: false },
  aws_security_group: { iam: ['ec2:DescribeSecurityGroups'], dataBearing: false },
  aws_default_security_group: { iam: ['ec2:DescribeSecurityGroups'], dataBearing: false },
  aws_vpc_security_group_ingress_rule: { iam: ['ec2:DescribeSecurityGroupRules'], dataBearing: false },
  aws_vpc_security_group_egress_rule: { iam: ['ec2:DescribeSecurityGroupRules'], dataBearing: false },
  aws_vpc_endpoint: { iam: ['ec2:DescribeVpcEndpoints', 'ec2:DescribePrefixLists'], dataBearing: false },
  aws_flow_log: { iam: ['ec2:DescribeFlowLogs'], dataBearing: false },
  aws_launch_template: { iam: ['ec2:DescribeLaunchTemplates', 'ec2:DescribeLaunchTemplateVersions'], dataBearing: false },

  // Kafka
  aws_msk_cluster: { iam: ['kafka:DescribeClusterV2', 'kafka:DescribeCluster', 'kafka:GetBootstrapBrokers', 'kafka:ListTagsForResource'], dataBearing: true },
  aws_msk_configuration: { iam: ['kafka:DescribeConfiguration', 'kafka:DescribeConfigurationRevision'], dataBearing: false },
  aws_appautoscaling_target: { iam: ['application-autoscaling:DescribeScalableTargets', 'application-autoscaling:ListTagsForResource'], dataBearing: false },
  aws_appautoscaling_policy: { iam: ['application-autoscaling:DescribeScalingPolicies'], dataBearing: false },

  // Kubernetes (EKS)
  aws_eks_cluster: { iam: ['eks:DescribeCluster'], dataBearing: true },
  aws_eks_node_group: { iam: ['eks:DescribeNodegroup'], dataBearing: false },
  aws_eks_addon: { iam: ['eks:DescribeAddon'], dataBearing: false },
  aws_eks_access_entry: { iam: ['eks:DescribeAccessEntry'], dataBearing: false },
  aws_eks_access_policy_association: { iam: ['eks:ListAssociatedAccessPolicies'], dataBearing: false },
  aws_eks_pod_identity_association: { iam: ['eks:DescribePodIdentityAssociation'], dataBearing: false },

  // Keyspaces: GetKeyspace, GetTable and ListTagsForResource are all authorised by cassandra:Select.
  aws_keyspaces_keyspace: {
    iam: ['cassandra:Select'],
    arns: (r, aws, resolve) => [keyspaceArn(aws, required(resolve(r.name), 'aws_keyspaces_keyspace.name'))],
    dataBearing: true,
  },
  aws_keyspaces_table: {
    iam: ['cassandra:Select'],
    arns: (r, aws, resolve) => [
      `${keyspaceArn(aws, required(resolve(r.keyspace_name), 'aws_keyspaces_table.keyspace_name'))}table/${required(resolve(r.table_name), 'aws_keyspaces_table.table_name')}`,
    ],
    dataBearing: true,
  },

  // Lake
  aws_s3_bucket: { iam: s3BucketReads, dataBearing: true },
  aws_s3_bucket_policy: { iam: ['s3:GetBucketPolicy'], dataBearing: false },
  aws_s3_bucket_versioning: { iam: ['s3:GetBucketVersioning'], dataBearing: false },
  aws_s3_bucket_lifecycle_configuration: { iam: ['s3:GetLifecycleConfiguration'], dataBearing: false },
  aws_s3_bucket_logging: { iam: ['s3:GetBucketLogging'], dataBearing: false },
  aws_s3_bucket_ownership_controls: { iam: ['s3:GetBucketOwnershipControls'], dataBearing: false },
  aws_s3_bucket_public_access_block: { iam: ['s3:GetBucketPublicAccessBlock'], dataBearing: false },
  aws_s3_bucket_server_side_encryption_configuration: { iam: ['s3:GetEncryptionConfiguration'], dataBearing: false },
  aws_glue_catalog_database: { iam: ['glue:GetDatabase', 'glue:GetTags'], dataBearing: true },
  // Glue authorises a table read on the catalog, the database and the table.
  aws_glue_catalog_table: {
    iam: ['glue:GetTable', 'glue:GetPartitionIndexes'],
    arns: (r, aws, resolve) => {
      const glue = `arn:${aws.partition}:glue:${aws.region}:${aws.accountId}`;
      const database = required(resolve(r.database_name), 'aws_glue_catalog_table.database_name');
      return [`${glue}:catalog`, `${glue}:database/${database}`, `${glue}:table/${database}/${required(resolve(r.name), 'aws_glue_catalog_table.name')}`];
    },
    dataBearing: true,
  },
  // Schema registry: every version is re-registered from apps/contracts, and events carry their own version.
  aws_glue_registry: { iam: ['glue:GetRegistry', 'glue:GetTags'], dataBearing: false },
  aws_glue_schema: { iam: ['glue:GetSchema', 'glue:GetSchemaVersion', 'glue:GetTags'], dataBearing: false },
  // Query results live in S3, not in the workgroup.
  aws_athena_workgroup: { iam: ['athena:GetWorkGroup', 'athena:ListTagsForResource'], dataBearing: false },

  // Encryption, identity, registry
  aws_kms_key: { iam: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags'], dataBearing: true },
  aws_kms_alias: { iam: ['kms:ListAliases'], dataBearing: false },
  aws_iam_role: { iam: ['iam:GetRole', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies'], dataBearing: false },
  aws_iam_role_policy: { iam: ['iam:GetRolePolicy'], dataBearing: false },
  aws_iam_role_policy_attachment: { iam: ['iam:ListAttachedRolePolicies'], dataBearing: false },
  aws_iam_policy: { iam: ['iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyTags'], dataBearing: false },
  aws_iam_openid_connect_provider: { iam: ['iam:GetOpenIDConnectProvider'], dataBearing: false },
  aws_ecr_repository: { iam: ['ecr:DescribeRepositories', 'ecr:ListTagsForResource'], dataBearing: true },
  aws_ecr_lifecycle_policy: { iam: ['ecr:GetLifecyclePolicy'], dataBearing: false },
  aws_ecr_repository_policy: { iam: ['ecr:GetRepositoryPolicy'], dataBearing: false },
  aws_ecr_registry_scanning_configuration: { iam: ['ecr:GetRegistryScanningConfiguration'], dataBearing: false },

  // Monitoring
  aws_cloudwatch_log_group: { iam: ['logs:DescribeLogGroups', 'logs:ListTagsForResource'], dataBearing: true },
  aws_cloudwatch_metric_alarm: { iam: ['cloudwatch:DescribeAlarms', 'cloudwatch:ListTagsForResource'], dataBearing: false },
  aws_cloudwatch_dashboard: { iam: ['cloudwatch:GetDashboard'], dataBearing: false },
  aws_sns_topic: { iam: ['sns:GetTopicAttributes', 'sns:ListTagsForResource'], dataBearing: false },
  aws_sns_topic_policy: { iam: ['sns:GetTopicAttributes'], dataBearing: false },
  aws_sns_topic_subscription: { iam: ['sns:GetSubscriptionAttributes'], dataBearing: false },

  // In-cluster. Helm keeps each release in a Secret of its namespace, which only AdminView reads.
  helm_release: { iam: [], eks: 'AmazonEKSAdminViewPolicy', dataBearing: false },
  kubernetes_namespace_v1: { iam: [], eks: 'AmazonEKSViewPolicy', dataBearing: true },
  kubernetes_config_map_v1: namespaced,
  kubernetes_deployment_v1: namespaced,
  kubernetes_job_v1: namespaced,
  kubernetes_network_policy_v1: namespaced,
  kubernetes_pod_disruption_budget_v1: namespaced,
  kubernetes_service_account_v1: namespaced,
  kubernetes_service_v1: namespaced,
  // Cluster-scoped, outside the namespaced `view` permissions.
  kubernetes_storage_class_v1: { iam: [], eks: 'AmazonEKSAdminViewPolicy', dataBearing: false },

  // Data sources (read on every plan; never destroyed)
  'data.aws_caller_identity': { iam: ['sts:GetCallerIdentity'], dataBearing: false },
  'data.aws_partition': { iam: [], dataBearing: false },
  'data.aws_region': { iam: [], dataBearing: false },
  'data.aws_eks_addon_version': { iam: ['eks:DescribeAddonVersions'], dataBearing: false },
  'data.aws_iam_openid_connect_provider': { iam: ['iam:ListOpenIDConnectProviders', 'iam:GetOpenIDConnectProvider'], dataBearing: false },
};

/** The table key of a synthesized type: resources by type, data sources as `data.<type>`. */
export const refreshKey = (mode: 'resource' | 'data', type: string) => (mode === 'data' ? `data.${type}` : type);
