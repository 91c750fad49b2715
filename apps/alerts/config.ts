/** The alerts app's environment: Kafka + common variables and its threshold rules. */
import { z } from 'zod';
import { commonEnv, envInt, envList, kafkaEnv } from '../lib/config';
import { thresholdRule } from './rules';

export const alertsEnv = kafkaEnv.extend(commonEnv.shape).extend({
  /**
   * Comma-separated threshold rules, `<metric>.<min|max|avg|last><'>'|'<'><number>`.
   * @default temperature.max>30,humidity.max>60,battery.min<20 (a hot room, indoor humidity
   *   above the usual 30-60% comfort band, a battery due for replacement)
   */
  ALERTS_RULES: envList(thresholdRule).prefault('temperature.max>30,humidity.max>60,battery.min<20'),
  /** Kafka partitions processed at once. @default 6 (the aggregates topic's partition count) */
  ALERTS_PARTITIONS_CONCURRENTLY: envInt(1, 64).default(6),
});

export type AlertsConfig = z.output<typeof alertsEnv>;
