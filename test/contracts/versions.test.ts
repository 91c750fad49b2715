/**
 * Versioned contract declarations, and the check that holds each version to its declared mode.
 * The fixtures evolve the real reading (apps/contracts/telemetry.ts) the way a v2 would.
 */
import { z } from 'zod';
import { checkContract, defineContract } from '../../apps/contracts/versions';
import { telemetryReadingContract, telemetryReadingSchemaV1 } from '../../apps/contracts/telemetry';
import type { CompatibilityMode, ContractVersionDeclaration } from '../../apps/contracts/versions';

const readingV2 = (fields: z.ZodRawShape) => telemetryReadingSchemaV1.extend({ schemaVersion: z.literal(2), ...fields });

/** A FORWARD version's upcast: these fixtures are about the check, not the conversion. */
const bump = (e: Record<string, unknown>) => ({ ...e, schemaVersion: 2 });

/** The reading's v1 as declared, plus a v2 with `mode`. */
function evolvedReading(v2: z.ZodType, mode: CompatibilityMode) {
  const upcast = mode.startsWith('FORWARD') ? { upcast: bump as (previous: never) => unknown } : {};
  return defineContract({
    name: 'telemetry.reading',
    description: 'fixture',
    versionField: 'schemaVersion',
    versions: [telemetryReadingContract.versions[0], { version: 2, schema: v2, compatibility: mode, ...upcast }],
  });
}

const sample = { schemaVersion: 1, deviceId: 'dev-1', ts: Date.UTC(2025, 0, 1), metric: 'temperature', value: 21.5 };

const messages = (contract: Parameters<typeof checkContract>[0]) => checkContract(contract).map((v) => v.message);

describe('the compatibility check on an evolved reading', () => {
  it('fails an incompatible edit: v2 adds a required field under BACKWARD', () => {
    const contract = evolvedReading(readingV2({ unit: z.string().min(1) }), 'BACKWARD');
    expect(messages(contract)).toEqual(["telemetry.reading v2: field 'unit' is required but v1 data does not have it (BACKWARD)"]);
    expect(checkContract(contract)).toEqual([
      expect.objectContaining({ contract: 'telemetry.reading', version: 2, against: 1, mode: 'BACKWARD', path: 'unit', rule: 'FIELD_REQUIRED' }),
    ]);
  });

  it('passes the same field added as optional under BACKWARD', () => {
    expect(messages(evolvedReading(readingV2({ unit: z.string().min(1).optional() }), 'BACKWARD'))).toEqual([]);
  });

  it('fails the optional field under FORWARD and FULL: the strict v1 rejects v2 data that has it', () => {
    const v2 = readingV2({ unit: z.string().min(1).optional() });
    expect(messages(evolvedReading(v2, 'FORWARD'))).toEqual([
      "telemetry.reading v2: field 'unit' may be in v2 data, but v1 does not allow additional properties (FORWARD)",
    ]);
    expect(messages(evolvedReading(v2, 'FULL'))).toEqual([
      "telemetry.reading v2: field 'unit' may be in v2 data, but v1 does not allow additional properties (FULL)",
    ]);
  });

  it('passes under FORWARD what strict v1 readers still accept: a dropped optional field, a narrowed range', () => {
    const v2 = telemetryReadingSchemaV1.omit({ tags: true }).extend({
      schemaVersion: z.literal(2),
      metric: z
        .string()
        .min(1)
        .max(32)
        .regex(/^[a-z][a-z0-9_.]*$/),
    });
    expect(messages(evolvedReading(v2, 'FORWARD'))).toEqual([]);
    expect(messages(evolvedReading(v2, 'BACKWARD'))).toEqual([
      "telemetry.reading v2: field 'metric' range narrowed: v2 requires length <= 32, v1 allows length <= 64 (BACKWARD)",
      "telemetry.reading v2: field 'tags' may be in v1 data, but v2 does not allow additional properties (BACKWARD)",
    ]);
  });

  it('names narrowed bounds and changed types of existing fields', () => {
    const v2 = readingV2({
      metric: z
        .string()
        .min(1)
        .max(32)
        .regex(/^[a-z][a-z0-9_.]*$/),
      value: z.number().int(),
    });
    expect(messages(evolvedReading(v2, 'BACKWARD'))).toEqual([
      "telemetry.reading v2: field 'metric' range narrowed: v2 requires length <= 32, v1 allows length <= 64 (BACKWARD)",
      "telemetry.reading v2: field 'value' changed type: v1 data is number, v2 reads integer (BACKWARD)",
    ]);
  });

  it('holds an _ALL mode to every earlier version, the plain mode only to the previous one', () => {
    // v1: `unit` optional; v2 (FORWARD) makes it required, which v1 readers read; v3 keeps it required.
    const base = z.object({ schemaVersion: z.literal(1), unit: z.string().optional() }).strict();
    const required = (n: number) => z.object({ schemaVersion: z.literal(n), unit: z.string() }).strict();
    const chain = (mode: CompatibilityMode) =>
      defineContract({
        name: 'fixture.unit',
        description: 'fixture',
        versionField: 'schemaVersion',
        versions: [
          { version: 1, schema: base, compatibility: 'BACKWARD', topics: ['raw'] },
          {
            version: 2,
            schema: required(2),
            compatibility: 'FORWARD',
            upcast: (v1: z.output<typeof base>) => ({ ...v1, schemaVersion: 2 as const, unit: v1.unit ?? '1' }),
          },
          { version: 3, schema: required(3), compatibility: mode, ...(mode.startsWith('FORWARD') ? { upcast: bump as (previous: never) => unknown } : {}) },
        ],
      });
    expect(messages(chain('BACKWARD'))).toEqual([]);
    expect(messages(chain('BACKWARD_ALL'))).toEqual(["fixture.unit v3: field 'unit' is required by v3 but optional in v1 (BACKWARD_ALL)"]);
    // FULL_ALL: v1 readers read v3 data, but v3 readers do not read v1 data.
    expect(messages(chain('FULL'))).toEqual([]);
    expect(messages(chain('FULL_ALL'))).toEqual(["fixture.unit v3: field 'unit' is required by v3 but optional in v1 (FULL_ALL)"]);
  });

  it('skips the check for NONE, which moves the version to a new topic', () => {
    const v2: ContractVersionDeclaration = { version: 2, schema: readingV2({ unit: z.string() }), compatibility: 'NONE', topics: ['alerts'] };
    const contract = defineContract({
      name: 'telemetry.reading',
      description: 'fixture',
      versionField: 'schemaVersion',
      versions: [telemetryReadingContract.versions[0], v2],
    });
    expect(messages(contract)).toEqual([]);
  });

  it('reports a version whose schema it does not understand, even without a v2 to compare', () => {
    const shape = z.discriminatedUnion('kind', [z.object({ kind: z.literal('a') }), z.object({ kind: z.literal('b') })]);
    const contract = defineContract({
      name: 'fixture.shape',
      description: 'fixture',
      versionField: 'schemaVersion',
      versions: [{ version: 1, schema: z.object({ schemaVersion: z.literal(1), shape }), compatibility: 'BACKWARD', topics: ['raw'] }],
    });
    expect(messages(contract)).toEqual(["fixture.shape v1: field 'shape' uses keyword 'oneOf', which the checker does not understand (fails closed)"]);
  });
});

