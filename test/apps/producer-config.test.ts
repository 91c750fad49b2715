import { AppConfigError, loadConfig } from '../../apps/lib/config';
import { producerEnv } from '../../apps/producer/config';

const base = { KAFKA_BROKERS: '127.0.0.1:9092' };

describe('producerEnv', () => {
  test('names every bad variable', () => {
    let err: unknown;
    try {
      loadConfig(producerEnv, { ...base, PRODUCER_MALFORMED_RATIO: '1.5', PRODUCER_RATE: 'fast' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppConfigError);
    expect((err as AppConfigError).issues.map((i) => i.variable).sort()).toEqual(['PRODUCER_MALFORMED_RATIO', 'PRODUCER_RATE']);
  });

  test('parses ratios and limits, with documented defaults', () => {
    expect(loadConfig(producerEnv, { ...base, PRODUCER_MALFORMED_RATIO: '0.05', PRODUCER_EVENTS: '1000' })).toMatchObject({
      PRODUCER_MALFORMED_RATIO: 0.05,
      PRODUCER_EVENTS: 1000,
      PRODUCER_RATE: 1000,
      PRODUCER_BATCH_SIZE: 2000,
    });
  });
});
