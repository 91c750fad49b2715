/**
 * Raw record -> validated reading of the newest version, or a dead-letter verdict whose reason
 * names the version and the field, through the shared decoder (apps/lib/records: each registered
 * version's schema, compiled, then the contract's upcasts). Pure and allocation-light: it runs
 * once per record on the hot path.
 */
import { telemetryReadingContract, TelemetryReading } from '../contracts/telemetry';
import { contractDecoder } from '../lib/records';

export const validateRecord = contractDecoder(telemetryReadingContract);

/**
 * The clean topic's canonical encoding: fixed key order, no extra whitespace, so equal
 * readings are byte-equal whatever the device sent.
 */
export function canonicalReading(r: TelemetryReading): string {
  // Built as a string rather than stringifying a fresh object: one allocation less per record.
  // Numbers are finite (validated), where String(n) and JSON.stringify(n) agree, except that both
  // print -0 as 0: the stores keep the sign of a double, so it is written out.
  const value = Object.is(r.value, -0) ? '-0' : r.value;
  const head = `{"schemaVersion":${r.schemaVersion},"deviceId":${JSON.stringify(r.deviceId)},"ts":${r.ts},"metric":${JSON.stringify(r.metric)},"value":${value}`;
  const tagged = r.tags === undefined ? head : `${head},"tags":${JSON.stringify(r.tags)}`;
  return r.unit === undefined ? `${tagged}}` : `${tagged},"unit":${JSON.stringify(r.unit)}}`;
}
