/**
 * The README's "How to evolve a contract" example is `evolution-example.ts` (without its imports):
 * it declares, passes the gate and registers, and the failure the README quotes is the checker's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { telemetryReadingContract as declared } from '../../apps/contracts/telemetry';
import { checkContract, defineContract } from '../../apps/contracts/versions';
import { telemetryReadingContract, telemetryReadingSchemaV2 } from './evolution-example';

const README = readFileSync(join(__dirname, '../../README.md'), 'utf8');
const EXAMPLE = readFileSync(join(__dirname, 'evolution-example.ts'), 'utf8');
const heading = '### How to evolve a contract, step by step';
const section = README.slice(README.indexOf(heading), README.indexOf('\n### ', README.indexOf(heading) + heading.length));

it('is the first code block of the README section, without its imports', () => {
  expect(README.indexOf(heading)).toBeGreaterThan(0);
  // The block sits in a list item, indented by three spaces.
  const block = / {3}```ts\n([\s\S]*?) {3}```/.exec(section)?.[1].replace(/^ {3}/gm, '');
  expect(block).toBe(EXAMPLE.replace(/^(import .*\n)+\n/, ''));
});

it('keeps v1 exactly as declared today and passes the gate', () => {
  expect(telemetryReadingContract.versions[0].jsonSchema).toEqual(declared.versions[0].jsonSchema);
  expect(checkContract(telemetryReadingContract)).toEqual([]);
  expect(telemetryReadingContract.latest.jsonSchema.properties).toHaveProperty('unit', { type: 'string', minLength: 1, maxLength: 16 });
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
