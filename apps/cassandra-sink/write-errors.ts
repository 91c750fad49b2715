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
 * driver cannot encode): the process must stop rather than skip the row.
 */
export function classifyWriteError(err: unknown): ErrorClass {
  if (err instanceof errors.ResponseError) return RETRYABLE_CODES.has(err.code) ? 'retryable' : 'fatal';
  if (err instanceof errors.NoHostAvailableError || err instanceof errors.OperationTimedOutError || err instanceof errors.BusyConnectionError) {
    return 'retryable';
  }
  return 'fatal';
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
