import { AppConfigError, cassandraEnv, commonEnv, kafkaEnv, loadConfig, s3Env } from '../../apps/lib/config';
import { kafkaClientConfig } from '../../apps/lib/kafka';
import { cassandraClientOptions } from '../../apps/lib/cassandra';

const kafkaBase = { KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_CLIENT_ID: 'processor' };

function configError(fn: () => unknown): AppConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppConfigError) return err;
    throw err;
  }
  throw new Error('expected an AppConfigError');
}

describe('loadConfig', () => {
  test('applies documented defaults', () => {
    const cfg = loadConfig(kafkaEnv.extend(commonEnv.shape), kafkaBase);
    expect(cfg).toMatchObject({
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      KAFKA_AUTH: 'none',
      KAFKA_COMPRESSION: 'none',
      LOG_LEVEL: 'info',
    });
    expect(cfg.KAFKA_TLS).toBeUndefined();
  });

  test('lists every bad variable by name in one error', () => {
    const err = configError(() =>
      loadConfig(kafkaEnv.extend(commonEnv.shape), { KAFKA_BROKERS: 'a:1,no-port', KAFKA_AUTH: 'kerberos', HTTP_PORT: 'eighty', KAFKA_TLS: 'maybe' }),
    );
    const vars = err.issues.map((i) => i.variable).sort();
    expect(vars).toEqual(['HTTP_PORT', 'KAFKA_AUTH', 'KAFKA_BROKERS', 'KAFKA_TLS']);
    expect(err.message).toMatch(/KAFKA_BROKERS: entry 2: each entry must be host:port/);
    expect(err.message).toMatch(/KAFKA_TLS: must be true or false, got "maybe"/);
    expect(err.message).toMatch(/HTTP_PORT: must be an integer/);
    const missing = configError(() => loadConfig(kafkaEnv, {}));
    expect(missing.issues).toEqual([{ variable: 'KAFKA_BROKERS', message: 'required but not set' }]);
  });

  test('treats empty strings as unset so defaults apply', () => {
    const cfg = loadConfig(commonEnv, { LOG_LEVEL: '', HTTP_PORT: '' });
    expect(cfg.HTTP_PORT).toBeUndefined(); // runApp then serves on the catalog's port
    expect(cfg.LOG_LEVEL).toBe('info');
  });

  test('SCRAM needs credentials and IAM needs a region, named in the error', () => {
    const scram = configError(() => loadConfig(kafkaEnv, { ...kafkaBase, KAFKA_AUTH: 'scram' }));
    expect(scram.issues.map((i) => i.variable).sort()).toEqual(['KAFKA_SASL_PASSWORD', 'KAFKA_SASL_USERNAME']);
    const iam = configError(() => loadConfig(kafkaEnv, { ...kafkaBase, KAFKA_AUTH: 'iam' }));
    expect(iam.issues).toEqual([expect.objectContaining({ variable: 'AWS_REGION' })]);
  });

  test('refuses TLS off with SASL, even after composition with .extend()', () => {
    const err = configError(() =>
      loadConfig(kafkaEnv.extend(commonEnv.shape), { ...kafkaBase, KAFKA_AUTH: 'iam', AWS_REGION: 'eu-west-1', KAFKA_TLS: 'false' }),
    );
    expect(err.issues).toEqual([{ variable: 'KAFKA_TLS', message: 'must be true (or unset) when KAFKA_AUTH=iam' }]);
  });

  test('cross-variable rules survive composing schemas that share AWS_REGION, and join field errors', () => {
    const sink = kafkaEnv.extend(cassandraEnv.shape).extend(s3Env.shape).extend(commonEnv.shape);
    const err = configError(() =>
      loadConfig(sink, {
        ...kafkaBase,
        KAFKA_AUTH: 'scram',
        CASSANDRA_CONTACT_POINTS: 'h',
        CASSANDRA_KEYSPACE: 'ks',
        CASSANDRA_AUTH: 'sigv4',
        S3_BUCKET: 'lake',
        HTTP_PORT: '-1',
      }),
    );
    expect(err.issues.map((i) => i.variable).sort()).toEqual(['AWS_REGION', 'HTTP_PORT', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_USERNAME']);
    expect(err.issues.find((i) => i.variable === 'AWS_REGION')?.message).toBe('required when CASSANDRA_AUTH=sigv4');
  });

  test('cassandra and s3 schemas validate names and parse booleans', () => {
    const err = configError(() =>
      loadConfig(cassandraEnv.extend(s3Env.shape), {
        CASSANDRA_CONTACT_POINTS: 'a b',
        CASSANDRA_KEYSPACE: '1bad',
        S3_BUCKET: 'Bad_Bucket',
        S3_FORCE_PATH_STYLE: 'yes',
      }),
    );
    expect(err.issues.map((i) => i.variable).sort()).toEqual(['CASSANDRA_CONTACT_POINTS', 'CASSANDRA_KEYSPACE', 'S3_BUCKET']);
    const ok = loadConfig(s3Env, { S3_BUCKET: 'lake', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: 'YES' });
    expect(ok).toEqual({ S3_BUCKET: 'lake', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: true, AWS_REGION: 'us-east-1' });
  });
});

describe('client options', () => {
  test('kafka: plaintext locally, TLS + OAUTHBEARER for MSK IAM, TLS + SCRAM-SHA-512', () => {
    expect(kafkaClientConfig(loadConfig(kafkaEnv, kafkaBase))).toMatchObject({ ssl: false, brokers: ['127.0.0.1:9092'], clientId: 'processor' });
    expect(kafkaClientConfig({ ...loadConfig(kafkaEnv, { KAFKA_BROKERS: 'b:9092' }), APP_NAME: 'lake-sink' }).clientId).toBe('lake-sink');
    expect(kafkaClientConfig(loadConfig(kafkaEnv, kafkaBase)).sasl).toBeUndefined();

    const iam = kafkaClientConfig(loadConfig(kafkaEnv, { ...kafkaBase, KAFKA_AUTH: 'iam', AWS_REGION: 'eu-west-1' }));
    expect(iam.ssl).toBe(true);
    expect(iam.sasl).toEqual({ mechanism: 'oauthbearer', oauthBearerProvider: expect.any(Function) });

    const scram = kafkaClientConfig(loadConfig(kafkaEnv, { ...kafkaBase, KAFKA_AUTH: 'scram', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }));
    expect(scram).toMatchObject({ ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } });
  });

  test('cassandra: Keyspaces gets TLS, port 9142, region as DC and LOCAL_QUORUM', () => {
    const local = cassandraClientOptions(loadConfig(cassandraEnv, { CASSANDRA_CONTACT_POINTS: '127.0.0.1', CASSANDRA_KEYSPACE: 'telemetry' }));
    expect(local).toMatchObject({ localDataCenter: 'datacenter1', protocolOptions: { port: 9042 } });
    expect(local.sslOptions).toBeUndefined();

    const ks = cassandraClientOptions(
      loadConfig(cassandraEnv, {
        CASSANDRA_CONTACT_POINTS: 'cassandra.eu-west-1.amazonaws.com',
        CASSANDRA_KEYSPACE: 'telemetry',
        CASSANDRA_AUTH: 'sigv4',
        AWS_REGION: 'eu-west-1',
      }),
    );
    expect(ks).toMatchObject({
      localDataCenter: 'eu-west-1',
      protocolOptions: { port: 9142 },
      sslOptions: { servername: 'cassandra.eu-west-1.amazonaws.com', rejectUnauthorized: true },
      queryOptions: { consistency: 6, prepare: true },
    });
  });
});
