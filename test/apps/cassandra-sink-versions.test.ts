/**
 * The cassandra-sink reads every registered version of a reading from the clean topic (a
 * processor still on v1 during a rollout writes v1), stored as the newest: the v2 column `unit`
 * bound from v2 readings and left unset (no tombstone) for v1 ones.
 */
import { aggregatesWriter, readingsWriter } from '../../apps/cassandra-sink/statements';
import { contractRoutes } from '../../apps/cassandra-sink/sink';
import { readingsTable } from '../../apps/contracts/tables';

const routes = contractRoutes({ clean: 'clean', aggregates: 'aggregates' }, { readings: readingsWriter('ks'), aggregates: aggregatesWriter('ks') });
const decode = routes.get('clean')!.decode;
const at = (column: string) => readingsTable.columns.findIndex((c) => c.name === column);
const base = { deviceId: 'dev-1', ts: Date.UTC(2025, 0, 1), metric: 'temperature', value: 21.5 };
const enc = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('cassandra-sink decoding of the clean topic across versions', () => {
  test('a v2 reading binds its unit', () => {
    const d = decode(enc({ schemaVersion: 2, ...base, unit: 'Cel' }));
    if (!d.ok) throw new Error(d.detail);
    expect(d.value.params[at('unit')]).toBe('Cel');
    expect(d.value.params[at('schema_version')]).toBe(2);
  });

  test('a v1 reading is upcast: stored as v2, unit unset', () => {
    const d = decode(enc({ schemaVersion: 1, ...base }));
    if (!d.ok) throw new Error(d.detail);
    expect(d.value.params[at('unit')]).toBeUndefined();
    expect(d.value.params[at('schema_version')]).toBe(2);
    expect(d.value.params[at('value')]).toBe(21.5);
  });

  test('a version this sink does not know is dead-lettered as such', () => {
    expect(decode(enc({ schemaVersion: 3, ...base }))).toMatchObject({
      ok: false,
      reason: 'unknown_version',
      detail: expect.stringContaining('schemaVersion 3'),
    });
  });
});
