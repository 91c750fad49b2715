/**
 * Threshold rules over 1-minute aggregates: `<metric>.<statistic><op><threshold>`, e.g.
 * `humidity.max>60` (any window whose highest humidity is above 60) or `battery.min<20`.
 * Pure, so what fires is unit-tested without Kafka.
 */
import { z } from 'zod';
import { ALERT_STATISTICS, TELEMETRY_SCHEMA_VERSION, TelemetryAggregate, TelemetryAlert } from '../contracts/telemetry';

export interface ThresholdRule {
  /** As written, e.g. `humidity.max>60`; part of each alert and of its key. */
  readonly text: string;
  readonly metric: string;
  readonly statistic: (typeof ALERT_STATISTICS)[number];
  readonly comparison: 'above' | 'below';
  readonly threshold: number;
}

const RULE = new RegExp(`^([a-z][a-z0-9_.]*)\\.(${ALERT_STATISTICS.join('|')})([<>])(-?\\d+(?:\\.\\d+)?)$`);

/** One rule's text -> the rule, or an issue naming what is wrong with it. */
export const thresholdRule = z.string().transform((text, ctx): ThresholdRule => {
  const m = RULE.exec(text.trim());
  if (!m) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not <metric>.<${ALERT_STATISTICS.join('|')}><'>' or '<'><number>, e.g. humidity.max>60`,
    });
    return z.NEVER;
  }
  return {
    text: text.trim(),
    metric: m[1],
    statistic: m[2] as ThresholdRule['statistic'],
    comparison: m[3] === '>' ? 'above' : 'below',
    threshold: Number(m[4]),
  };
});

/** The alerts an aggregate raises, one per rule it breaks. */
export function breaches(aggregate: TelemetryAggregate, rules: readonly ThresholdRule[]): TelemetryAlert[] {
  const alerts: TelemetryAlert[] = [];
  for (const rule of rules) {
    if (rule.metric !== aggregate.metric) continue;
    const value = aggregate[rule.statistic];
    const broken = rule.comparison === 'above' ? value > rule.threshold : value < rule.threshold;
    if (!broken) continue;
    alerts.push({
      schemaVersion: TELEMETRY_SCHEMA_VERSION,
      deviceId: aggregate.deviceId,
      metric: aggregate.metric,
      windowStart: aggregate.windowStart,
      windowEnd: aggregate.windowEnd,
      rule: rule.text,
      statistic: rule.statistic,
      comparison: rule.comparison,
      threshold: rule.threshold,
      value,
    });
  }
  return alerts;
}

/** Deterministic per window and rule, so a replayed alert is recognisable as the same one downstream. */
export const alertKey = (a: TelemetryAlert): string => `${a.deviceId}|${a.metric}|${a.windowStart}|${a.rule}`;
