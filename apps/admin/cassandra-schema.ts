/**
 * Idempotent Cassandra schema: the keyspace and the tables declared in apps/contracts/tables.ts,
 * with CQL from `createKeyspaceCql` / `createTableCql` (the schema is never written twice).
 *
 * Additive drift is repaired (missing regular columns, default TTL); anything that would need a
 * table rebuild (primary key, column types) or a repair (replication factor) is only reported.
 * Takes a connected client that is NOT bound to the keyspace, since the keyspace may not exist yet.
 */
import { Client } from 'cassandra-driver';
import { z } from 'zod';
import { createKeyspaceCql, createTableCql, cqlName, TableDeclaration, tables as declaredTables } from '../contracts/tables';
import type { AdminLogger } from './topics';

const tableNames = declaredTables.map((t) => t.name);

export const ensureCassandraSchemaOptionsSchema = z.object({
  /** Interpolated into CQL, so restricted to Cassandra's unquoted identifier syntax. */
  keyspace: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'must be lower_snake_case, start with a letter and be at most 48 characters'),
  replicationFactor: z.number().int().min(1),
  /** Default TTL per table name; tables not listed keep data forever (0). */
  ttlSeconds: z
    .record(z.string(), z.number().int().min(0))
    .refine((m) => Object.keys(m).every((k) => tableNames.includes(k)), {
      message: `keys must be declared table names (${tableNames.join(', ')})`,
    })
    .optional(),
});

export interface EnsureCassandraSchemaOptions extends z.input<typeof ensureCassandraSchemaOptionsSchema> {
  readonly logger?: AdminLogger;
  /** @default the tables declared in apps/contracts/tables.ts */
  readonly tables?: readonly TableDeclaration[];
}

export interface EnsureCassandraSchemaSummary {
  readonly keyspaceCreated: boolean;
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly unchanged: readonly string[];
  readonly warnings: readonly string[];
}

interface ColumnRow {
  readonly name: string;
  readonly type: string;
  readonly kind: string;
  readonly position: number;
  readonly order: string;
}

/** `map<text, text>` and `map<text,text>` are one type; `varchar` is an alias of `text`. */
const normalizeType = (t: string): string =>
  t
    .toLowerCase()
    .replace(/\s+/g, '')
    .replace(/\bvarchar\b/g, 'text');

const ddl = { prepare: false } as const;

/** Primary key as "(pk1, pk2), ck1 ASC, ck2 DESC", comparable between the declaration and the cluster. */
function declaredKey(t: TableDeclaration): string {
  return `(${t.partitionKey.join(', ')}), ${t.clusteringKey.map((c) => `${c.name} ${c.order}`).join(', ')}`;
}

function existingKey(cols: readonly ColumnRow[]): string {
  const byPos = (kind: string) => cols.filter((c) => c.kind === kind).sort((a, b) => a.position - b.position);
  const pk = byPos('partition_key').map((c) => c.name);
  const ck = byPos('clustering').map((c) => `${c.name} ${c.order.toUpperCase()}`);
  return `(${pk.join(', ')}), ${ck.join(', ')}`;
}

