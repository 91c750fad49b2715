/**
 * Decoding of contract records (JSON, validated by the zod schemas in apps/contracts).
 * Used by both sinks; a record that does not decode is dead-lettered, never dropped.
 */
import type { z } from 'zod';

/** Low-cardinality rejection classes: the `reason` label of `sdp_dlq_records_total`. */
export type RejectReason = 'empty_value' | 'invalid_json' | 'schema_violation';

export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string; readonly errorClass: string };

export function decodeJson<T>(schema: z.ZodType<T>, value: Buffer | null): Decoded<T> {
  if (value === null || value.length === 0) {
    return { ok: false, reason: 'empty_value', detail: 'record has no value (tombstone or empty)', errorClass: 'EmptyValue' };
  }
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'invalid_json', detail: (err as Error).message, errorClass: (err as Error).name };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const [first, ...rest] = parsed.error.issues;
  const path = first.path.length > 0 ? first.path.map(String).join('.') : '(record)';
  return {
    ok: false,
    reason: 'schema_violation',
    detail: `${path}: ${first.message}${rest.length > 0 ? ` (+${rest.length} more)` : ''}`,
    errorClass: 'ZodError',
  };
}
