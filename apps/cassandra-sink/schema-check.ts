/**
 * Startup check that the live tables match the contract's declarations, so a missing table or
 * column stops the sink with one clear message instead of a crash loop of failing INSERTs.
 */
import type { TableDeclaration } from '../contracts/tables';

export interface LiveTable {
  readonly columns: readonly { readonly name: string }[];
  readonly partitionKeys: readonly { readonly name: string }[];
  readonly clusteringKeys: readonly { readonly name: string }[];
}

export function schemaProblems(keyspace: string, declared: TableDeclaration, live: LiveTable | null | undefined): string[] {
  const where = `${keyspace}.${declared.name}`;
  if (!live) return [`table ${where} does not exist (create it from apps/contracts/tables.ts)`];
  const problems: string[] = [];
  const liveColumns = new Set(live.columns.map((c) => c.name));
  for (const c of declared.columns) {
    if (!liveColumns.has(c.name)) problems.push(`table ${where} has no column "${c.name}" (${c.type})`);
  }
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const livePk = live.partitionKeys.map((c) => c.name);
  if (!same(livePk, declared.partitionKey)) {
    problems.push(`table ${where} partition key is (${livePk.join(', ')}), the contract declares (${declared.partitionKey.join(', ')})`);
  }
  const liveCk = live.clusteringKeys.map((c) => c.name);
  const declaredCk = declared.clusteringKey.map((c) => c.name);
  if (!same(liveCk, declaredCk)) {
    problems.push(`table ${where} clustering key is (${liveCk.join(', ')}), the contract declares (${declaredCk.join(', ')})`);
  }
  return problems;
}

export interface SchemaSource {
  getTable(keyspace: string, table: string): Promise<LiveTable | null | undefined>;
}

export async function verifyTables(metadata: SchemaSource, keyspace: string, tables: readonly TableDeclaration[]): Promise<void> {
  const problems = (await Promise.all(tables.map(async (t) => schemaProblems(keyspace, t, await metadata.getTable(keyspace, t.name))))).flat();
  if (problems.length > 0) throw new Error(`Cassandra schema does not match the contract:\n  - ${problems.join('\n  - ')}`);
}