/** Creates the keyspace and declared tables when missing and repairs additive drift. Re-running changes nothing. */
export async function ensureCassandraSchema(client: Client, options: EnsureCassandraSchemaOptions): Promise<EnsureCassandraSchemaSummary> {
  const parsed = ensureCassandraSchemaOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`ensureCassandraSchema options are invalid:\n${z.prettifyError(parsed.error)}`);
  const { keyspace, replicationFactor, ttlSeconds = {} } = parsed.data;
  const tables = options.tables ?? declaredTables;
  const { logger } = options;
  const warnings: string[] = [];

  const ks = await client.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [keyspace], {
    prepare: true,
  });
  const keyspaceCreated = ks.rowLength === 0;
  if (keyspaceCreated) {
    await client.execute(createKeyspaceCql(keyspace, replicationFactor), [], ddl);
    logger?.info({ keyspace, replicationFactor }, 'keyspace created');
  } else {
    const replication = ks.first().get('replication') as Record<string, string>;
    const current = Number(replication.replication_factor);
    if (replication.replication_factor === undefined) {
      warnings.push(`keyspace ${keyspace}: uses ${replication.class}, replication left as configured`);
    } else if (current !== replicationFactor) {
      warnings.push(
        `keyspace ${keyspace}: replication factor is ${current}, expected ${replicationFactor}; ` +
          'change it with ALTER KEYSPACE followed by a full repair, not automatically',
      );
    }
  }

  const [tableRows, columnRows] = await Promise.all([
    client.execute('SELECT table_name, default_time_to_live FROM system_schema.tables WHERE keyspace_name = ?', [keyspace], {
      prepare: true,
    }),
    client.execute('SELECT table_name, column_name, type, kind, position, clustering_order FROM system_schema.columns WHERE keyspace_name = ?', [keyspace], {
      prepare: true,
    }),
  ]);
  const ttlByTable = new Map<string, number>(tableRows.rows.map((r) => [r.get('table_name'), r.get('default_time_to_live')]));
  const columnsByTable = new Map<string, ColumnRow[]>();
  for (const r of columnRows.rows) {
    const list = columnsByTable.get(r.get('table_name')) ?? [];
    list.push({
      name: r.get('column_name'),
      type: r.get('type'),
      kind: r.get('kind'),
      position: r.get('position'),
      order: r.get('clustering_order'),
    });
    columnsByTable.set(r.get('table_name'), list);
  }

  const created: string[] = [];
  const updated: string[] = [];
  const unchanged: string[] = [];
  for (const table of tables) {
    const ttl = ttlSeconds[table.name] ?? 0;
    const qualified = `${keyspace}.${table.name}`;
    if (!ttlByTable.has(table.name)) {
      await client.execute(createTableCql(keyspace, table, ttl), [], ddl);
      logger?.info({ table: qualified, ttlSeconds: ttl }, 'table created');
      created.push(table.name);
      continue;
    }

    const existing = columnsByTable.get(table.name) ?? [];
    const byName = new Map(existing.map((c) => [c.name, c]));
    const keyColumns = new Set([...table.partitionKey, ...table.clusteringKey.map((c) => c.name)]);
    let changed = false;

    if (existingKey(existing) !== declaredKey(table)) {
      warnings.push(
        `${qualified}: primary key is ${existingKey(existing)}, declared ${declaredKey(table)}; ` +
          'a primary key cannot change in place (create a new table and migrate)',
      );
    }
    for (const col of table.columns) {
      const current = byName.get(col.name);
      if (!current) {
        if (keyColumns.has(col.name)) continue; // already reported with the primary key
        await client.execute(`ALTER TABLE ${qualified} ADD ${cqlName(col.name)} ${col.type}`, [], ddl);
        logger?.info({ table: qualified, column: col.name, type: col.type }, 'column added');
        changed = true;
      } else if (normalizeType(current.type) !== normalizeType(col.type)) {
        warnings.push(
          `${qualified}.${col.name}: type is ${current.type}, declared ${col.type}; Cassandra cannot change a column type ` +
            '(locally: `npx tsx scripts/local/local-services.ts reset cassandra`, then `up`; elsewhere: add a new column and backfill)',
        );
      }
    }
    const declaredNames = new Set(table.columns.map((c) => c.name));
    for (const extra of existing.filter((c) => !declaredNames.has(c.name))) {
      warnings.push(`${qualified}.${extra.name}: column is not declared in apps/contracts/tables.ts (left in place)`);
    }
    if (ttlByTable.get(table.name) !== ttl) {
      await client.execute(`ALTER TABLE ${qualified} WITH default_time_to_live = ${ttl}`, [], ddl);
      logger?.info({ table: qualified, from: ttlByTable.get(table.name), to: ttl }, 'default TTL updated');
      changed = true;
    }
    (changed ? updated : unchanged).push(table.name);
  }
  for (const w of warnings) logger?.warn({}, w);
  return { keyspaceCreated, created, updated, unchanged, warnings };
}
