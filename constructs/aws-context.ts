import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';

const ID = 'aws-context';

/**
 * Account, partition and region of the stack's AWS provider, looked up once per stack and
 * shared by every construct that needs to build an ARN or a key policy.
 */
export class AwsContext extends Construct {
  static of(scope: Construct): AwsContext {
    const stack = TerraformStack.of(scope);
    return (stack.node.tryFindChild(ID) as AwsContext | undefined) ?? new AwsContext(stack, ID);
  }

  readonly accountId: string;
  readonly partition: string;
  readonly region: string;
  readonly dnsSuffix: string;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const caller = new DataAwsCallerIdentity(this, 'caller');
    const partition = new DataAwsPartition(this, 'partition');
    const region = new DataAwsRegion(this, 'region');
    this.accountId = caller.accountId;
    this.partition = partition.partition;
    this.dnsSuffix = partition.dnsSuffix;
    this.region = region.region;
  }

  /** `arn:<partition>:<service>:<region>:<account>:<resource>`; pass '' to omit region or account. */
  arn(service: string, resource: string, opts: { region?: string; account?: string } = {}): string {
    return `arn:${this.partition}:${service}:${opts.region ?? this.region}:${opts.account ?? this.accountId}:${resource}`;
  }
}
