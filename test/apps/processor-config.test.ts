import { loadConfig } from '../../apps/lib/config';
import { processorEnv } from '../../apps/processor/config';

const base = { KAFKA_BROKERS: '127.0.0.1:9092' };

describe('processorEnv', () => {
  test('defaults match the documented windowing', () => {
    expect(loadConfig(processorEnv, base)).toMatchObject({
      PROCESSOR_ALLOWED_LATENESS_MS: 10_000,
      PROCESSOR_WINDOW_IDLE_FLUSH_MS: 15_000,
      PROCESSOR_MESSAGES_PER_REQUEST: 250,
      KAFKA_AUTH: 'none',
    });
  });

  test('names the bad variable', () => {
    expect(() => loadConfig(processorEnv, { ...base, PROCESSOR_WINDOW_IDLE_FLUSH_MS: '10' })).toThrow(/PROCESSOR_WINDOW_IDLE_FLUSH_MS: Too small/);
  });
});
