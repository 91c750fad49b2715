/**
 * Versioned event contracts: each event type declares its versions in order, each a zod schema
 * with the compatibility rule that relates it to the one before, named as the AWS Glue Schema
 * Registry names them (Confluent's `_TRANSITIVE` modes are Glue's `_ALL`). The apps validate
 * with the schemas; the Glue registry (constructs/schema-registry.ts) registers the JSON Schema of
 * the latest version with its mode; the compatibility check in the tests
 * (./compatibility.ts, `checkContract`) holds every version to its declared rule.
 *
 * Adding a version is one more entry in `versions`: `{ version: 2, schema, compatibility }`.
 */
import { z } from 'zod';
import { fieldLabel, Incompatibility, JsonSchemaObject, notUnderstood, readIncompatibilities } from './compatibility';
import { TopicKey, topics } from './topics';

/**
 * How a version relates to the one before it, as Glue and Confluent define it:
 * - BACKWARD: readers of the new version read data written with the previous one (upgrade consumers first);
 * - FORWARD: readers of the previous version read data written with the new one (upgrade producers first);
 * - FULL: both;
 * - the `_ALL` forms hold against every earlier version, not only the previous one;
 * - NONE: no relation; the version must move to topics of its own, so no reader meets both.
 */
export const COMPATIBILITY_MODES = ['BACKWARD', 'BACKWARD_ALL', 'FORWARD', 'FORWARD_ALL', 'FULL', 'FULL_ALL', 'NONE'] as const;
export type CompatibilityMode = (typeof COMPATIBILITY_MODES)[number];

export interface ContractVersionDeclaration<S extends z.ZodType = z.ZodType> {
  /** 1, 2, 3, … in declaration order; the event carries it in the contract's `versionField`. */
  readonly version: number;
  readonly schema: S;
  /**
   * The rule relating this version to the previous one. The first version relates to nothing;
   * its mode is the one the registry starts the schema with.
   */
  readonly compatibility: CompatibilityMode;
  /**
   * Topics that carry this version. Required on the first version and on a NONE version (whose
   * topics must all differ from the previous version's); otherwise the previous version's.
   */
  readonly topics?: readonly TopicKey[];
  /**
   * Turns a valid event of the previous version into one of this version: a pure function, so a
   * reader that meets both versions handles only the newest. Under BACKWARD and FULL (and their
   * `_ALL` forms) the check guarantees that old events are new ones but for the version field,
   * so the default sets that field; a FORWARD version must declare it (its new schema may refuse
   * old events, e.g. a dropped field), and a NONE version has none (no reader meets both).
   */
  readonly upcast?: (previous: never) => z.output<S>;
}

export interface ContractVersion<S extends z.ZodType = z.ZodType> extends ContractVersionDeclaration<S> {
  readonly topics: readonly TopicKey[];
  /** What the registry holds for this version: zod's JSON Schema with the version field as the envelope (`asRegistered`). */
  readonly jsonSchema: JsonSchemaObject;
}

export interface ContractDeclaration<V extends readonly ContractVersionDeclaration[]> {
  /** Dotted event type name, e.g. `telemetry.reading`; the Glue schema is named with `-` for `.`. */
  readonly name: string;
  readonly description: string;
  /** The field every event carries its version number in, e.g. `schemaVersion`. */
  readonly versionField: string;
  readonly versions: V;
}

type Resolved<V extends readonly ContractVersionDeclaration[]> = { readonly [K in keyof V]: V[K] & ContractVersion<V[K]['schema']> };
type SchemaOf<T> = T extends { readonly schema: infer S extends z.ZodType } ? S : never;
type Last<V extends readonly unknown[]> = V extends readonly [...unknown[], infer L] ? L : V[number];

export interface Contract<V extends readonly ContractVersionDeclaration[] = readonly ContractVersionDeclaration[]> {
  readonly name: string;
  readonly description: string;
  readonly versionField: string;
  /** Every version, oldest first. */
  readonly versions: Resolved<V>;
  /** The newest version: what producers write and what the registry's latest version is. */
  readonly latest: Last<Resolved<V>>;
  /** The version an event's `versionField` names, or undefined when none is declared. */
  version(schemaVersion: number): Resolved<V>[number] | undefined;
  /** The versions whose events upcast to the latest: the latest and those before it back to a NONE version. */
  readonly upcastable: readonly number[];
  /**
   * A valid event of version `from` as the latest version, through each later version's `upcast`.
   * Throws for a version not in `upcastable`.
   */
  upcast(event: unknown, from: number): z.output<SchemaOf<Last<Resolved<V>>>>;
}

