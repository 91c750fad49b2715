/**
 * alerts: the aggregates topic -> threshold breaches on the alerts topic (topics and group from
 * its catalog entry, apps/contracts/apps.ts), rules from ALERTS_RULES.
 * Run locally: `node --import tsx apps/alerts/main.ts` with KAFKA_BROKERS (see ./config.ts).
 */
import { apps } from '../contracts/apps';
import { runApp } from '../lib/app';
import { compressionOf, createSender } from '../lib/kafka';
import { alertsHandler } from './alerts';
import { alertsEnv } from './config';

runApp({
  app: apps.alerts,
  env: alertsEnv,
  start: async ({ cfg, logger, metrics, output, producer, consume }) => {
    const send = createSender(await producer('alerts producer'), { compression: compressionOf(cfg) });
    const handleBatch = alertsHandler({ rules: cfg.ALERTS_RULES, send, topics: { alerts: output('alerts'), deadLetter: output('deadLetter') }, metrics });
    await consume({ handleBatch, partitionsConsumedConcurrently: cfg.ALERTS_PARTITIONS_CONCURRENTLY });
    logger.info({ rules: cfg.ALERTS_RULES.map((r) => r.text) }, 'alerts running');
  },
});
