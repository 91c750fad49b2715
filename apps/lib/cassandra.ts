/**
 * cassandra-driver client for local Cassandra or Amazon Keyspaces (TLS on 9142 + SigV4 via
 * aws-sigv4-auth-cassandra-plugin, so pods authenticate with their IAM role, no passwords).
 */
import { auth, Client, ClientOptions, types } from 'cassandra-driver';
import type { CassandraEnv } from './config';

export type CassandraClientConfig = Pick<
  CassandraEnv,
  'CASSANDRA_CONTACT_POINTS' | 'CASSANDRA_PORT' | 'CASSANDRA_LOCAL_DC' | 'CASSANDRA_KEYSPACE' | 'CASSANDRA_AUTH' | 'CASSANDRA_TLS' | 'AWS_REGION'
>;

/** Pure translation of the env config into driver options (unit-tested; no connection made). */
export function cassandraClientOptions(cfg: CassandraClientConfig, authProvider?: auth.AuthProvider): ClientOptions {
  const sigv4 = cfg.CASSANDRA_AUTH === 'sigv4';
  const tls = cfg.CASSANDRA_TLS ?? sigv4;
  return {
    contactPoints: [...cfg.CASSANDRA_CONTACT_POINTS],
    // Keyspaces reports the region as the data center name.
    localDataCenter: cfg.CASSANDRA_LOCAL_DC ?? (sigv4 && cfg.AWS_REGION ? cfg.AWS_REGION : 'datacenter1'),
    keyspace: cfg.CASSANDRA_KEYSPACE,
    protocolOptions: { port: cfg.CASSANDRA_PORT ?? (sigv4 ? 9142 : 9042) },
    // Certificates are verified against Node's CA bundle (Keyspaces chains to Amazon Root CA).
    ...(tls ? { sslOptions: { servername: cfg.CASSANDRA_CONTACT_POINTS[0], rejectUnauthorized: true } } : {}),
    ...(authProvider ? { authProvider } : {}),
    queryOptions: { consistency: types.consistencies.localQuorum, prepare: true },
    socketOptions: { connectTimeout: 10_000, readTimeout: 12_000 },
  };
}

export function createCassandraClient(cfg: CassandraClientConfig): Client {
  if (cfg.CASSANDRA_AUTH !== 'sigv4') return new Client(cassandraClientOptions(cfg));
  if (!cfg.AWS_REGION) throw new Error('AWS_REGION is required when CASSANDRA_AUTH=sigv4');
  // Required lazily: the plugin pulls in the whole AWS SDK v2, which local runs never need.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SigV4AuthProvider } = require('aws-sigv4-auth-cassandra-plugin') as {
    SigV4AuthProvider: new (opts: { region: string }) => auth.AuthProvider;
  };
  return new Client(cassandraClientOptions(cfg, new SigV4AuthProvider({ region: cfg.AWS_REGION })));
}
