import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { KeyspacesKeyspace } from '@cdktf/provider-aws/lib/keyspaces-keyspace';
import { KeyspacesTable } from '@cdktf/provider-aws/lib/keyspaces-table';
import { Construct } from 'constructs';
import { TableDeclaration } from '../apps/contracts/tables';
import { AwsContext } from './aws-context';
import { grant, PolicyStatement } from './iam';
import { EncryptionKey } from './kms-key';

/** Keyspaces caps `default_time_to_live` at 20 years. */
const MAX_TTL_SECONDS = 630_720_000;

export interface KeyspaceCapacity {
  /**
   * On-demand scales with the stream without capacity planning; provisioned is cheaper for a
   * steady, known load.
   */
  readonly mode: 'PAY_PER_REQUEST' | 'PROVISIONED';
  /** Required for PROVISIONED; applied to every table. */
  readonly readCapacityUnits?: number;
  /** Required for PROVISIONED; applied to every table. */
  readonly writeCapacityUnits?: number;
}

export interface KeyspaceProps {
  /** Keyspace name, e.g. `telemetry_dev`: 1-48 letters, digits or `_`, starting with a letter or digit. */
  readonly keyspaceName: string;

  // Schema
  /** Table declarations from `apps/contracts/tables.ts`, the single source of the schema. */
  readonly tables: readonly TableDeclaration[];
  /**
   * Default TTL per table name, in seconds; a value above 0 turns on TTL for that table.
   * Keyspaces cannot turn TTL off again once it is on.
   * @default {} (no expiry)
   */
  readonly ttlSeconds?: Readonly<Record<string, number>>;

  // Capacity
  /** @default { mode: 'PAY_PER_REQUEST' } */
  readonly capacity?: KeyspaceCapacity;

  // Backup
  /**
   * Continuous backups with 35 days of point-in-time restore.
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;

  // Encryption
  readonly encryption?: {
    /**
     * Customer-managed key for every table.
     * @default a new EncryptionKey with rotation, alias `keyspaces-<keyspaceName>`
     */
    readonly kmsKey?: EncryptionKey;
  };

  // Protection
  /**
   * Terraform `prevent_destroy` on the keyspace and its tables.
   * @default false
   */
  readonly preventDestroy?: boolean;
}

/**
 * An Amazon Keyspaces keyspace with one table per contract declaration: CMK encryption,
 * point-in-time recovery, on-demand capacity and per-table TTL by default.
 * Apps get access through `grantWrite` / `grantRead`, scoped to exact table ARNs.
 */
export class Keyspace extends Construct {
  readonly keyspace: KeyspacesKeyspace;
  readonly keyspaceName: string;
  readonly keyspaceArn: string;
  /** Declared table names, in declaration order. */
  readonly tableNames: readonly string[];
  /** The `aws_keyspaces_table` resources by declared table name. */
  readonly tables: Readonly<Record<string, KeyspacesTable>>;
  readonly kmsKey: EncryptionKey;

  private readonly ctx: AwsContext;

  constructor(scope: Construct, id: string, props: KeyspaceProps) {
    super(scope, id);
    validate(props);
    this.ctx = AwsContext.of(this);
    const lifecycle = props.preventDestroy ? { preventDestroy: true } : undefined;
    const capacity = props.capacity ?? { mode: 'PAY_PER_REQUEST' };
    const ttl = props.ttlSeconds ?? {};

    this.kmsKey =
      props.encryption?.kmsKey ??
      new EncryptionKey(this, 'key', {
        alias: `keyspaces-${props.keyspaceName}`,
        description: `Amazon Keyspaces tables of keyspace ${props.keyspaceName}`,
        preventDestroy: props.preventDestroy,
      });

    this.keyspace = new KeyspacesKeyspace(this, 'keyspace', { name: props.keyspaceName, lifecycle });
    this.keyspaceName = props.keyspaceName;
    this.keyspaceArn = this.keyspace.arn;
    this.tableNames = props.tables.map((t) => t.name);

    const tables: Record<string, KeyspacesTable> = {};
    for (const table of props.tables) {
      const ttlSeconds = ttl[table.name] ?? 0;
      tables[table.name] = new KeyspacesTable(this, `table-${table.name}`, {
        // The keyspace resource's name (not the literal) orders table creation after the keyspace.
        keyspaceName: this.keyspace.name,
        tableName: table.name,
        comment: { message: table.comment },
        schemaDefinition: {
          column: table.columns.map((c) => ({ name: c.name, type: c.type })),
          partitionKey: table.partitionKey.map((name) => ({ name })),
          clusteringKey: table.clusteringKey.map((c) => ({ name: c.name, orderBy: c.order })),
        },
        capacitySpecification:
          capacity.mode === 'PROVISIONED'
            ? {
                throughputMode: 'PROVISIONED',
                readCapacityUnits: capacity.readCapacityUnits,
                writeCapacityUnits: capacity.writeCapacityUnits,
              }
            : { throughputMode: 'PAY_PER_REQUEST' },
        encryptionSpecification: { type: 'CUSTOMER_MANAGED_KMS_KEY', kmsKeyIdentifier: this.kmsKey.arn },
        pointInTimeRecovery: { status: props.pointInTimeRecovery === false ? 'DISABLED' : 'ENABLED' },
        ...(ttlSeconds > 0 ? { ttl: { status: 'ENABLED' }, defaultTimeToLive: ttlSeconds } : {}),
        lifecycle,
      });
    }
    this.tables = tables;
  }

