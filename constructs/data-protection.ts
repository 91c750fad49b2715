/**
 * Environment-wide protection settings that apply to every resource of a kind, wherever in the
 * stack it is created, so a key or log group added by any construct gets them too.
 */
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { IAspect } from 'cdktf';
import { IConstruct } from 'constructs';

export interface DataProtectionProps {
  /** Waiting period (7-30 days) of every KMS key before a scheduled deletion takes effect. */
  readonly kmsDeletionWindowDays: number;
  /**
   * Terraform `prevent_destroy` on every CloudWatch log group: audit, flow and control-plane
   * logs are evidence, and recreating a group deletes its events.
   */
  readonly preventLogGroupDestroy: boolean;
}

/** Apply once per stack: `Aspects.of(stack).add(new DataProtection({...}))`. */
export class DataProtection implements IAspect {
  constructor(private readonly props: DataProtectionProps) {
    const days = props.kmsDeletionWindowDays;
    if (!Number.isInteger(days) || days < 7 || days > 30) {
      throw new Error(`DataProtection: kmsDeletionWindowDays (${days}) must be a whole number of days from 7 to 30, as KMS requires`);
    }
  }

  visit(node: IConstruct): void {
    if (node instanceof KmsKey) node.deletionWindowInDays = this.props.kmsDeletionWindowDays;
    if (node instanceof CloudwatchLogGroup && this.props.preventLogGroupDestroy) {
      node.lifecycle = { ...node.lifecycle, preventDestroy: true };
    }
  }
}
