/**
 * Decoding of contract records (JSON, validated by the zod schemas in apps/contracts), the one
 * place every app turns Kafka bytes into a typed record (Kafka Connect's converter stage). A
 * record that does not decode is dead-lettered with the reason, never dropped.
 */
import type { KafkaMessage } from 'kafkajs';
import { z } from 'zod';
import type { AnyContract, LatestEvent } from '../contracts/versions';

/**
 * Low-cardinality rejection classes: the `reason` label of `sdp_dlq_records_total`. The last four
 * are for readings that pass the schema but are still unsafe (apps/processor/guards.ts) or that a
 * store refused (`store_rejected`, docs/input-safety.md).
 */
export type RejectReason =
  'empty_value' | 'invalid_json' | 'schema_violation' | 'unknown_version' | 'invalid_utf8' | 'key_mismatch' | 'clock_skew' | 'store_rejected';

/** Why a record was rejected: the metric label, a human-readable cause and the error's class. */
export interface Rejected {
  readonly ok: false;
  readonly reason: RejectReason;
  /** Names every offending field: `ts: Too big: expected number to be <=...; unit: unknown field`. */
  readonly detail: string;
  /** For the DLQ exception-class header, after Kafka Connect. */
  readonly errorClass: string;
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | Rejected;

export type Decoder<T> = (value: Buffer | null) => Decoded<T>;

/**
 * A decoder for `schema`, ahead-of-time compiled by zod into one generated function (about 4x
 * faster per record than the runtime parser). A record the compiled schema rejects is re-parsed
 * by the runtime parser, so the issues, and hence the DLQ reasons, are exactly the schema's.
 */
export function jsonDecoder<S extends z.ZodType>(schema: S): Decoder<z.output<S>> {
  const compiled = z.compile(schema);
  return (value) => {
    const json = parseJson(value);
    if (!json.ok) return json;
    const parsed = compiled.safeParse(json.value);
    if (parsed.success) return { ok: true, value: parsed.data as z.output<S> };
    return schemaViolation(parsed.error.issues);
  };
}

/**
 * A decoder for every version of `contract` that upcasts to its latest: the record's version
 * field picks the version's schema (compiled, as in `jsonDecoder`), and a valid record is
 * upcast through the contract's `upcast` steps. Readers thus handle the newest shape only, and
 * during a BACKWARD rollout old and new producers can write the same topic. A rejection names
 * the version it was validated as (`telemetry.reading v1: ts: Too big ...`), or says that the
 * version is not one this reader knows (`unknown_version`: a producer upgraded before its readers).
 */
export function contractDecoder<C extends AnyContract>(contract: C): Decoder<LatestEvent<C>> {
  const { name, versionField } = contract;
  const byVersion = new Map(contract.upcastable.map((n) => [n, z.compile(contract.version(n)!.schema)]));
  const known = contract.upcastable.join(', ');
  return (value) => {
    const json = parseJson(value);
    if (!json.ok) return json;
    const record = json.value;
    const version = typeof record === 'object' && record !== null && !Array.isArray(record) ? (record as Record<string, unknown>)[versionField] : undefined;
    const compiled = typeof version === 'number' ? byVersion.get(version) : undefined;
    if (compiled === undefined) {
      const what = version === undefined ? 'is missing' : `${JSON.stringify(version)} is not a version this reader knows`;
      return {
        ok: false,
        reason: typeof version === 'number' && Number.isInteger(version) ? 'unknown_version' : 'schema_violation',
        detail: `${name}: ${versionField} ${what} (known: ${known})`,
        errorClass: 'UnknownSchemaVersionError',
      };
    }
    const parsed = compiled.safeParse(record);
    if (!parsed.success) return schemaViolation(parsed.error.issues, `${name} v${version}`);
    return { ok: true, value: contract.upcast(parsed.data, version as number) as LatestEvent<C> };
  };
}

function parseJson(value: Buffer | null): Decoded<unknown> {
  if (value === null || value.length === 0) {
    return { ok: false, reason: 'empty_value', detail: 'record has no value (tombstone or zero bytes)', errorClass: 'EmptyValueError' };
  }
  try {
    return { ok: true, value: JSON.parse(value.toString('utf8')) as unknown };
  } catch (err) {
    return { ok: false, reason: 'invalid_json', detail: `invalid JSON: ${(err as Error).message}`, errorClass: (err as Error).name };
  }
}

/**
 * A rejection naming every issue, for records and for outputs that fail their own schema;
 * `validatedAs` (e.g. `telemetry.reading v1`) prefixes the detail.
 */
export function schemaViolation(issues: readonly z.core.$ZodIssue[], validatedAs?: string): Rejected {
  const detail = issues
    .flatMap((i) =>
      // zod reports unknown keys once at the parent's path; name each field instead.
      i.code === 'unrecognized_keys'
        ? i.keys.map((k) => `${fieldPath([...i.path, k])}: unknown field (the schema is strict)`)
        : [`${fieldPath(i.path)}: ${i.message}`],
    )
    .join('; ');
  return { ok: false, reason: 'schema_violation', detail: validatedAs === undefined ? detail : `${validatedAs}: ${detail}`, errorClass: 'ZodError' };
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.length > 0 ? path.map(String).join('.') : '(record)';
}

/** A record that failed, and why. */
export interface Rejection extends Omit<Rejected, 'ok'> {
  readonly message: Pick<KafkaMessage, 'key' | 'value' | 'offset' | 'timestamp' | 'headers'>;
}

/** A batch's records split into the decoded ones (with their message) and the rejections. */
export function decodeAll<T>(
  messages: readonly KafkaMessage[],
  decode: Decoder<T>,
): { accepted: { message: KafkaMessage; value: T }[]; rejections: Rejection[] } {
  const accepted: { message: KafkaMessage; value: T }[] = [];
  const rejections: Rejection[] = [];
  for (const message of messages) {
    const decoded = decode(message.value);
    if (decoded.ok) accepted.push({ message, value: decoded.value });
    else rejections.push({ message, reason: decoded.reason, detail: decoded.detail, errorClass: decoded.errorClass });
  }
  return { accepted, rejections };
}
