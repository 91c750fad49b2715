import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformStack, Testing } from 'cdktf';
import { z } from 'zod';
import { apps } from '../../apps/contracts/apps';
import { allContracts, contracts, contractsOnTopics, telemetryReadingContract, telemetryReadingSchema } from '../../apps/contracts/telemetry';
import { AnyContract, defineContract } from '../../apps/contracts/versions';
import { dev, EnvironmentConfig, prod, staging, validateEnvironment } from '../../config';
import { validateBootstrap } from '../../config/bootstrap';
import { AwsContext } from '../../constructs/aws-context';
import { trustPolicy } from '../../constructs/iam';
import { glueSchemaName, SchemaRegistry, SchemaRegistryProps } from '../../constructs/schema-registry';
import { deliveryFor } from '../../main';
import { platformResourcePrefix, PlatformStack } from '../../stacks/platform-stack';

type Resources = Record<string, Record<string, any>>;
const ARN = 'arn:aws:glue:eu-west-1:123456789012';

function build(props: Partial<SchemaRegistryProps> = {}, wire?: (registry: SchemaRegistry, role: IamRole) => void) {
  const stack = new TerraformStack(Testing.app(), 'test');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  AwsContext.provide(stack, { accountId: '123456789012', partition: 'aws', region: 'eu-west-1' });
  const registry = new SchemaRegistry(stack, 'schema-registry', { name: 'sdp-test', contracts: allContracts, ...props });
  if (wire) {
    const role = new IamRole(stack, 'app', {
      name: 'app',
      assumeRolePolicy: trustPolicy([{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: 'sts:AssumeRole' }]),
    });
    wire(registry, role);
  }
  const r: Resources = JSON.parse(Testing.synth(stack)).resource;
  const policies = Object.values(r.aws_iam_role_policy ?? {}).map((p: any) => JSON.parse(p.policy).Statement as any[]);
  return { r, registry, policies };
}

const schemasByName = (r: Resources) => Object.fromEntries(Object.values(r.aws_glue_schema).map((s: any) => [s.schema_name, s]));

describe('SchemaRegistry', () => {
  it('creates one registry named from the environment prefix', () => {
    const { r } = build();
    expect(Object.values(r.aws_glue_registry)).toEqual([expect.objectContaining({ registry_name: 'sdp-test-contracts' })]);
  });

  it('registers one JSON schema per contract: its latest version and that version’s mode', () => {
    const { r } = build();
    const byName = schemasByName(r);
    expect(Object.keys(byName).sort()).toEqual(['telemetry-aggregate', 'telemetry-alert', 'telemetry-reading']);
    const [registryId] = Object.keys(r.aws_glue_registry);
    for (const contract of allContracts) {
      const schema = byName[glueSchemaName(contract.name)];
      expect(schema).toMatchObject({
        data_format: 'JSON',
        compatibility: contract.latest.compatibility,
        registry_arn: `\${aws_glue_registry.${registryId}.arn}`,
        description: contract.description,
      });
      expect(JSON.parse(schema.schema_definition)).toEqual(contract.latest.jsonSchema);
    }
  });

  it('registers zod’s draft-07 JSON Schema of the reading, with the version field as the envelope', () => {
    const { r } = build();
    const registered = JSON.parse(schemasByName(r)['telemetry-reading'].schema_definition);
    const generated = z.toJSONSchema(telemetryReadingSchema, { target: 'draft-7', io: 'input' }) as any;
    expect(generated.properties.schemaVersion).toEqual({ type: 'number', const: 2 });
    expect(registered).toEqual({
      ...generated,
      properties: { ...generated.properties, schemaVersion: { type: 'integer', minimum: 1, description: expect.any(String) } },
    });
  });

  it('registers the reading’s v2 (with its optional unit) as the latest definition; v1 stays in the contract the gate checks it against', () => {
    const schema = schemasByName(build().r)['telemetry-reading'];
    const registered = JSON.parse(schema.schema_definition);
    expect(schema.compatibility).toBe('BACKWARD');
    expect(registered.properties.unit).toEqual({ type: 'string', minLength: 1, maxLength: 16 });
    expect(registered.required).not.toContain('unit');
    const [v1, v2] = telemetryReadingContract.versions;
    expect(registered).toEqual(v2.jsonSchema);
    expect(v1.jsonSchema.properties).not.toHaveProperty('unit');
    expect({ ...registered.properties, unit: undefined }).toEqual({ ...(v1.jsonSchema.properties as object), unit: undefined });
  });

  it('registers a new version as the new definition, with the mode it declares', () => {
    const evolved = defineContract({
      name: 'telemetry.reading',
      description: 'fixture',
      versionField: 'schemaVersion',
      versions: [
        telemetryReadingContract.versions[0],
        { version: 2, schema: telemetryReadingSchema.extend({ schemaVersion: z.literal(2), unit: z.string().optional() }), compatibility: 'BACKWARD_ALL' },
      ],
    });
    const schema = schemasByName(build({ contracts: [evolved] }).r)['telemetry-reading'];
    expect(schema.compatibility).toBe('BACKWARD_ALL');
    expect(JSON.parse(schema.schema_definition).properties.unit).toEqual({ type: 'string' });
  });

  it('grants read on exactly the registry and the named schemas, never on *', () => {
    const { policies } = build({}, (registry, role) => registry.grantRead(role, ['telemetry.reading']));
    expect(policies).toEqual([
      [
        { Sid: 'ReadRegistry', Effect: 'Allow', Action: 'glue:GetRegistry', Resource: `${ARN}:registry/sdp-test-contracts` },
        {
          Sid: 'ReadSchemas',
          Effect: 'Allow',
          Action: ['glue:GetSchema', 'glue:GetSchemaVersion', 'glue:GetSchemaByDefinition', 'glue:ListSchemaVersions'],
          Resource: [`${ARN}:registry/sdp-test-contracts`, `${ARN}:schema/sdp-test-contracts/telemetry-reading`],
        },
      ],
    ]);
  });

  it('grants every schema by default, and a further grant to the same role is a policy of its own', () => {
    const { r } = build({}, (registry, role) => {
      registry.grantRead(role);
      registry.grantRead(role, ['telemetry.alert']);
    });
    const byName = Object.fromEntries(Object.values(r.aws_iam_role_policy).map((p: any) => [p.name, JSON.parse(p.policy).Statement[1].Resource]));
    expect(byName).toEqual({
      'schema-registry-read': [
        `${ARN}:registry/sdp-test-contracts`,
        ...['telemetry-reading', 'telemetry-aggregate', 'telemetry-alert'].map((s) => `${ARN}:schema/sdp-test-contracts/${s}`),
      ],
      'schema-registry-read-2': [`${ARN}:registry/sdp-test-contracts`, `${ARN}:schema/sdp-test-contracts/telemetry-alert`],
    });
  });

  it('refuses grants on contracts it does not register, and empty grants', () => {
    expect(() => build({ contracts: [contracts.reading] }, (registry, role) => registry.grantRead(role, ['telemetry.alert']))).toThrow(
      /grantRead: unknown contract\(s\) telemetry\.alert; registered contracts are telemetry\.reading/,
    );
    expect(() => build({}, (registry, role) => registry.grantRead(role, []))).toThrow(/grantRead needs at least one contract name/);
  });

  it('sets prevent_destroy on the registry and every schema when asked', () => {
    const { r } = build({ preventDestroy: true });
    for (const x of [...Object.values(r.aws_glue_registry), ...Object.values(r.aws_glue_schema)]) expect(x.lifecycle).toEqual({ prevent_destroy: true });
  });

  it('rejects invalid props, naming each problem', () => {
    expect(() => build({ contracts: [] })).toThrow(/contracts: register at least one contract/);
    expect(() => build({ contracts: [contracts.reading, contracts.reading] })).toThrow(/'telemetry-reading' is registered twice/);
    expect(() => build({ name: 'sdp dev' })).toThrow(/registry name 'sdp dev-contracts' must be 1-255 letters/);
  });
});

