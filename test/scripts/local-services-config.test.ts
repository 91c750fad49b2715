/**
 * The pure parts of the local services' Kafka modes: node ports, durability per mode, how the
 * mode is chosen and recorded, the endpoints that follow it, each node's server.properties and
 * the CLI flag. The processes themselves are exercised in test/integration/local-services.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from '../../scripts/local/local-services';
import {
  appEnv,
  endpoints,
  forgetKafkaNodes,
  kafkaDurability,
  kafkaNodeCount,
  kafkaNodes,
  parseKafkaNodes,
  ports,
  recordedKafkaNodes,
  recordKafkaNodes,
  requestedKafkaNodes,
} from '../../scripts/local/local-services/config';
import { newKafkaClusterId, renderKafkaServerProperties } from '../../scripts/local/local-services/services';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-services-config-'));
  env = { LOCAL_SERVICES_DIR: dir };
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `key=value` lines of a properties file, comments and blank lines dropped. */
const properties = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('Kafka nodes and their ports', () => {
  test('the single node is node 1 on 9092/9093; the cluster adds 9094/9095 and 9096/9097', () => {
    expect(kafkaNodes(1)).toEqual([{ id: 1, brokerPort: ports.kafka.broker, controllerPort: ports.kafka.controller }]);
    expect(kafkaNodes(3)).toEqual([
      { id: 1, brokerPort: 9092, controllerPort: 9093 },
      { id: 2, brokerPort: 9094, controllerPort: 9095 },
      { id: 3, brokerPort: 9096, controllerPort: 9097 },
    ]);
  });

  test('no Kafka node port collides with another service or another node', () => {
    const kafkaPorts = kafkaNodes(3).flatMap((n) => [n.brokerPort, n.controllerPort]);
    const others: number[] = [...Object.values(ports.cassandra), ...Object.values(ports.s3)];
    expect(new Set(kafkaPorts).size).toBe(kafkaPorts.length);
    expect(kafkaPorts.filter((p) => others.includes(p))).toEqual([]);
  });

  test('a cluster has RF 3 and min ISR 2 (one node may be down), a single node RF 1 and min ISR 1', () => {
    expect(kafkaDurability(3)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(kafkaDurability(1)).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
  });
});

describe('choosing the mode', () => {
  test('LOCAL_KAFKA_NODES takes 1 or 3 and names itself when it is anything else', () => {
    expect(requestedKafkaNodes({})).toBeUndefined();
    expect(requestedKafkaNodes({ LOCAL_KAFKA_NODES: '' })).toBeUndefined();
    expect(requestedKafkaNodes({ LOCAL_KAFKA_NODES: ' 3 ' })).toBe(3);
    expect(() => requestedKafkaNodes({ LOCAL_KAFKA_NODES: '2' })).toThrow(
      "LOCAL_KAFKA_NODES must be 1 (one broker) or 3 (a 3-node KRaft cluster with RF 3 and min ISR 2); got '2'",
    );
    expect(() => parseKafkaNodes('three', '--kafka-nodes')).toThrow(/^--kafka-nodes must be 1 .* got 'three'$/);
  });

  test('the recorded mode wins over LOCAL_KAFKA_NODES, which wins over the default of one node', () => {
    expect(kafkaNodeCount(env)).toBe(1);
    expect(kafkaNodeCount({ ...env, LOCAL_KAFKA_NODES: '3' })).toBe(3);
    recordKafkaNodes(1, env);
    expect(recordedKafkaNodes(env)).toBe(1);
    expect(kafkaNodeCount({ ...env, LOCAL_KAFKA_NODES: '3' })).toBe(1);
    forgetKafkaNodes(env);
    expect(recordedKafkaNodes(env)).toBeUndefined();
    expect(kafkaNodeCount({ ...env, LOCAL_KAFKA_NODES: '3' })).toBe(3);
  });

  test('a corrupt mode record is an error that names the file', () => {
    fs.writeFileSync(path.join(dir, 'kafka-mode.json'), JSON.stringify({ nodes: 5 }));
    expect(() => kafkaNodeCount(env)).toThrow(`'nodes' in ${path.join(dir, 'kafka-mode.json')} must be 1`);
  });

  test('endpoints and the apps env list every broker of the recorded mode', () => {
    expect(endpoints(env)).toMatchObject({ kafkaBrokers: '127.0.0.1:9092', kafkaBrokerList: ['127.0.0.1:9092'] });
    recordKafkaNodes(3, env);
    const e = endpoints(env);
    expect(e.kafkaBrokerList).toEqual(['127.0.0.1:9092', '127.0.0.1:9094', '127.0.0.1:9096']);
    expect(appEnv(e).KAFKA_BROKERS).toBe('127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096');
  });
});

describe('server.properties of a node', () => {
  test('a cluster node: its own id and listeners, all three voters, RF 3 and min ISR 2 for data and internal topics', () => {
    const props = properties(renderKafkaServerProperties(3, 2, '/data/node-2'));
    expect(props).toMatchObject({
      'process.roles': 'broker,controller',
      'node.id': '2',
      'controller.quorum.voters': '1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097',
      listeners: 'PLAINTEXT://127.0.0.1:9094,CONTROLLER://127.0.0.1:9095',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:9094',
      'log.dirs': '/data/node-2',
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
      'offsets.topic.replication.factor': '3',
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
      'share.coordinator.state.topic.replication.factor': '3',
      'share.coordinator.state.topic.min.isr': '2',
      'unclean.leader.election.enable': 'false',
    });
  });

  test('the single node: one voter, RF 1 and min ISR 1, and a transaction state log it can host alone', () => {
    const props = properties(renderKafkaServerProperties(1, 1, '/data/kafka'));
    expect(props).toMatchObject({
      'node.id': '1',
      'controller.quorum.voters': '1@127.0.0.1:9093',
      listeners: 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093',
      'default.replication.factor': '1',
      'min.insync.replicas': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
    });
  });

  test('a node the mode does not have is an error naming the valid ids', () => {
    expect(() => renderKafkaServerProperties(3, 4, '/x')).toThrow('Kafka node 4 does not exist with 3 node(s); nodes are 1..3');
    expect(() => renderKafkaServerProperties(1, 2, '/x')).toThrow('nodes are 1..1');
  });
});

describe('the KRaft cluster id', () => {
  test('is 16 bytes in base64url and never starts with a dash, which the storage tool would read as an option', () => {
    const ids = Array.from({ length: 2_000 }, newKafkaClusterId);
    expect(ids.every((id) => /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id) && Buffer.from(id, 'base64url').length === 16)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('the --kafka-nodes flag', () => {
  test('is taken off the arguments, as two words or with =', () => {
    expect(parseArgs(['start', '--kafka-nodes', '3', 'kafka'])).toEqual({ args: ['start', 'kafka'], kafkaNodes: 3 });
    expect(parseArgs(['up', '--kafka-nodes=1'])).toEqual({ args: ['up'], kafkaNodes: 1 });
    expect(parseArgs(['status'])).toEqual({ args: ['status'], kafkaNodes: undefined });
  });

  test('refuses a missing or unsupported count', () => {
    expect(() => parseArgs(['start', '--kafka-nodes'])).toThrow('--kafka-nodes needs a value: 1 or 3');
    expect(() => parseArgs(['start', '--kafka-nodes', '2'])).toThrow(/--kafka-nodes must be 1 .* got '2'/);
  });
});
