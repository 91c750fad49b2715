/**
 * Checks a schema-valid reading must still pass before it reaches the clean topic and the
 * windows, because otherwise ONE record would change the results of others or be stored altered
 * (docs/input-safety.md):
 *
 * - its bytes are valid UTF-8: `Buffer#toString` would replace a bad sequence with U+FFFD and
 *   the stores would keep the replacement, not what the device sent;
 * - it has no `__proto__` tag: zod's record drops that key (assigning it to an object would set
 *   the prototype), so the tag would silently vanish;
 * - its Kafka key is its device id: windows are per raw partition, so a device whose readings
 *   are spread over partitions gets two partial aggregates for one window, the later
 *   overwriting the earlier in the aggregates table;
 * - its event time is at most `maxClockSkewMs` ahead of the processor's clock: a reading from
 *   the future would move its partition's watermark there and make every other device on the
 *   partition late. Readings within the bound still move the watermark only up to the clock
 *   (`PartitionWindows.add`). The bound is one-sided, so a replay, which only comes later,
 *   accepts again what it accepted the first time.
 */
import { isUtf8 } from 'buffer';
import type { KafkaMessage } from 'kafkajs';
import type { TelemetryReading } from '../contracts/telemetry';
import type { Rejected } from '../lib/records';

export interface ReadingGuardOptions {
  /** PROCESSOR_MAX_CLOCK_SKEW_MS. */
  readonly maxClockSkewMs: number;
}

export function checkReading(r: TelemetryReading, msg: Pick<KafkaMessage, 'key' | 'value'>, now: number, opts: ReadingGuardOptions): Rejected | undefined {
  if (msg.value !== null && !isUtf8(msg.value)) return invalidUtf8(r, msg.value);
  if (msg.value !== null && msg.value.includes(PROTO) && hasProtoTag(msg.value)) {
    return { ok: false, reason: 'schema_violation', detail: 'tags.__proto__: a tag may not be named "__proto__"', errorClass: 'ZodError' };
  }
  const key = msg.key?.toString('utf8');
  if (key !== r.deviceId) {
    const detail =
      key === undefined
        ? `deviceId: the record has no Kafka key; readings must be keyed by their deviceId ("${r.deviceId}") so a device's windows live on one partition`
        : `deviceId: the record's Kafka key ${JSON.stringify(key.slice(0, 200))} is not its deviceId ("${r.deviceId}"); readings must be keyed by deviceId so a device's windows live on one partition`;
    return { ok: false, reason: 'key_mismatch', detail, errorClass: 'KeyMismatchError' };
  }
  const ahead = r.ts - now;
  if (ahead > opts.maxClockSkewMs) {
    return {
      ok: false,
      reason: 'clock_skew',
      detail:
        `ts: ${new Date(r.ts).toISOString()} is ${ahead} ms ahead of the processor's clock (${new Date(now).toISOString()}); ` +
        `at most ${opts.maxClockSkewMs} ms is allowed (PROCESSOR_MAX_CLOCK_SKEW_MS): check the device's clock`,
      errorClass: 'ClockSkewError',
    };
  }
  return undefined;
}

const PROTO = '"__proto__"';

/** JSON.parse keeps `__proto__` as an own key; the validated reading no longer has it. */
function hasProtoTag(bytes: Buffer): boolean {
  const tags = (JSON.parse(bytes.toString('utf8')) as { tags?: unknown }).tags;
  return typeof tags === 'object' && tags !== null && Object.hasOwn(tags, '__proto__');
}

/** Names the field that held the bad bytes: the decoded reading has U+FFFD where they were. */
function invalidUtf8(r: TelemetryReading, bytes: Buffer): Rejected {
  const fields = [
    ...(['deviceId', 'metric'] as const).filter((f) => r[f].includes('\ufffd')),
    ...Object.entries(r.tags ?? {})
      .filter(([k, v]) => k.includes('\ufffd') || v.includes('\ufffd'))
      .map(([k]) => `tags.${k}`),
  ];
  const where = fields.length > 0 ? fields.join(', ') : '(record)';
  return {
    ok: false,
    reason: 'invalid_utf8',
    detail: `${where}: the record's ${bytes.length} bytes are not valid UTF-8 (it would be stored with U+FFFD in place of the bad bytes)`,
    errorClass: 'InvalidUtf8Error',
  };
}
