import { GlueRegistry } from '@cdktf/provider-aws/lib/glue-registry';
import { GlueSchema } from '@cdktf/provider-aws/lib/glue-schema';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';
import { AnyContract } from '../apps/contracts/versions';
import { AwsContext } from './aws-context';
import { grant } from './iam';

/** Glue's limit on a schema definition, in characters. */
const MAX_DEFINITION_CHARS = 170_000;
const GLUE_NAME = /^[A-Za-z0-9_$#-]{1,255}$/;

export interface SchemaRegistryProps {
  /** Name prefix of the environment, e.g. `sdp-dev`; the registry is `<name>-contracts`. */
  readonly name: string;

  // Schemas
  /** The contracts to register (apps/contracts/telemetry.ts `allContracts`), one Glue schema each. */
  readonly contracts: readonly AnyContract[];

  // Protection
  /**
   * Terraform `prevent_destroy` on the registry and its schemas: Glue keeps every registered
   * version, and a recreated schema starts again from the latest one only.
   * @default false
   */
  readonly preventDestroy?: boolean;
}

/**
 * An AWS Glue Schema Registry with one JSON schema per event contract: the registered JSON Schema
 * of the contract's latest version, with the compatibility mode that version declares.
 *
 * How a new version reaches Glue: adding it to the contract changes `schema_definition` (and the
 * mode, if it declares another). On apply, the AWS provider first updates the schema's
 * compatibility, then calls RegisterSchemaVersion with the new definition. Glue keeps every
 * version it registered and checks the new one against them under that mode itself; an
 * incompatible one is refused and the apply fails, which the gate in `npm test`
 * (test/contracts/gate.test.ts) catches before. Glue numbers versions itself: its numbers equal
 * the contract's only while every version is applied in turn, so readers go by the event's own
 * version field, never by Glue's number.
 *
 * Readers get access through `grantRead`.
 */
export class SchemaRegistry extends Construct {
  readonly registry: GlueRegistry;
  readonly registryName: string;
  readonly registryArn: string;
  /** The `aws_glue_schema` resources by contract name. */
  readonly schemas: Readonly<Record<string, GlueSchema>>;

  private readonly ctx: AwsContext;

  constructor(scope: Construct, id: string, props: SchemaRegistryProps) {
    super(scope, id);
    validate(props);
    this.ctx = AwsContext.of(this);
    const lifecycle = props.preventDestroy ? { preventDestroy: true } : undefined;

    this.registryName = `${props.name}-contracts`;
    this.registry = new GlueRegistry(this, 'registry', {
      registryName: this.registryName,
      description: `Event contracts of ${props.name}, declared in apps/contracts`,
      lifecycle,
    });
    this.registryArn = this.ctx.arn('glue', `registry/${this.registryName}`);

    const schemas: Record<string, GlueSchema> = {};
    for (const contract of props.contracts) {
      const schemaName = glueSchemaName(contract.name);
      schemas[contract.name] = new GlueSchema(this, `schema-${schemaName}`, {
        // The registry's ARN (not the literal) orders schema creation after the registry.
        registryArn: this.registry.arn,
        schemaName,
        description: contract.description,
        dataFormat: 'JSON',
        compatibility: contract.latest.compatibility,
        schemaDefinition: JSON.stringify(contract.latest.jsonSchema),
        lifecycle,
      });
    }
    this.schemas = schemas;
  }

  /** `arn:<partition>:glue:<region>:<account>:schema/<registry>/<schema>` of a contract's schema. */
  schemaArn(contractName: string): string {
    this.assertContracts([contractName], 'schemaArn');
    return this.ctx.arn('glue', `schema/${this.registryName}/${glueSchemaName(contractName)}`);
  }

  /**
   * Read the registry and the given contracts' schemas (default: all): every version, by schema
   * and version number, by definition, or the latest. A GetSchemaVersion call that names only a
   * SchemaVersionId (as the Glue serde library's deserializer makes) is authorised by AWS on `*`
   * alone (awslabs/aws-glue-schema-registry#68); this grant does not cover it, on purpose.
   */
  grantRead(role: IamRole, contractNames: readonly string[] = Object.keys(this.schemas)): IamRolePolicy {
    this.assertContracts(contractNames, 'grantRead');
    // Every pod role's construct id is `role`: a grant to a further role gets a numbered name, as in KafkaCluster.
    let purpose = `${this.node.id}-read`;
    for (let n = 2; this.node.tryFindChild(`grant-${role.node.id}-${purpose}`); n++) purpose = `${this.node.id}-read-${n}`;
    return grant(this, role, purpose, [
      { Sid: 'ReadRegistry', Effect: 'Allow', Action: 'glue:GetRegistry', Resource: this.registryArn },
      {
        Sid: 'ReadSchemas',
        Effect: 'Allow',
        Action: ['glue:GetSchema', 'glue:GetSchemaVersion', 'glue:GetSchemaByDefinition', 'glue:ListSchemaVersions'],
        // Glue authorises schema reads on the registry and on the schema.
        Resource: [this.registryArn, ...contractNames.map((c) => this.schemaArn(c))],
      },
    ]);
  }

  private assertContracts(names: readonly string[], method: string): void {
    if (names.length === 0) throw new Error(`SchemaRegistry ${this.node.path}: ${method} needs at least one contract name`);
    const known = Object.keys(this.schemas);
    const unknown = names.filter((n) => !known.includes(n));
    if (unknown.length > 0) {
      throw new Error(`SchemaRegistry ${this.node.path}: ${method}: unknown contract(s) ${unknown.join(', ')}; registered contracts are ${known.join(', ')}`);
    }
  }
}

/** Glue schema names allow no dots: `telemetry.reading` is registered as `telemetry-reading`. */
export const glueSchemaName = (contractName: string): string => contractName.replace(/\./g, '-');

function validate(props: SchemaRegistryProps): void {
  const issues: string[] = [];
  const registryName = `${props.name}-contracts`;
  if (!GLUE_NAME.test(registryName)) issues.push(`name: registry name '${registryName}' must be 1-255 letters, digits, "-", "_", "$" or "#"`);
  if (props.contracts.length === 0) issues.push('contracts: register at least one contract');
  const names = props.contracts.map((c) => glueSchemaName(c.name));
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) issues.push(`contracts: '${duplicate}' is registered twice`);
  for (const c of props.contracts) {
    if (!GLUE_NAME.test(glueSchemaName(c.name))) issues.push(`contracts: '${c.name}' does not make a Glue schema name (letters, digits, "-", "_", "$", "#")`);
    const size = JSON.stringify(c.latest.jsonSchema).length;
    if (size > MAX_DEFINITION_CHARS)
      issues.push(`contracts: '${c.name}' v${c.latest.version} is ${size} characters of JSON Schema; Glue takes at most ${MAX_DEFINITION_CHARS}`);
  }
  if (issues.length > 0) throw new Error(`Invalid SchemaRegistry props for '${props.name}':\n${issues.map((i) => `  - ${i}`).join('\n')}`);
}
