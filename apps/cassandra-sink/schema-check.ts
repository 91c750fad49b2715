/**
 * Startup check that the live tables match the contract's declarations, so a missing table or
 * column, or a column of another type, stops the sink with one clear message instead of a crash
 * loop of failing INSERTs or, worse, writes the contract's readers would misread.
 */
import { types } from 'cassandra-driver';
import type { TableDeclaration } from '../contracts/tables';

/** A column type as the driver's schema metadata describes it. */
export interface LiveType {
  readonly code: number;
  readonly info?: LiveType | readonly LiveType[] | string | null;
  readonly options?: { readonly frozen?: boolean };
}

export interface LiveTable {
  readonly columns: readonly { readonly name: string; readonly type: LiveType }[];
  readonly partitionKeys: readonly { readonly name: string }[];
  readonly clusteringKeys: readonly { readonly name: string }[];
}

const typeNames = new Map<number, string>(
  Object.entries(types.dataTypes)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .map(([name, code]) => [code, name]),
);

/** CQL text of a live type: `frozen<map<text, text>>`, `text` (the driver's `varchar`). */
export function cqlTypeName(t: LiveType): string {
  const name = typeNames.get(t.code) ?? `type ${t.code}`;
  let text: string;
  if (Array.isArray(t.info)) text = `${name}<${(t.info as readonly LiveType[]).map(cqlTypeName).join(', ')}>`;
  else if (t.info && typeof t.info === 'object') text = `${name}<${cqlTypeName(t.info as LiveType)}>`;
  else if (typeof t.info === 'string' && t.info)
    text = t.info; // a UDT or custom type's own name
  else text = name;
  return t.options?.frozen ? `frozen<${text}>` : text;
}

/** `map<text, text>` and `map<text,text>` are one type; `varchar` is an alias of `text`. */
const normalizeType = (t: string): string =>
  t
    .toLowerCase()
    .replace(/\s+/g, '')
    .replace(/\bvarchar\b/g, 'text');

export function schemaProblems(keyspace: string, declared: TableDeclaration, live: LiveTable | null | undefined): string[] {
  const where = `${keyspace}.${declared.name}`;
  if (!live) return [`table ${where} does not exist (create it from apps/contracts/tables.ts)`];
  const problems: string[] = [];
  const liveColumns = new Map(live.columns.map((c) => [c.name, c]));
  for (const c of declared.columns) {
    const current = liveColumns.get(c.name);
    if (!current) {
      problems.push(`table ${where} has no column "${c.name}" (${c.type})`);
    } else if (normalizeType(cqlTypeName(current.type)) !== normalizeType(c.type)) {
      problems.push(
        `table ${where} column "${c.name}" is ${cqlTypeName(current.type)}, the contract declares ${c.type}: ` +
          'a column type cannot change in place (locally: `npx tsx scripts/local/local-services.ts reset cassandra`, then `up`)',
      );
    }
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