describe.each([
  ['dev', dev],
  ['staging', staging],
  ['prod', prod],
] as const)('the schema registry of %s', (env, input) => {
  const config: EnvironmentConfig = validateEnvironment(input);
  const delivery = deliveryFor(validateBootstrap(), config.name);
  const stack = new PlatformStack(Testing.app(), { config, delivery });
  const r: Resources = JSON.parse(Testing.synth(stack)).resource;
  const registryName = `${platformResourcePrefix(delivery.namePrefix, env)}-contracts`;

  it('is one registry per environment, with one schema per contract', () => {
    expect(Object.values(r.aws_glue_registry).map((x) => x.registry_name)).toEqual([registryName]);
    expect(Object.keys(schemasByName(r)).sort()).toEqual(allContracts.map((c) => glueSchemaName(c.name)).sort());
    for (const x of [...Object.values(r.aws_glue_registry), ...Object.values(r.aws_glue_schema)]) {
      expect(x.lifecycle?.prevent_destroy ?? false).toBe(config.protectData);
    }
  });

  it('lets every app the catalog marks schemaRead read the schemas of the topics it consumes, and no other app', () => {
    const roleRef = (appName: string) => {
      const [id] = Object.entries(r.aws_iam_role).find(([, role]) => role.name.endsWith(`-${appName}`))!;
      return `\${aws_iam_role.${id}.name}`;
    };
    const schemaGrants = Object.values(r.aws_iam_role_policy).filter((p: any) => p.policy.includes(':glue:') && p.policy.includes(':registry/'));
    const readers = Object.values(apps).filter((a) => 'schemaRead' in a.aws && a.aws.schemaRead);
    expect(readers.map((a) => a.name).sort()).toEqual(['alerts', 'cassandra-sink', 'lake-sink', 'processor']);
    expect(schemaGrants).toHaveLength(readers.length);
    for (const app of readers) {
      const granted = schemaGrants.filter((p: any) => p.role === roleRef(app.name));
      expect([app.name, granted.length]).toEqual([app.name, 1]);
      const resources: string[] = JSON.parse(granted[0].policy).Statement.flatMap((s: any) => s.Resource);
      const names = resources.map((arn) => arn.replace(/^arn:\$\{[^}]+\}:glue:\$\{[^}]+\}:\$\{[^}]+\}:/, ''));
      const expected = contractsOnTopics(app.consumes).map((c: AnyContract) => `schema/${registryName}/${glueSchemaName(c.name)}`);
      expect([app.name, [...new Set(names)].sort()]).toEqual([app.name, [`registry/${registryName}`, ...expected].sort()]);
      expect(resources.some((arn) => arn.includes('*'))).toBe(false);
    }
  });
});
