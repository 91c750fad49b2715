/**
 * The part of IAM policy evaluation the graph invariants need: does a set of identity policies
 * allow an action on a resource, and does any Deny apply to it. Wildcards follow IAM: `*` is any
 * run of characters, `?` exactly one; actions compare case-insensitively, resources exactly.
 *
 * It never guesses in the permissive direction. Without a request context, a conditional Allow
 * does not count as allowing and a conditional Deny counts as denying; a resource that is not
 * known (undefined) is matched only by `"*"` in an Allow, and by every Resource/NotResource in
 * a Deny. So "allowed" here means allowed for every request, and "not denied" means no Deny could
 * apply. It does not model SCPs, permissions boundaries or resource policies.
 */
import { list, PolicyDocumentJson, PolicyStatementJson } from './documents';

/** IAM wildcard match of a whole string. */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, caseInsensitive ? 'is' : 's').test(value);
}

const matchesAction = (s: PolicyStatementJson, action: string): boolean => {
  if (s.Action !== undefined) return list(s.Action).some((p) => wildcardMatch(p, action, true));
  if (s.NotAction !== undefined) return !list(s.NotAction).some((p) => wildcardMatch(p, action, true));
  return false;
};

/** Whether the statement's resource element surely (Allow) or possibly (Deny) covers the resource. */
function matchesResource(s: PolicyStatementJson, resource: string | undefined, mode: 'surely' | 'possibly'): boolean {
  if (resource === undefined) {
    if (mode === 'possibly') return s.Resource !== undefined || s.NotResource !== undefined;
    return list(s.Resource).includes('*');
  }
  if (s.Resource !== undefined) return list(s.Resource).some((p) => wildcardMatch(p, resource));
  if (s.NotResource !== undefined) return !list(s.NotResource).some((p) => wildcardMatch(p, resource));
  return false;
}

export interface Evaluation {
  readonly allowedBy: readonly PolicyStatementJson[];
  readonly deniedBy: readonly PolicyStatementJson[];
}

/** Which statements of the documents allow (unconditionally) and which could deny the request. */
export function evaluate(documents: readonly PolicyDocumentJson[], action: string, resource?: string): Evaluation {
  const statements = documents.flatMap((d) => d.Statement);
  return {
    allowedBy: statements.filter((s) => s.Effect === 'Allow' && !s.Condition && matchesAction(s, action) && matchesResource(s, resource, 'surely')),
    deniedBy: statements.filter((s) => s.Effect === 'Deny' && matchesAction(s, action) && matchesResource(s, resource, 'possibly')),
  };
}
