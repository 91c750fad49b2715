import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformStack, Testing } from 'cdktf';
import { aggregatesTable, readingsTable, tables } from '../../apps/contracts/tables';
import { trustPolicy } from '../../constructs/iam';
import { Keyspace, KeyspaceProps } from '../../constructs/keyspace';
import { EncryptionKey } from '../../constructs/kms-key';

type Synth = { resource: Record<string, Record<string, any>> };

type PropsFn = (stack: TerraformStack) => Partial<KeyspaceProps>;

function build(props: Partial<KeyspaceProps> | PropsFn = {}, wire?: (ks: Keyspace, role: IamRole) => void) {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const overrides = typeof props === 'function' ? props(stack) : props;
  const ks = new Keyspace(stack, 'keyspace', { keyspaceName: 'telemetry_test', tables, ...overrides });
  if (wire) {
    const role = new IamRole(stack, 'app', {
      name: 'app',
      assumeRolePolicy: trustPolicy([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]),
    });
    wire(ks, role);
  }
  const json: Synth = JSON.parse(Testing.synth(stack));
  const tablesByName = Object.fromEntries(Object.values(json.resource.aws_keyspaces_table).map((t: any) => [t.table_name, t])) as Record<string, any>;
  const policies = Object.values(json.resource.aws_iam_role_policy ?? {}).map((p: any) => ({ name: p.name, doc: JSON.parse(p.policy) }));
  return { json, ks, tablesByName, policies };
}

