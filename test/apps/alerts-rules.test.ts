import { TelemetryAggregate } from '../../apps/contracts/telemetry';
import { alertsEnv } from '../../apps/alerts/config';
import { alertKey, breaches } from '../../apps/alerts/rules';
import { AppConfigError, loadConfig } from '../../apps/lib/config';

const T0 = Date.UTC(2025, 0, 1, 12);
const aggregate = (metric: string, stats: Partial<TelemetryAggregate> = {}): TelemetryAggregate => ({
  schemaVersion: 1,
  deviceId: 'dev-1',
  metric,
  windowStart: T0,
  windowEnd: T0 + 60_000,
  count: 3,
  min: 10,
  max: 20,
  avg: 15,
  sum: 45,
  last: 12,
  lastTs: T0 + 59_000,
  ...stats,
});
const rulesOf = (text?: string) => loadConfig(alertsEnv, { KAFKA_BROKERS: 'k:9092', ...(text === undefined ? {} : { ALERTS_RULES: text }) }).ALERTS_RULES;

describe('alerts rules', () => {
  it('validates the documented defaults', () => {
    expect(rulesOf().map((r) => r.text)).toEqual(['temperature.max>30', 'humidity.max>60', 'battery.min<20']);
    expect(rulesOf()[2]).toEqual({ text: 'battery.min<20', metric: 'battery', statistic: 'min', comparison: 'below', threshold: 20 });
  });

  it('rejects a malformed rule, naming the variable and the rule', () => {
    expect(() => rulesOf('humidity.max>60,humidity.median>3')).toThrow(AppConfigError);
    expect(() => rulesOf('humidity.max>60,humidity.median>3')).toThrow(/ALERTS_RULES: entry 2: "humidity.median>3" is not/);
  });

  it('raises one alert per broken rule of the aggregate metric, strictly past the threshold', () => {
    const rules = rulesOf('humidity.max>19.5,humidity.min<10,humidity.avg>15,temperature.max>0');
    const alerts = breaches(aggregate('humidity'), rules);
    expect(alerts.map((a) => [a.rule, a.value])).toEqual([['humidity.max>19.5', 20]]);
    expect(alerts[0]).toMatchObject({ deviceId: 'dev-1', windowStart: T0, windowEnd: T0 + 60_000, comparison: 'above', threshold: 19.5 });
    expect(breaches(aggregate('battery', { min: 5 }), rulesOf('battery.min<20')).map((a) => a.value)).toEqual([5]);
    expect(breaches(aggregate('pressure'), rules)).toEqual([]);
  });

  it('keys an alert by device, metric, window and rule, so a replay repeats the key', () => {
    const [a] = breaches(aggregate('humidity', { max: 70 }), rulesOf('humidity.max>60'));
    expect(alertKey(a)).toBe(`dev-1|humidity|${T0}|humidity.max>60`);
  });
});
