import { aggregatesTable, readingColumns, readingsTable, TableDeclaration, TelemetryAggregate, TelemetryReading } from '../../apps/contracts';
import { MAX_BATCH_STATEMENTS, PendingRow, planWrites } from '../../apps/cassandra-sink/batching';
import { types } from 'cassandra-driver';
import { cqlTypeName, LiveType, schemaProblems } from '../../apps/cassandra-sink/schema-check';
import { aggregatesWriter, readingsWriter, rowWriter, utcDay } from '../../apps/cassandra-sink/statements';

const reading = (over: Partial<TelemetryReading> = {}): TelemetryReading => ({
  schemaVersion: 2,
  deviceId: 'dev-1',
  ts: Date.UTC(2024, 5, 1, 23, 59, 59, 999),
  metric: 'temp_c',
  value: 21.5,
  tags: { site: 'a' },
  ...over,
});

const aggregate: TelemetryAggregate = {
  schemaVersion: 1,
  deviceId: 'dev-2',
  metric: 'temp_c',
  windowStart: Date.UTC(2024, 0, 31, 23, 59),
  windowEnd: Date.UTC(2024, 1, 1, 0, 0),
  count: 3,
  min: 1,
  max: 3,
  avg: 2,
  sum: 6,
  last: 3,
  lastTs: Date.UTC(2024, 0, 31, 23, 59, 58),
};

