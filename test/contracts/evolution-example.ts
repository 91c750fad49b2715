import { z } from 'zod';
import { defineContract, telemetryReadingSchema } from '../../apps/contracts';

/** v2: an optional unit. v1 stays as it is; v1 readings still parse as v1. */
export const telemetryReadingSchemaV2 = telemetryReadingSchema.extend({
  schemaVersion: z.literal(2),
  unit: z.string().min(1).max(16).optional(),
});

export const telemetryReadingContract = defineContract({
  name: 'telemetry.reading',
  description: 'A device reading, as devices send it (raw topic) and once validated (clean topic)',
  versionField: 'schemaVersion',
  versions: [
    { version: 1, schema: telemetryReadingSchema, compatibility: 'BACKWARD', topics: ['raw', 'clean'] },
    { version: 2, schema: telemetryReadingSchemaV2, compatibility: 'BACKWARD' },
  ],
});