describe('defineContract', () => {
  const v1 = telemetryReadingContract.versions[0];

  it('exports latest, versions and a lookup by schemaVersion', () => {
    const contract = evolvedReading(readingV2({ unit: z.string().optional() }), 'BACKWARD');
    expect(contract.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(contract.latest.version).toBe(2);
    expect(contract.version(1)?.schema).toBe(telemetryReadingSchemaV1);
    expect(contract.version(2)).toBe(contract.latest);
    expect(contract.version(3)).toBeUndefined();
    // A version without topics keeps the previous version's.
    expect(contract.latest.topics).toEqual(['raw', 'clean']);
  });

  it('registers the version field the same in every version, so compatibility is judged on the payload', () => {
    const contract = evolvedReading(readingV2({}), 'FULL');
    const [first, second] = contract.versions.map((v) => (v.jsonSchema.properties as Record<string, unknown>).schemaVersion);
    expect(first).toEqual({ type: 'integer', minimum: 1, description: expect.stringMatching(/version this event was written with/) });
    expect(second).toEqual(first);
    expect(contract.latest.jsonSchema.required).toContain('schemaVersion');
    expect(messages(contract)).toEqual([]);
    // The zod schemas still pin each version to its number.
    expect(contract.version(1)!.schema.safeParse({ ...sample, schemaVersion: 2 }).success).toBe(false);
    expect(contract.version(2)!.schema.safeParse({ ...sample, schemaVersion: 2 }).success).toBe(true);
  });

  it('registers draft-07 JSON Schema, the newest draft Glue accepts', () => {
    expect(v1.jsonSchema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(v1.jsonSchema.additionalProperties).toBe(false);
  });

  const invalid =
    (versions: readonly ContractVersionDeclaration[], name = 'telemetry.reading') =>
    () =>
      defineContract({ name, description: 'fixture', versionField: 'schemaVersion', versions: versions as [ContractVersionDeclaration] });

  it('requires NONE to name topics other than the previous version’s', () => {
    expect(invalid([v1, { version: 2, schema: readingV2({}), compatibility: 'NONE' }])).toThrow(
      /telemetry\.reading v2: compatibility NONE needs new topics, so that no reader meets both versions: declare `topics` other than v1's \(raw, clean\)/,
    );
    expect(invalid([v1, { version: 2, schema: readingV2({}), compatibility: 'NONE', topics: ['clean', 'alerts'] }])).toThrow(/; clean carried v1/);
  });

  it('requires versions numbered in order, each carrying its own number', () => {
    expect(invalid([v1, { version: 3, schema: readingV2({}), compatibility: 'BACKWARD' }])).toThrow(
      /versions must be numbered 1, 2, … in order; entry 2 says 3/,
    );
    expect(invalid([v1, { version: 2, schema: telemetryReadingSchemaV1, compatibility: 'BACKWARD' }])).toThrow(
      /telemetry\.reading v2: the schema must declare `schemaVersion: z\.literal\(2\)` \(required\), got \{"type":"number","const":1\}/,
    );
  });

  it('requires topics on the first version, a known mode, a dotted name and a schema JSON Schema can express', () => {
    expect(invalid([{ ...v1, topics: undefined }])).toThrow(/v1: the first version must declare the topics that carry it/);
    expect(invalid([{ ...v1, compatibility: 'DISABLED' as CompatibilityMode }])).toThrow(/compatibility 'DISABLED' is not one of BACKWARD, BACKWARD_ALL/);
    expect(invalid([v1], 'Telemetry Reading')).toThrow(/name 'Telemetry Reading' must be dotted lower-case words/);
    const dated = z.object({ schemaVersion: z.literal(1), at: z.date() });
    expect(invalid([{ ...v1, schema: dated }])).toThrow(/v1: the schema cannot be represented as JSON Schema: Date cannot be represented/);
  });
});

describe('upcasting declared with the versions', () => {
  const v = (n: number) => z.object({ schemaVersion: z.literal(n), note: z.string().optional() }).strict();
  const declare = (versions: readonly ContractVersionDeclaration[]) => () =>
    defineContract({ name: 'fixture.upcast', description: 'fixture', versionField: 'schemaVersion', versions: versions as [ContractVersionDeclaration] });

  it('defaults to setting the version field under BACKWARD, and runs declared steps in order', () => {
    const contract = declare([
      { version: 1, schema: v(1), compatibility: 'BACKWARD', topics: ['raw'] },
      { version: 2, schema: v(2), compatibility: 'BACKWARD' },
      {
        version: 3,
        schema: v(3),
        compatibility: 'BACKWARD',
        upcast: ((e: { note?: string }) => ({ ...e, schemaVersion: 3, note: e.note ?? 'from v2' })) as never,
      },
    ])();
    expect(contract.upcastable).toEqual([1, 2, 3]);
    expect(contract.upcast({ schemaVersion: 1 }, 1)).toEqual({ schemaVersion: 3, note: 'from v2' });
    expect(contract.upcast({ schemaVersion: 2, note: 'kept' }, 2)).toEqual({ schemaVersion: 3, note: 'kept' });
  });

  it('stops at a NONE version: older events are on other topics and cannot be upcast', () => {
    const contract = declare([
      { version: 1, schema: v(1), compatibility: 'BACKWARD', topics: ['raw'] },
      { version: 2, schema: v(2), compatibility: 'NONE', topics: ['clean'] },
    ])();
    expect(contract.upcastable).toEqual([2]);
    expect(() => contract.upcast({ schemaVersion: 1 }, 1)).toThrow('fixture.upcast: v1 events cannot be upcast to v2 (upcastable: v2)');
  });

  it('requires an upcast on a FORWARD version and refuses one on the first or a NONE version', () => {
    const up = ((e: object) => e) as never;
    expect(
      declare([
        { version: 1, schema: v(1), compatibility: 'BACKWARD', topics: ['raw'] },
        { version: 2, schema: v(2), compatibility: 'FORWARD' },
      ]),
    ).toThrow('fixture.upcast v2: a FORWARD version must declare `upcast` from v1');
    expect(declare([{ version: 1, schema: v(1), compatibility: 'BACKWARD', topics: ['raw'], upcast: up }])).toThrow(
      'fixture.upcast v1: `upcast` is for a version that readers meet beside the previous one; the first version has none',
    );
    expect(
      declare([
        { version: 1, schema: v(1), compatibility: 'BACKWARD', topics: ['raw'] },
        { version: 2, schema: v(2), compatibility: 'NONE', topics: ['clean'], upcast: up },
      ]),
    ).toThrow('a NONE version has none');
  });
});
