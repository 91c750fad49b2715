import { Construct } from 'constructs';
import { AwsContext } from '../aws-context';
import { ClusterAddon, HelmChart } from './contract';

export const CLUSTER_AUTOSCALER_CHART: HelmChart = { repository: 'https://kubernetes.github.io/autoscaler', chart: 'cluster-autoscaler', version: '9.52.1' };

/** cluster-autoscaler's minor version must match the cluster's. */
export const CLUSTER_AUTOSCALER_IMAGE_TAGS: Readonly<Record<string, string>> = {
  '1.32': 'v1.32.5',
  '1.33': 'v1.33.3',
  '1.34': 'v1.34.2',
};

/** cluster-autoscaler's read-only calls (AWS cloud provider README); none supports resource-level permissions. */
export const CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS = [
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:DescribeAutoScalingInstances',
  'autoscaling:DescribeLaunchConfigurations',
  'autoscaling:DescribeScalingActivities',
  'autoscaling:DescribeTags',
  'ec2:DescribeImages',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeLaunchTemplateVersions',
  'ec2:GetInstanceTypesFromInstanceRequirements',
] as const;

const SERVICE_ACCOUNT = 'cluster-autoscaler';

export interface ClusterAutoscalerSettings {
  readonly clusterName: string;
  /** Kubernetes minor version of the cluster, e.g. `1.33`; picks the image. */
  readonly kubernetesVersion: string;
  /** Only one is active (leader election); a second takes over faster. @default 1 */
  readonly replicas?: number;
}

/** cluster-autoscaler, allowed to resize only the Auto Scaling groups tagged as this cluster's. */
export function clusterAutoscaler(scope: Construct, settings: ClusterAutoscalerSettings): ClusterAddon {
  const ctx = AwsContext.of(scope);
  const { clusterName, kubernetesVersion } = settings;
  const imageTag = CLUSTER_AUTOSCALER_IMAGE_TAGS[kubernetesVersion];
  if (!imageTag) {
    throw new Error(
      `${scope.node.path}: kubernetesVersion '${kubernetesVersion}' has no pinned cluster-autoscaler image; supported: ${Object.keys(CLUSTER_AUTOSCALER_IMAGE_TAGS).join(', ')}`,
    );
  }
  return {
    name: 'cluster-autoscaler',
    chart: CLUSTER_AUTOSCALER_CHART,
    namespace: 'kube-system',
    podIdentity: {
      roleId: 'cluster-autoscaler',
      serviceAccount: SERVICE_ACCOUNT,
      policy: {
        name: 'scale-node-groups',
        statements: [
          {
            Sid: 'ResizeOwnNodeGroups',
            Effect: 'Allow',
            Action: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
            Resource: ctx.arn('autoscaling', 'autoScalingGroup:*:autoScalingGroupName/*'),
            Condition: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: 'owned' } },
          },
          // These read-only calls do not support resource-level permissions.
          { Sid: 'DiscoverNodeGroups', Effect: 'Allow', Action: [...CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS], Resource: '*' },
          { Sid: 'DescribeOwnManagedNodeGroups', Effect: 'Allow', Action: 'eks:DescribeNodegroup', Resource: ctx.arn('eks', `nodegroup/${clusterName}/*/*`) },
        ],
      },
    },
    values: {
      autoDiscovery: { clusterName },
      awsRegion: ctx.region,
      image: { tag: imageTag },
      replicaCount: settings.replicas ?? 1,
      rbac: { serviceAccount: { create: true, name: SERVICE_ACCOUNT } },
    },
  };
}
