/** Typed IAM policy documents, so grants read as data and tests can inspect them. */
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';

export type Principal = { AWS: string | string[] } | { Service: string | string[] } | { Federated: string };

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: Principal;
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export function policyDocument(statements: readonly PolicyStatement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

export interface TrustStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow';
  readonly Principal: Principal;
  readonly Action: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export function trustPolicy(statements: readonly TrustStatement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

/**
 * Attaches an inline policy to a role, scoped under the granting construct so each grant is
 * one reviewable resource in the plan (`<construct>/grant-<role>-<purpose>`).
 */
export function grant(scope: Construct, role: IamRole, purpose: string, statements: readonly PolicyStatement[]): IamRolePolicy {
  return new IamRolePolicy(scope, `grant-${role.node.id}-${purpose}`, {
    name: `${purpose}`,
    role: role.name,
    policy: policyDocument(statements),
  });
}
