/**
 * The gate: every declared contract's versions keep their declared compatibility mode. A commit
 * that adds an incompatible version fails here with the field and the rule named (the messages
 * in test/contracts/versions.test.ts show what it prints).
 */
import { allContracts, contracts, contractsOnTopics } from '../../apps/contracts/telemetry';
import { topics, TopicKey } from '../../apps/contracts/topics';
import { checkContract } from '../../apps/contracts/versions';

describe.each(allContracts.map((c) => [c.name, c] as const))('contract %s', (_name, contract) => {
  it('keeps every version compatible with the earlier ones, as its mode declares', () => {
    expect(checkContract(contract).map((v) => v.message)).toEqual([]);
  });
});

describe('the contract catalog', () => {
  it('gives every topic but the DLQ a contract, and the DLQ none (it carries the failed records as they were)', () => {
    const keys = Object.keys(topics) as TopicKey[];
    const uncovered = keys.filter((k) => contractsOnTopics([k]).length === 0);
    expect(uncovered).toEqual(['deadLetter']);
  });

  it('names each contract once, and matches each topic to the events it carries', () => {
    expect(new Set(allContracts.map((c) => c.name)).size).toBe(allContracts.length);
    expect(contractsOnTopics(['clean'])).toEqual([contracts.reading]);
    expect(contractsOnTopics(['clean', 'aggregates'])).toEqual([contracts.reading, contracts.aggregate]);
  });
});
