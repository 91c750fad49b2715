import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { Construct } from 'constructs';
import { AwsContext } from '../aws-context';
import { cloudWatchLogsKeyStatement, EncryptionKey } from '../kms-key';
import { namespace } from '../kubernetes';
import { ClusterAddon, HelmChart } from './contract';

export const AWS_FOR_FLUENT_BIT_CHART: HelmChart = { repository: 'https://aws.github.io/eks-charts', chart: 'aws-for-fluent-bit', version: '0.2.1' };

const SERVICE_ACCOUNT = 'aws-for-fluent-bit';

export interface AwsForFluentBitSettings {
  readonly clusterName: string;
  /** Retention of the container log group. */
  readonly retentionInDays: number;
  /** CMK for the container log group. @default a key created for the group */
  readonly kmsKeyArn?: string;
  /** @default 'logging' */
  readonly namespace?: string;
  /** Terraform `prevent_destroy` on the key created for the log group. @default false */
  readonly preventDestroy?: boolean;
}

/**
 * Fluent Bit shipping container logs to a KMS-encrypted log group; its role may write to that
 * group only. Its namespace is `privileged` (it reads host paths).
 */
export function awsForFluentBit(scope: Construct, settings: AwsForFluentBitSettings): ClusterAddon & { readonly logGroup: CloudwatchLogGroup } {
  const ctx = AwsContext.of(scope);
  const ns = namespace(scope, 'logging-namespace', settings.namespace ?? 'logging', 'privileged');
  const logGroupName = `/aws/eks/${settings.clusterName}/containers`;
  const kmsKeyId =
    settings.kmsKeyArn ??
    new EncryptionKey(scope, 'log-key', {
      alias: `${settings.clusterName}-container-logs`,
      description: `Encrypts the container logs of EKS cluster ${settings.clusterName}`,
      additionalStatements: [cloudWatchLogsKeyStatement(scope, logGroupName, 'CloudWatchLogsEncryptsContainerLogs')],
      preventDestroy: settings.preventDestroy,
    }).arn;
  const logGroup = new CloudwatchLogGroup(scope, 'container-logs', { name: logGroupName, retentionInDays: settings.retentionInDays, kmsKeyId });
  return {
    name: 'aws-for-fluent-bit',
    chart: AWS_FOR_FLUENT_BIT_CHART,
    namespace: ns.metadata.name,
    logGroup,
    podIdentity: {
      roleId: 'fluent-bit',
      serviceAccount: SERVICE_ACCOUNT,
      policy: {
        name: 'write-container-logs',
        statements: [
          {
            Sid: 'WriteContainerLogs',
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: [logGroup.arn, `${logGroup.arn}:log-stream:*`],
          },
        ],
      },
    },
    values: {
      cloudWatchLogs: { region: ctx.region, logGroupName: logGroup.name },
      serviceAccount: { create: true, name: SERVICE_ACCOUNT },
    },
  };
}
