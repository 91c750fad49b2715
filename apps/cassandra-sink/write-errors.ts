/**
 * Which Cassandra/Keyspaces write errors another attempt can fix, and their metric labels: the
 * only part of the retry that is specific to this store (the retry itself is apps/lib/retry).
 */
import { errors, types } from 'cassandra-driver';
import type { ErrorClass } from '../lib/retry';

const { responseErrorCodes: code } = types;

/** Server-side conditions that a later attempt of an idempotent write can get past. */
const RETRYABLE_CODES = new Set<number>([
  code.unavailableException,
  code.overloaded,
  code.isBootstrapping,
  code.writeTimeout,
  code.writeFailure,
  // Amazon Keyspaces reports some throttling and transient faults as ServerError.
  code.serverError,
]);

/**
 * `fatal` covers errors no retry can fix (bad CQL, unknown column, unauthorized, a value the
 * driver cannot encode). Rows the store refused for their values (`isRowRejection`) are then
 * dead-lettered by the writer; anything else stops the process rather than skip the row.
 */
export function classifyWriteError(err: unknown): ErrorClass {
  if (err instanceof errors.ResponseError) return RETRYABLE_CODES.has(err.code) ? 'retryable' : 'fatal';
  if (err instanceof errors.NoHostAvailableError || err instanceof errors.OperationTimedOutError || err instanceof errors.BusyConnectionError) {
    return 'retryable';
  }
  return 'fatal';
}

/** Server messages of an invalid request that every row would get: the table, not the row, is wrong. */
const SCHEMA_PROBLEM = /undefined column|unconfigured table|does not exist|unknown identifier|unknown keyspace|no keyspace/i;

/**
 * True when the store refused THIS row's values (an invalid request such as a value or key over a
 * limit or a guardrail, or a value the driver cannot encode), so writing the other rows is still
 * right and the row belongs in the DLQ. Transient errors are never a rejection (they are retried),
 * nor are errors of the statement or the schema, which every row would hit.
 */
export function isRowRejection(err: unknown): boolean {
  if (err instanceof errors.ResponseError) return err.code === code.invalid && !SCHEMA_PROBLEM.test(err.message);
  return err instanceof TypeError || err instanceof RangeError;
}

/** Short, low-cardinality label for metrics (`write_timeout`, `no_host_available`, ...). */
export function errorKind(err: unknown): string {
  if (err instanceof errors.ResponseError) {
    const name = Object.entries(code).find(([, v]) => v === err.code)?.[0] ?? 'response';
    return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/_exception$/, '');
  }
  if (err instanceof errors.NoHostAvailableError) return 'no_host_available';
  if (err instanceof errors.OperationTimedOutError) return 'client_timeout';
  if (err instanceof errors.BusyConnectionError) return 'busy_connection';
  return 'other';
}