/** Parses `INSERT INTO ks.t (a, "b") VALUES (?, ?)` back into its parts. */
function parseInsert(cql: string) {
  const m = /^INSERT INTO (\w+)\.(\w+) \(([^)]*)\) VALUES \(([^)]*)\)$/.exec(cql);
  if (!m) throw new Error(`not an INSERT: ${cql}`);
  return {
    keyspace: m[1],
    table: m[2],
    columns: m[3].split(', ').map((c) => c.replace(/"/g, '')),
    marks: m[4].split(', '),
  };
}

describe('statements derived from the table declarations', () => {
  it.each([
    ['readings', readingsWriter('telemetry'), readingsTable],
    ['aggregates', aggregatesWriter('telemetry'), aggregatesTable],
  ] as const)('%s INSERT lists exactly the declared columns, one bind marker each, no LWT', (_name, writer, table) => {
    const parsed = parseInsert(writer.cql);
    expect(parsed.keyspace).toBe('telemetry');
    expect(parsed.table).toBe(table.name);
    expect(parsed.columns).toEqual(table.columns.map((c) => c.name));
    expect(parsed.marks).toEqual(table.columns.map(() => '?'));
    expect(writer.cql).not.toMatch(/IF NOT EXISTS|USING TTL|counter/i);
  });

  it('quotes reserved column names', () => {
    expect(readingsWriter('ks').cql).toContain('"ts"');
    expect(aggregatesWriter('ks').cql).toContain('"count"');
  });

  it('binds reading fields in declaration order, with the UTC event day', () => {
    const w = readingsWriter('ks');
    const params = w.params(reading());
    const byColumn = Object.fromEntries(readingsTable.columns.map((c, i) => [c.name, params[i]]));
    expect(byColumn).toEqual({
      schema_version: 2,
      device_id: 'dev-1',
      ts: Date.UTC(2024, 5, 1, 23, 59, 59, 999),
      metric: 'temp_c',
      value: 21.5,
      tags: '{"site":"a"}',
      day: '2024-06-01',
    });
  });

  it('stores tags as JSON text that reads back exactly as sent: an empty map is not absent, key order and odd keys survive', () => {
    const w = readingsWriter('ks');
    const i = readingsTable.columns.findIndex((c) => c.name === 'tags');
    expect(readingsTable.columns[i].type).toBe('text');
    const sent = { zone: 'b"1', site: 'a\\\u0001', 'é🙂': '' };
    const text = w.params(reading({ tags: sent }))[i] as string;
    expect(Object.entries(JSON.parse(text) as Record<string, string>)).toEqual(Object.entries(sent));
    expect(w.params(reading({ tags: {} }))[i]).toBe('{}');
    // A replay binds the same text, so the row is rewritten unchanged.
    expect(w.params(reading({ tags: { ...sent } }))[i]).toBe(text);
  });

  it('leaves absent tags unset (undefined) rather than null, which would write a tombstone', () => {
    const w = readingsWriter('ks');
    const { tags: _omit, ...noTags } = reading();
    const params = w.params(noTags);
    const i = readingsTable.columns.findIndex((c) => c.name === 'tags');
    expect(params[i]).toBeUndefined();
  });

  it('binds the aggregate day from the window start, not the window end', () => {
    const w = aggregatesWriter('ks');
    const params = w.params(aggregate);
    const byColumn = Object.fromEntries(aggregatesTable.columns.map((c, i) => [c.name, params[i]]));
    expect(byColumn.day).toBe('2024-01-31');
    expect(byColumn.window_start).toBe(aggregate.windowStart);
    expect(byColumn.last_ts).toBe(aggregate.lastTs);
    expect(byColumn.count).toBe(3);
  });

  it('keys rows by the declared partition and primary key columns', () => {
    const w = readingsWriter('ks');
    const a = w.params(reading());
    const sameRowNewValue = w.params(reading({ value: 99 }));
    const otherTs = w.params(reading({ ts: reading().ts - 1 }));
    const nextDay = w.params(reading({ ts: reading().ts + 1 }));
    expect(w.primaryKey(a)).toBe(w.primaryKey(sameRowNewValue));
    expect(w.primaryKey(a)).not.toBe(w.primaryKey(otherTs));
    expect(w.partitionKey(a)).toBe(w.partitionKey(otherTs));
    expect(w.partitionKey(a)).not.toBe(w.partitionKey(nextDay));
    // Same device/day in the other table is another partition.
    const agg = aggregatesWriter('ks');
    const sameKeyAgg = agg.params({ ...aggregate, deviceId: 'dev-1', windowStart: reading().ts - 59_999 });
    expect(agg.partitionKey(sameKeyAgg)).not.toBe(w.partitionKey(a));
  });

  it('fails at construction when a declared column has no source', () => {
    const extra: TableDeclaration = { ...readingsTable, columns: [...readingsTable.columns, { name: 'firmware', type: 'text' }] };
    expect(() => rowWriter<TelemetryReading>('ks', extra, readingColumns, { day: () => '2024-01-01' })).toThrow(
      /readings_by_device_day\.firmware has neither a contract field nor a derived value/,
    );
    expect(() => rowWriter<TelemetryReading>('ks', readingsTable, readingColumns)).toThrow(/\.day has neither/);
  });

  it('fails at construction when a contract field has no column', () => {
    const fewer: TableDeclaration = { ...readingsTable, columns: readingsTable.columns.filter((c) => c.name !== 'tags') };
    expect(() => rowWriter<TelemetryReading>('ks', fewer, readingColumns, { day: () => '2024-01-01' })).toThrow(/Field "tags" maps to column "tags"/);
  });

  it('utcDay is UTC at both edges of the day', () => {
    expect(utcDay(Date.UTC(2024, 1, 29, 0, 0, 0, 0))).toBe('2024-02-29');
    expect(utcDay(Date.UTC(2024, 1, 29, 23, 59, 59, 999))).toBe('2024-02-29');
    expect(utcDay(Date.UTC(2024, 2, 1))).toBe('2024-03-01');
  });
});

describe('planWrites', () => {
  const w = readingsWriter('ks');
  const row = (deviceId: string, ts: number, value = 1): PendingRow => ({ writer: w, params: w.params(reading({ deviceId, ts, value })) });
  const base = Date.UTC(2024, 5, 1, 12);

  it('never mixes partitions in a unit and never exceeds 30 statements', () => {
    const rows: PendingRow[] = [];
    for (let i = 0; i < 100; i++) rows.push(row('dev-a', base + i));
    for (let i = 0; i < 7; i++) rows.push(row('dev-b', base + i));
    for (let i = 0; i < 31; i++) rows.push(row('dev-a', base + 86_400_000 + i)); // dev-a, next day
    const units = planWrites(rows);

    for (const u of units) {
      expect(u.statements.length).toBeGreaterThan(0);
      expect(u.statements.length).toBeLessThanOrEqual(MAX_BATCH_STATEMENTS);
      expect(new Set(u.statements.map((s) => w.partitionKey(s.params)))).toEqual(new Set([u.partitionKey]));
    }
    expect(units.map((u) => u.statements.length)).toEqual([30, 30, 30, 10, 7, 30, 1]);
    expect(units.reduce((n, u) => n + u.statements.length, 0)).toBe(rows.length);
  });

  it('keeps only the last write per primary key, in the later position', () => {
    const units = planWrites([row('dev-a', base, 1), row('dev-a', base + 1, 2), row('dev-a', base, 3)]);
    expect(units).toHaveLength(1);
    const valueIdx = readingsTable.columns.findIndex((c) => c.name === 'value');
    expect(units[0].statements.map((s) => s.params[valueIdx])).toEqual([2, 3]);
  });

  it('honours a smaller batch limit and rejects a nonsensical one', () => {
    const rows = Array.from({ length: 5 }, (_, i) => row('dev-a', base + i));
    expect(planWrites(rows, 2).map((u) => u.statements.length)).toEqual([2, 2, 1]);
    expect(() => planWrites(rows, 0)).toThrow(/positive integer/);
  });

  it('returns nothing for nothing', () => {
    expect(planWrites([])).toEqual([]);
  });
});

/** The driver's metadata type of a declared non-collection column (every declared column is one). */
const simpleType = (cql: string): LiveType => {
  const code = (types.dataTypes as unknown as Record<string, unknown>)[cql];
  if (typeof code !== 'number') throw new Error(`no simple CQL type ${cql}`);
  return { code };
};

describe('schemaProblems', () => {
  const live = (table: TableDeclaration) => ({
    columns: table.columns.map((c) => ({ name: c.name, type: simpleType(c.type) })),
    partitionKeys: table.partitionKey.map((name) => ({ name })),
    clusteringKeys: table.clusteringKey.map((c) => ({ name: c.name })),
  });

  it('accepts a table created from the declaration', () => {
    expect(schemaProblems('ks', readingsTable, live(readingsTable))).toEqual([]);
  });

  it('names a missing table, a missing column and a different key', () => {
    expect(schemaProblems('ks', readingsTable, null)).toEqual([expect.stringMatching(/ks\.readings_by_device_day does not exist/)]);
    const drifted = {
      ...live(readingsTable),
      columns: live(readingsTable).columns.filter((c) => c.name !== 'tags'),
      partitionKeys: [{ name: 'device_id' }],
    };
    expect(schemaProblems('ks', readingsTable, drifted)).toEqual([
      expect.stringMatching(/no column "tags" \(text\)/),
      expect.stringMatching(/partition key is \(device_id\), the contract declares \(device_id, day\)/),
    ]);
  });

  it('refuses a table made with the old frozen<map<text, text>> tags, naming the column, both types and the local fix', () => {
    const text = { code: types.dataTypes.varchar };
    const frozenMap: LiveType = { code: types.dataTypes.map, info: [text, text], options: { frozen: true } };
    expect(cqlTypeName(frozenMap)).toBe('frozen<map<varchar, varchar>>');
    const old = { ...live(readingsTable), columns: live(readingsTable).columns.map((c) => (c.name === 'tags' ? { ...c, type: frozenMap } : c)) };
    expect(schemaProblems('ks', readingsTable, old)).toEqual([
      'table ks.readings_by_device_day column "tags" is frozen<map<varchar, varchar>>, the contract declares text: ' +
        'a column type cannot change in place (locally: `npx tsx scripts/local/local-services.ts reset cassandra`, then `up`)',
    ]);
    // The driver reports text as varchar; the same type is no problem.
    const varcharTags = { ...live(readingsTable), columns: live(readingsTable).columns.map((c) => (c.name === 'tags' ? { ...c, type: text } : c)) };
    expect(schemaProblems('ks', readingsTable, varcharTags)).toEqual([]);
  });
});