/** The newest version's event type of a contract. */
export type LatestEvent<C extends AnyContract> = z.output<C['latest']['schema']>;

/** Any contract, whatever its versions. */
export type AnyContract = Contract<readonly ContractVersionDeclaration[]>;

/**
 * Declares a contract and checks the declaration: versions numbered 1, 2, … in order, each
 * schema representable as JSON Schema with its `versionField` the literal version number,
 * topics declared where required and new topics for a NONE version. Compatibility itself is
 * checked by `checkContract` (in `npm test`), not here.
 */
export function defineContract<const V extends readonly [ContractVersionDeclaration, ...ContractVersionDeclaration[]]>(
  declaration: ContractDeclaration<V>,
): Contract<V> {
  const { name, versionField } = declaration;
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9]*(\.[a-z][a-z0-9_]*)*$/.test(name)) problems.push(`name '${name}' must be dotted lower-case words, e.g. 'telemetry.reading'`);

  const resolved: ContractVersion[] = [];
  declaration.versions.forEach((v, i) => {
    const at = `${name} v${v.version}`;
    if (v.version !== i + 1) problems.push(`${at}: versions must be numbered 1, 2, … in order; entry ${i + 1} says ${v.version}`);
    if (!COMPATIBILITY_MODES.includes(v.compatibility))
      problems.push(`${at}: compatibility '${v.compatibility}' is not one of ${COMPATIBILITY_MODES.join(', ')}`);
    const previous = resolved[i - 1];
    const declaredTopics = v.topics ?? previous?.topics;
    if (declaredTopics === undefined || declaredTopics.length === 0) problems.push(`${at}: the first version must declare the topics that carry it`);
    for (const t of v.topics ?? []) if (!(t in topics)) problems.push(`${at}: topic '${t}' is not declared in apps/contracts/topics.ts`);
    if (v.compatibility === 'NONE' && previous) {
      const shared = (v.topics ?? previous.topics).filter((t) => previous.topics.includes(t));
      if (v.topics === undefined || shared.length > 0) {
        problems.push(
          `${at}: compatibility NONE needs new topics, so that no reader meets both versions: ` +
            `declare \`topics\` other than v${previous.version}'s (${previous.topics.join(', ')})` +
            (shared.length > 0 ? `; ${shared.join(', ')} carried v${previous.version}` : ''),
        );
      }
    }
    let generated: JsonSchemaObject | undefined;
    try {
      generated = z.toJSONSchema(v.schema, { target: 'draft-7', io: 'input' }) as JsonSchemaObject;
    } catch (err) {
      problems.push(`${at}: the schema cannot be represented as JSON Schema: ${(err as Error).message}`);
    }
    const field = (generated?.properties as Record<string, unknown> | undefined)?.[versionField];
    const literal = JSON.stringify({ type: 'number', const: v.version });
    if (generated && (JSON.stringify(field) !== literal || !((generated.required ?? []) as string[]).includes(versionField))) {
      problems.push(`${at}: the schema must declare \`${versionField}: z.literal(${v.version})\` (required), got ${JSON.stringify(field) ?? 'nothing'}`);
    }
    if (v.upcast !== undefined && (previous === undefined || v.compatibility === 'NONE'))
      problems.push(
        `${at}: \`upcast\` is for a version that readers meet beside the previous one; ${previous ? 'a NONE version' : 'the first version'} has none`,
      );
    if (v.upcast === undefined && previous && v.compatibility.startsWith('FORWARD'))
      problems.push(
        `${at}: a FORWARD version must declare \`upcast\` from v${previous.version}: its schema need not accept v${previous.version} events as they are`,
      );
    resolved.push({ ...v, topics: declaredTopics ?? [], jsonSchema: generated ? asRegistered(generated, versionField) : {} });
  });
  if (problems.length > 0) throw new Error(`Invalid contract '${name}' (apps/contracts):\n${problems.map((p) => `  - ${p}`).join('\n')}`);

  const versions = resolved as unknown as Resolved<V>;
  let since = 0;
  resolved.forEach((v, i) => {
    if (i > 0 && v.compatibility === 'NONE') since = i;
  });
  const upcastable = resolved.slice(since).map((v) => v.version);
  const steps = resolved.map((v): ((event: Record<string, unknown>) => Record<string, unknown>) => {
    const declared = v.upcast as ((previous: unknown) => Record<string, unknown>) | undefined;
    return declared ?? ((event) => ({ ...event, [versionField]: v.version }));
  });
  return {
    name,
    description: declaration.description,
    versionField,
    versions,
    latest: versions[versions.length - 1] as Last<Resolved<V>>,
    version: (n) => versions.find((v) => v.version === n) as Resolved<V>[number] | undefined,
    upcastable,
    upcast: (event, from) => {
      if (!upcastable.includes(from)) {
        throw new Error(`${name}: v${from} events cannot be upcast to v${resolved.length} (upcastable: ${upcastable.map((n) => `v${n}`).join(', ')})`);
      }
      let out = event as Record<string, unknown>;
      for (let i = from; i < resolved.length; i++) out = steps[i](out);
      return out as z.output<SchemaOf<Last<Resolved<V>>>>;
    },
  };
}

