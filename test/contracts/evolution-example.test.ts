/**
 * The README's "How to evolve a contract" example is the real v2 of the reading: each snippet of
 * its first code block is in apps/contracts/telemetry.ts as written, the contract passes the
 * gate, and the failure the README quotes is the checker's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { telemetryReadingContract, telemetryReadingSchemaV2 } from '../../apps/contracts/telemetry';
import { checkContract, defineContract } from '../../apps/contracts/versions';

const README = readFileSync(join(__dirname, '../../README.md'), 'utf8');
const TELEMETRY = readFileSync(join(__dirname, '../../apps/contracts/telemetry.ts'), 'utf8');
const heading = '### How to evolve a contract, step by step';
const section = README.slice(README.indexOf(heading), README.indexOf('\n### ', README.indexOf(heading) + heading.length));

it('quotes apps/contracts/telemetry.ts in the first code block of the README section', () => {
  expect(README.indexOf(heading)).toBeGreaterThan(0);
  // The block sits in a list item, indented by three spaces.
  const block = / {3}```ts\n([\s\S]*?) {3}```/.exec(section)?.[1].replace(/^ {3}/gm, '') ?? '';
  const snippets = block.split(/\n\n/).filter((s) => s.trim().length > 0);
  expect(snippets.length).toBeGreaterThanOrEqual(3);
  expect(snippets.filter((s) => !TELEMETRY.includes(s.trimEnd()))).toEqual([]);
});

it('declares v2 next to v1 and passes the gate', () => {
  expect(telemetryReadingContract.versions.map((v) => [v.version, v.compatibility])).toEqual([
    [1, 'BACKWARD'],
    [2, 'BACKWARD'],
  ]);
  expect(checkContract(telemetryReadingContract)).toEqual([]);
  expect(telemetryReadingContract.latest.jsonSchema.properties).toHaveProperty(
    'unit',
    expect.objectContaining({ type: 'string', minLength: 1, maxLength: 16 }),
  );
  expect(telemetryReadingContract.versions[0].jsonSchema.properties).not.toHaveProperty('unit');
});

it('fails, with the message the README quotes, when the new field is required', () => {
  const [v1] = telemetryReadingContract.versions;
  const required = defineContract({
    name: 'telemetry.reading',
    description: 'fixture',
    versionField: 'schemaVersion',
    versions: [v1, { version: 2, schema: telemetryReadingSchemaV2.extend({ unit: z.string() }), compatibility: 'BACKWARD' }],
  });
  const [message, ...rest] = checkContract(required).map((v) => v.message);
  expect(rest).toEqual([]);
  expect(message).toBe("telemetry.reading v2: field 'unit' is required but v1 data does not have it (BACKWARD)");
  expect(section).toContain(message);
});

it('fails, naming the field, when v2 narrows a v1 field', () => {
  const [v1] = telemetryReadingContract.versions;
  const narrowed = defineContract({
    name: 'telemetry.reading',
    description: 'fixture',
    versionField: 'schemaVersion',
    versions: [v1, { version: 2, schema: telemetryReadingSchemaV2.extend({ value: z.number().min(0) }), compatibility: 'BACKWARD' }],
  });
  expect(checkContract(narrowed).map((v) => v.message)).toEqual([
    "telemetry.reading v2: field 'value' range narrowed: v2 requires value >= 0, v1 allows any value (BACKWARD)",
  ]);
});