  /** `arn:<partition>:cassandra:<region>:<account>:/keyspace/<keyspace>/table/<table>` */
  tableArn(tableName: string): string {
    this.assertTables([tableName], 'tableArn');
    return this.ctx.arn('cassandra', `/keyspace/${this.keyspaceName}/table/${tableName}`);
  }

  /** INSERT/UPDATE/DELETE on the given tables (default: all), plus what the driver and the CMK need. */
  grantWrite(role: IamRole, tableNames: readonly string[] = this.tableNames): IamRolePolicy {
    this.assertTables(tableNames, 'grantWrite');
    return grant(this, role, `keyspaces-${this.keyspaceName}-write`, [
      { Sid: 'ModifyTables', Effect: 'Allow', Action: 'cassandra:Modify', Resource: tableNames.map((t) => this.tableArn(t)) },
      this.systemTablesStatement(),
      this.vpcEndpointPeersStatement(),
      this.kmsStatement(['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey']),
    ]);
  }

  /** SELECT on the given tables (default: all), plus what the driver and the CMK need. */
  grantRead(role: IamRole, tableNames: readonly string[] = this.tableNames): IamRolePolicy {
    this.assertTables(tableNames, 'grantRead');
    return grant(this, role, `keyspaces-${this.keyspaceName}-read`, [
      { Sid: 'SelectTables', Effect: 'Allow', Action: 'cassandra:Select', Resource: tableNames.map((t) => this.tableArn(t)) },
      this.systemTablesStatement(),
      this.vpcEndpointPeersStatement(),
      this.kmsStatement(['kms:Decrypt', 'kms:DescribeKey']),
    ]);
  }

  /** The Cassandra driver reads system.peers, system_schema.* and system_schema_mcs.* on connect. */
  private systemTablesStatement(): PolicyStatement {
    return {
      Sid: 'DriverReadsSystemKeyspaces',
      Effect: 'Allow',
      Action: 'cassandra:Select',
      Resource: this.ctx.arn('cassandra', '/keyspace/system*'),
    };
  }

  /**
   * Through an interface VPC endpoint, Keyspaces fills `system.peers` with the endpoint's network
   * interfaces only if the caller may describe them; without it the driver sees one peer and
   * throughput is capped at one connection's quota. Neither action supports resource-level
   * permissions or a resource condition, so `*` limited to this region is as tight as IAM allows.
   */
  private vpcEndpointPeersStatement(): PolicyStatement {
    return {
      Sid: 'ListPeersThroughVpcEndpoint',
      Effect: 'Allow',
      Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeVpcEndpoints'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:RequestedRegion': this.ctx.region } },
    };
  }

  /** Keyspaces uses the table's CMK on behalf of the caller, so the caller needs it through Keyspaces only. */
  private kmsStatement(actions: string[]): PolicyStatement {
    return {
      Sid: 'UseTableKeyThroughKeyspaces',
      Effect: 'Allow',
      Action: actions,
      Resource: this.kmsKey.arn,
      Condition: { StringEquals: { 'kms:ViaService': `cassandra.${this.ctx.region}.${this.ctx.dnsSuffix}` } },
    };
  }

  private assertTables(tableNames: readonly string[], method: string): void {
    if (tableNames.length === 0) throw new Error(`Keyspace ${this.node.path}: ${method} needs at least one table name`);
    const unknown = tableNames.filter((t) => !this.tableNames.includes(t));
    if (unknown.length > 0) {
      throw new Error(`Keyspace ${this.node.path}: ${method}: unknown table(s) ${unknown.join(', ')}; declared tables are ${this.tableNames.join(', ')}`);
    }
  }
}

function validate(props: KeyspaceProps): void {
  const issues: string[] = [];
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_]{0,47}$/.test(props.keyspaceName)) {
    issues.push(`keyspaceName: '${props.keyspaceName}' must be 1-48 letters, digits or "_", starting with a letter or digit`);
  }
  if (props.tables.length === 0) issues.push('tables: declare at least one table');
  const names = props.tables.map((t) => t.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) issues.push(`tables: '${duplicate}' is declared twice`);
  for (const [table, seconds] of Object.entries(props.ttlSeconds ?? {})) {
    if (!names.includes(table)) issues.push(`ttlSeconds.${table}: no such table; declared tables are ${names.join(', ')}`);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_TTL_SECONDS) {
      issues.push(`ttlSeconds.${table}: ${seconds} must be a whole number of seconds between 0 and ${MAX_TTL_SECONDS}`);
    }
  }
  const capacity = props.capacity;
  if (capacity?.mode === 'PROVISIONED') {
    for (const key of ['readCapacityUnits', 'writeCapacityUnits'] as const) {
      const v = capacity[key];
      if (v === undefined || !Number.isInteger(v) || v < 1) issues.push(`capacity.${key}: PROVISIONED needs a whole number >= 1 (got ${v})`);
    }
  } else if (capacity && (capacity.readCapacityUnits !== undefined || capacity.writeCapacityUnits !== undefined)) {
    issues.push('capacity: readCapacityUnits/writeCapacityUnits apply only to mode PROVISIONED; remove them or switch mode');
  }
  if (issues.length > 0) {
    throw new Error(`Invalid Keyspace props for '${props.keyspaceName}':\n${issues.map((i) => `  - ${i}`).join('\n')}`);
  }
}