/**
 * The registered JSON Schema of a version is zod's with one change: the version field is the
 * envelope, not the payload. It tells a reader which version's schema to decode with (the zod
 * schema pins it to the literal number), so it is registered the same in every version and
 * compatibility is judged on the rest. Registering `const: 1`, then `const: 2` would be a changed
 * enum, incompatible in every mode but NONE, here and in registries built on Confluent's JSON
 * Schema diff.
 */
function asRegistered(schema: JsonSchemaObject, versionField: string): JsonSchemaObject {
  const properties = schema.properties as Record<string, unknown>;
  return { ...schema, properties: { ...properties, [versionField]: VERSION_ENVELOPE } };
}

const VERSION_ENVELOPE = {
  type: 'integer',
  minimum: 1,
  description: 'The contract version this event was written with; a reader decodes it with that version of the contract',
} as const;

/** The versions `mode` holds a new version to: the previous one, or every earlier one for the `_ALL` modes. */
function comparedWith(mode: CompatibilityMode, earlier: readonly ContractVersion[]): readonly ContractVersion[] {
  if (mode === 'NONE' || earlier.length === 0) return [];
  return mode.endsWith('_ALL') ? earlier : [earlier[earlier.length - 1]];
}

/** One broken rule of a contract, with the message the gate prints. */
export interface ContractViolation extends Incompatibility {
  readonly contract: string;
  /** The version that breaks it. */
  readonly version: number;
  /** The earlier version it was compared with; absent for a schema the checker does not understand. */
  readonly against?: number;
  readonly mode: CompatibilityMode;
  /** e.g. `telemetry.reading v2: field 'unit' is required but v1 data does not have it (BACKWARD)` */
  readonly message: string;
}

/**
 * Every way a contract's versions break their declared modes, and every part of a version's
 * JSON Schema the checker does not understand (so a v1 that uses one fails before there is a v2).
 * Empty when the contract is sound.
 */
export function checkContract(contract: AnyContract): ContractViolation[] {
  const out: ContractViolation[] = [];
  const report = (version: ContractVersion, against: number | undefined, found: readonly Incompatibility[]) => {
    for (const f of found) {
      const suffix = f.rule === 'NOT_UNDERSTOOD' ? '' : ` (${version.compatibility})`;
      out.push({
        ...f,
        contract: contract.name,
        version: version.version,
        ...(against === undefined ? {} : { against }),
        mode: version.compatibility,
        message: `${contract.name} v${version.version}: ${fieldLabel(f.path)} ${f.detail}${suffix}`,
      });
    }
  };
  const versions = contract.versions as readonly ContractVersion[];
  const unclear = versions.map((v) => notUnderstood(v.jsonSchema));
  versions.forEach((v, i) => {
    report(v, undefined, unclear[i]);
    const mode = v.compatibility;
    // A version the checker does not understand is reported above, not compared.
    const earlier = comparedWith(mode, versions.slice(0, i)).filter((old) => unclear[i].length === 0 && unclear[old.version - 1].length === 0);
    for (const old of earlier) {
      const newer = `v${v.version}`;
      const older = `v${old.version}`;
      if (mode.startsWith('BACKWARD') || mode.startsWith('FULL'))
        report(v, old.version, readIncompatibilities(v.jsonSchema, old.jsonSchema, { reader: newer, writer: older }));
      if (mode.startsWith('FORWARD') || mode.startsWith('FULL'))
        report(v, old.version, readIncompatibilities(old.jsonSchema, v.jsonSchema, { reader: older, writer: newer }));
    }
  });
  return out;
}
