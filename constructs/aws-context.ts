import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';

const ID = 'aws-context';

/** Account, partition and region a stack already knows as plain values (from its config). */
export interface KnownAwsAccount {
  readonly accountId: string;
  readonly partition: string;
  readonly region: string;
  /** @default the partition's, for `aws`, `aws-cn` and `aws-us-gov` */
  readonly dnsSuffix?: string;
}

const DNS_SUFFIXES: Readonly<Record<string, string>> = { aws: 'amazonaws.com', 'aws-cn': 'amazonaws.com.cn', 'aws-us-gov': 'amazonaws.com' };

/**
 * Account, partition and region of the stack's AWS provider, looked up once per stack and
 * shared by every construct that needs to build an ARN or a key policy.
 */
export class AwsContext extends Construct {
  static of(scope: Construct): AwsContext {
    const stack = TerraformStack.of(scope);
    return (stack.node.tryFindChild(ID) as AwsContext | undefined) ?? new AwsContext(stack, ID);
  }

  /**
   * Use plain values instead of data-source lookups, so ARNs and policies render as literals
   * (the bootstrap stack, whose policies name its buckets before they exist). Call it before
   * any construct of the stack asks for the context.
   */
  static provide(scope: Construct, known: KnownAwsAccount): AwsContext {
    const stack = TerraformStack.of(scope);
    if (stack.node.tryFindChild(ID)) throw new Error(`${stack.node.path}: AwsContext.provide must come before any construct uses AwsContext.of`);
    return new AwsContext(stack, ID, known);
  }

  readonly accountId: string;
  readonly partition: string;
  readonly region: string;
  readonly dnsSuffix: string;

  private constructor(scope: Construct, id: string, known?: KnownAwsAccount) {
    super(scope, id);
    if (known) {
      const dnsSuffix = known.dnsSuffix ?? DNS_SUFFIXES[known.partition];
      if (!dnsSuffix) throw new Error(`${scope.node.path}: AwsContext.provide: dnsSuffix is required for partition '${known.partition}'`);
      this.accountId = known.accountId;
      this.partition = known.partition;
      this.region = known.region;
      this.dnsSuffix = dnsSuffix;
      return;
    }
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
