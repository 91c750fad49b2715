import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { Construct } from 'constructs';
import { AwsContext } from './aws-context';
import { policyDocument, PolicyStatement } from './iam';

export interface EncryptionKeyProps {
  /** Alias without the `alias/` prefix, e.g. `sdp-dev-msk`. */
  readonly alias: string;
  readonly description: string;
  /**
   * Waiting period before a scheduled deletion takes effect.
   * @default 30
   */
  readonly deletionWindowInDays?: number;
  /**
   * Extra key-policy statements, for AWS services that must use the key directly
   * (CloudWatch Logs, SNS publishers). IAM principals of this account are granted through IAM.
   * @default []
   */
  readonly additionalStatements?: readonly PolicyStatement[];
  /**
   * Terraform `prevent_destroy`: deleting the key makes every object encrypted with it unreadable.
   * @default false
   */
  readonly preventDestroy?: boolean;
}

/**
 * Key-policy statement letting CloudWatch Logs use a key for exactly one log group (the
 * encryption context names it), as a KMS-encrypted log group requires.
 */
export function cloudWatchLogsKeyStatement(scope: Construct, logGroupName: string, sid = 'CloudWatchLogsEncryptsLogGroup'): PolicyStatement {
  const ctx = AwsContext.of(scope);
  return {
    Sid: sid,
    Effect: 'Allow',
    Principal: { Service: `logs.${ctx.region}.${ctx.dnsSuffix}` },
    Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    Resource: '*',
    Condition: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': ctx.arn('logs', `log-group:${logGroupName}`) } },
  };
}

/**
 * A customer-managed KMS key with yearly rotation and a key policy that delegates to this
 * account's IAM (never `Principal: "*"`), plus an alias.
 */
export class EncryptionKey extends Construct {
  readonly key: KmsKey;
  readonly alias: KmsAlias;
  readonly arn: string;
  readonly keyId: string;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps) {
    super(scope, id);
    const ctx = AwsContext.of(this);
    const statements: PolicyStatement[] = [
      {
        Sid: 'AccountAdministersKeyThroughIam',
        Effect: 'Allow',
        Principal: { AWS: `arn:${ctx.partition}:iam::${ctx.accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      ...(props.additionalStatements ?? []),
    ];
    this.key = new KmsKey(this, 'key', {
      description: props.description,
      enableKeyRotation: true,
      deletionWindowInDays: props.deletionWindowInDays ?? 30,
      policy: policyDocument(statements),
      lifecycle: props.preventDestroy ? { preventDestroy: true } : undefined,
    });
    this.alias = new KmsAlias(this, 'alias', { name: `alias/${props.alias}`, targetKeyId: this.key.keyId });
    this.arn = this.key.arn;
    this.keyId = this.key.keyId;
  }
}