describe('Keyspace', () => {
  test('creates one table per contract declaration with exactly the declared schema', () => {
    const { json, tablesByName } = build();
    expect(Object.keys(json.resource.aws_keyspaces_keyspace)).toHaveLength(1);
    expect(Object.keys(tablesByName).sort()).toEqual(tables.map((t) => t.name).sort());
    for (const decl of tables) {
      const schema = tablesByName[decl.name].schema_definition;
      expect(schema.column).toEqual(decl.columns.map((c) => ({ name: c.name, type: c.type })));
      expect(schema.partition_key).toEqual(decl.partitionKey.map((name) => ({ name })));
      expect(schema.clustering_key).toEqual(decl.clusteringKey.map((c) => ({ name: c.name, order_by: c.order })));
      expect(tablesByName[decl.name].comment.message).toBe(decl.comment);
    }
  });

  test('gives the readings table the v2 field as a regular text column (the provider adds columns in place)', () => {
    const schema = build().tablesByName[readingsTable.name].schema_definition;
    expect(schema.column).toContainEqual({ name: 'unit', type: 'text' });
    const keys = [...schema.partition_key.map((k: any) => k.name), ...schema.clustering_key.map((k: any) => k.name)];
    expect(keys).not.toContain('unit');
  });

  test('secure defaults: CMK encryption, PITR on, on-demand capacity, no TTL, no prevent_destroy', () => {
    const { json, tablesByName } = build();
    const keys = Object.values(json.resource.aws_kms_key);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ enable_key_rotation: true });
    for (const t of Object.values(tablesByName)) {
      expect(t.encryption_specification.type).toBe('CUSTOMER_MANAGED_KMS_KEY');
      expect(t.encryption_specification.kms_key_identifier).toMatch(/^\$\{aws_kms_key\..+\.arn\}$/);
      expect(t.point_in_time_recovery).toEqual({ status: 'ENABLED' });
      expect(t.capacity_specification).toEqual({ throughput_mode: 'PAY_PER_REQUEST' });
      expect(t.ttl).toBeUndefined();
      expect(t.default_time_to_live).toBeUndefined();
      expect(t.lifecycle).toBeUndefined();
      // Tables reference the keyspace resource so Terraform creates the keyspace first.
      expect(t.keyspace_name).toMatch(/^\$\{aws_keyspaces_keyspace\..+\.name\}$/);
    }
  });

  test('TTL is enabled only on tables with a positive default TTL', () => {
    const { tablesByName } = build({ ttlSeconds: { [readingsTable.name]: 30 * 86400, [aggregatesTable.name]: 0 } });
    expect(tablesByName[readingsTable.name].ttl).toEqual({ status: 'ENABLED' });
    expect(tablesByName[readingsTable.name].default_time_to_live).toBe(30 * 86400);
    expect(tablesByName[aggregatesTable.name].ttl).toBeUndefined();
  });

  test('overrides: PITR off, provisioned capacity, external key, prevent_destroy', () => {
    const { json, tablesByName } = build((stack) => ({
      pointInTimeRecovery: false,
      capacity: { mode: 'PROVISIONED', readCapacityUnits: 10, writeCapacityUnits: 20 },
      preventDestroy: true,
      encryption: { kmsKey: new EncryptionKey(stack, 'shared-key', { alias: 'shared', description: 'shared' }) },
    }));
    // Only the shared key: the construct creates none of its own.
    expect(Object.keys(json.resource.aws_kms_key)).toEqual([expect.stringMatching(/^shared-key/)]);
    for (const t of Object.values(tablesByName)) {
      expect(t.point_in_time_recovery).toEqual({ status: 'DISABLED' });
      expect(t.capacity_specification).toEqual({ throughput_mode: 'PROVISIONED', read_capacity_units: 10, write_capacity_units: 20 });
      expect(t.lifecycle).toEqual({ prevent_destroy: true });
      expect(t.encryption_specification.kms_key_identifier).toMatch(/^\$\{aws_kms_key\.shared-key.*\.arn\}$/);
    }
    expect(Object.values(json.resource.aws_keyspaces_keyspace)[0].lifecycle).toEqual({ prevent_destroy: true });
  });

  test('rejects invalid props with messages naming the field', () => {
    expect(() => build({ capacity: { mode: 'PROVISIONED', readCapacityUnits: 5 } })).toThrow(/capacity\.writeCapacityUnits/);
    expect(() => build({ ttlSeconds: { readings: 60 } })).toThrow(/ttlSeconds\.readings: no such table/);
    expect(() => build({ ttlSeconds: { [readingsTable.name]: -1 } })).toThrow(/ttlSeconds\.readings_by_device_day/);
    expect(() => build({ keyspaceName: 'bad-name' })).toThrow(/keyspaceName/);
  });

  test('grantWrite scopes Modify to exact table ARNs, system keyspaces and the CMK through Keyspaces', () => {
    const { policies } = build({}, (ks, role) => ks.grantWrite(role, [readingsTable.name]));
    expect(policies).toHaveLength(1);
    const statements: any[] = policies[0].doc.Statement;
    const modify = statements.find((s) => s.Sid === 'ModifyTables');
    expect(modify.Action).toBe('cassandra:Modify');
    expect(modify.Resource).toHaveLength(1);
    expect(modify.Resource[0]).toMatch(
      /^arn:\$\{data\.aws_partition\..+\.partition\}:cassandra:\$\{data\.aws_region\..+\.region\}:\$\{data\.aws_caller_identity\..+\.account_id\}:\/keyspace\/telemetry_test\/table\/readings_by_device_day$/,
    );
    const system = statements.find((s) => s.Sid === 'DriverReadsSystemKeyspaces');
    expect(system.Action).toBe('cassandra:Select');
    expect(system.Resource).toMatch(/:\/keyspace\/system\*$/);
    const kms = statements.find((s) => s.Sid === 'UseTableKeyThroughKeyspaces');
    expect(kms.Resource).toMatch(/^\$\{aws_kms_key\..+\.arn\}$/);
    expect(kms.Action).toEqual(expect.arrayContaining(['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*']));
    expect(kms.Condition.StringEquals['kms:ViaService']).toMatch(/^cassandra\./);
    // The only unscoped statement: EC2 describe calls support no resource-level permissions.
    const peers = statements.find((s) => s.Sid === 'ListPeersThroughVpcEndpoint');
    expect(peers.Action).toEqual(['ec2:DescribeNetworkInterfaces', 'ec2:DescribeVpcEndpoints']);
    expect(peers.Condition.StringEquals['aws:RequestedRegion']).toMatch(/^\$\{data\.aws_region\./);
    for (const s of statements.filter((x) => x !== peers)) {
      expect([s.Resource].flat()).not.toContain('*');
    }
    for (const s of statements) expect([s.Action].flat().some((a: string) => a.endsWith(':*'))).toBe(false);
  });

  test('grantRead defaults to every table, Select only', () => {
    const { policies } = build({}, (ks, role) => ks.grantRead(role));
    const select = policies[0].doc.Statement.find((s: any) => s.Sid === 'SelectTables');
    expect(select.Action).toBe('cassandra:Select');
    expect(select.Resource.map((r: string) => r.split('/table/')[1]).sort()).toEqual(tables.map((t) => t.name).sort());
    const kms = policies[0].doc.Statement.find((s: any) => s.Sid === 'UseTableKeyThroughKeyspaces');
    expect(kms.Action).toEqual(['kms:Decrypt', 'kms:DescribeKey']);
    expect(policies[0].doc.Statement.map((s: any) => s.Sid)).toContain('ListPeersThroughVpcEndpoint');
  });

  test('grants reject unknown tables', () => {
    expect(() => build({}, (ks, role) => ks.grantRead(role, ['nope']))).toThrow(/unknown table\(s\) nope/);
  });
});
